"""Rule reload in the real daemon process: SIGHUP brings in edited rules; a bad rule file is
rejected with every error as `file:line:col: group, rule: message` while the old rules keep
running; the daemon never stops watching. The device is a real HTTP server on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.peers import REPO, stop_process, wait_until
from tests.fixtures.store_peek import open_rules
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration


# Two versions of one rule file, of the same length: after writing the second we put the
# modification time back, so the daemon's file watcher sees nothing and only SIGHUP can
# explain the reload.
RULES_V1 = """groups:
  - name: websites
    rules:
      - name: website-down
        select: {kind: website}
        metric: http.up
        levels: {2: "== 0"}
      - name: website-canary
        select: {kind: website}
        metric: http.up
        levels: {3: "== 9"}
"""
RULES_V2 = RULES_V1.replace('levels: {3: "== 9"}', 'levels: {3: "== 1"}')

BAD_RULES = """groups:
  - name: websites
    rules:
      - name: website-down
        select: {kind: websites}
        metric: http.up
        levels: {2: "=== 0"}
"""


def write_config(tmp: Path, port: int) -> Path:
    (tmp / "rules").mkdir()
    (tmp / "rules" / "web.yaml").write_text(RULES_V1, encoding="utf-8")
    (tmp / "inventory.yaml").write_text(
        f"""
devices:
  - id: shop
    name: Web shop
    kind: website
    criticality: 2
    probes:
      - type: http
        url: http://127.0.0.1:{port}/
        interval: 1s
        timeout: 2s
""",
        encoding="utf-8",
    )
    config = tmp / "roomwatch.yaml"
    config.write_text(
        """
inventory: inventory.yaml
rules: [rules/]
state_dir: state
api: {enabled: false}
alerting:
  notifiers:
    - type: log
""",
        encoding="utf-8",
    )
    return config


def open_incidents(config: Path) -> dict[str, dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "collector.cli", "incidents", "list", "--json", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {row["rule"]: row for row in rows if row["state"] not in ("resolved", "closed")}


def test_sighup_reloads_rules_and_a_bad_file_keeps_the_old_rules_running(
    tmp_path: Path, website: Website
) -> None:
    config = write_config(tmp_path, website.port)
    rules = tmp_path / "rules" / "web.yaml"
    log = tmp_path / "daemon.log"
    with log.open("ab") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "run", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
    try:
        wait_until(lambda: "roomwatch started" in log.read_text(encoding="utf-8"), 30, "daemon")
        wait_until(lambda: (tmp_path / "state" / "roomwatch.db").exists(), 30, "ticket store")
        assert open_incidents(config) == {}

        # 1. SIGHUP alone brings in the edited rule: the canary now matches a healthy site.
        before = rules.stat()
        assert len(RULES_V2) == len(RULES_V1)
        rules.write_text(RULES_V2, encoding="utf-8")
        os.utime(rules, ns=(before.st_atime_ns, before.st_mtime_ns))
        daemon.send_signal(signal.SIGHUP)
        wait_until(
            lambda: "website-canary" in open_rules(tmp_path / "state"), 30, "canary incident"
        )
        assert open_incidents(config)["website-canary"]["level"] == 3

        # 2. A bad file is rejected with every error, and the running rules stay.
        rules.write_text(BAD_RULES, encoding="utf-8")
        daemon.send_signal(signal.SIGHUP)
        wait_until(lambda: "=== 0" in log.read_text(encoding="utf-8"), 30, "rejection")
        text = log.read_text(encoding="utf-8")
        assert f"{rules}:5:18: websites, website-down: select.kind: unknown kind 'websites'" in text
        assert f"{rules}:7:18: websites, website-down: levels.2: bad condition '=== 0'" in text
        assert "website-canary" in open_incidents(config)  # not resolved by the bad reload

        # The old rules still evaluate: breaking the site opens website-down…
        website.healthy = False
        wait_until(lambda: "website-down" in open_rules(tmp_path / "state"), 30, "website-down")
        assert "website-down" in open_incidents(config)
        # …and clears the canary, whose condition (http.up == 1) no longer holds.
        wait_until(
            lambda: "website-canary" not in open_rules(tmp_path / "state"), 30, "canary resolved"
        )
        assert "website-canary" not in open_incidents(config)
        assert daemon.poll() is None

        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        stop_process(daemon)


OTHER_RULES = """groups:
  - name: slow
    rules:
      - name: website-slow
        select: {kind: website}
        metric: http.response_seconds
        levels: {3: "> 30"}
"""


def test_an_emptied_or_removed_rule_file_does_not_resolve_open_incidents_until_confirmed(
    tmp_path: Path, website: Website
) -> None:
    config = write_config(tmp_path, website.port)
    rules = tmp_path / "rules" / "web.yaml"
    other = tmp_path / "rules" / "slow.yaml"
    other.write_text(OTHER_RULES, encoding="utf-8")
    log = tmp_path / "daemon.log"
    website.healthy = False
    with log.open("ab") as out:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "run", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
    try:
        wait_until(lambda: "roomwatch started" in log.read_text(encoding="utf-8"), 30, "daemon")
        wait_until(lambda: "website-down" in open_rules(tmp_path / "state"), 30, "website-down")
        assert "website-down" in open_incidents(config)

        # 1. A truncating save empties the file: the watcher's reload is rejected, the incident
        #    stays open, no recovery goes out.
        rules.write_text("", encoding="utf-8")
        wait_until(lambda: "the rule file is empty" in log.read_text(encoding="utf-8"), 30, "empty")
        # 2. The file moved away: the watcher holds the reload that would drop its rules.
        rules.unlink()
        wait_until(lambda: "reload held" in log.read_text(encoding="utf-8"), 30, "held")
        text = log.read_text(encoding="utf-8")
        assert f"would remove all 2 rules of {rules}" in text
        assert "systemctl reload roomwatch" in text
        assert "website-down" in open_incidents(config)
        assert "resolved" not in text.split("reload held")[0].split("website-down")[-1]

        # 3. The admin confirms with SIGHUP: now the rules go, and the incident with them.
        daemon.send_signal(signal.SIGHUP)
        wait_until(lambda: "website-down" not in open_rules(tmp_path / "state"), 30, "resolved")
        assert "website-down" not in open_incidents(config)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        stop_process(daemon)
