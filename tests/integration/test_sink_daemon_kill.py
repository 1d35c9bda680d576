"""The real daemon (`roomwatch run`) killed with SIGKILL while spooling, then restarted with
the store back: every sample committed to the spool before the kill reaches the store exactly
once, and nothing polled is stored twice. The store is Debian's VictoriaMetrics, which keeps
duplicate points, so a double write would show."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.fixtures.peers import REPO, free_port, stop_process, wait_until
from tests.fixtures.victoria_peer import VictoriaMetrics

pytestmark = pytest.mark.integration

DEVICES = 8


def write_config(tmp: Path, store_port: int) -> Path:
    (tmp / "rules").mkdir()
    devices = "".join(
        f"""
  - id: host-{n}
    name: Host {n}
    site: hq
    kind: server
    criticality: 3
    probes:
      - type: local
        interval: 1s
"""
        for n in range(DEVICES)
    )
    (tmp / "inventory.yaml").write_text(
        "sites:\n  - id: hq\n    name: Head office\ndevices:" + devices, encoding="utf-8"
    )
    creds = tmp / "credentials.yaml"
    creds.write_text("influx:\n  token: kill-test-token\n", encoding="utf-8")
    creds.chmod(0o600)
    config = tmp / "roomwatch.yaml"
    config.write_text(
        f"""
inventory: inventory.yaml
rules: [rules/]
credentials: credentials.yaml
state_dir: state
api: {{enabled: false}}
sinks:
  - type: influxdb
    name: local
    url: http://127.0.0.1:{store_port}
    org: rooms
    bucket: roomwatch
    credentials: influx
    batch_size: 200
    flush_interval: 200ms
    timeout: 5s
""",
        encoding="utf-8",
    )
    return config


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "run", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )


def spooled_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        chunks = db.execute("SELECT body FROM chunks ORDER BY id")  # one row per poll
        return [line for row in chunks for line in str(row[0]).split("\n")]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # the daemon created the file, not yet the table
            return []
        raise
    finally:
        db.close()


def point_key(line: str) -> tuple[str, tuple[tuple[str, str], ...], int]:
    """(VictoriaMetrics metric name, labels, ms) of one line our encoder wrote (no escapes in
    this test's names)."""
    series, fields, ts = line.split(" ")
    measurement, *tags = series.split(",")
    field = fields.split("=")[0]
    labels = tuple(sorted(tuple(t.split("=", 1)) for t in tags))
    return f"{measurement}_{field}", labels, int(ts)  # type: ignore[return-value]


def test_daemon_killed_while_spooling_delivers_every_committed_sample_once(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    spool = tmp_path / "state" / "spool" / "local.sqlite"
    log = tmp_path / "daemon.log"

    daemon = start_daemon(config, log)
    try:
        wait_until(lambda: len(spooled_lines(spool)) >= 400, timeout=40, what="spooling")
    finally:
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=10)
    committed = [point_key(line) for line in spooled_lines(spool)]
    assert len(committed) >= 400
    assert len(set(committed)) == len(committed)

    server = VictoriaMetrics(tmp_path / "vm", port=port).start()
    daemon = start_daemon(config, log)
    try:
        wait_until(lambda: not spooled_lines(spool), timeout=40, what="replay")
        time.sleep(2)  # a few more live polls go straight through
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
        left = spooled_lines(spool)
        points = server.wait_for_points('{device=~"host-.*"}', len(committed))
    finally:
        stop_process(daemon)
        server.stop()

    stored = Counter((name, labels, ts) for name, labels, ts, _ in points)
    twice = [key for key, n in stored.items() if n > 1]
    assert twice == [], f"{len(twice)} points stored twice, e.g. {twice[:3]}"
    missing = [key for key in committed if key not in stored]
    assert missing == [], f"{len(missing)} spooled samples never arrived, e.g. {missing[:3]}"
    assert left == []  # a graceful stop with the store up leaves nothing behind
    assert len(stored) > len(committed)  # the second run's own polls arrived too
    text = log.read_text()
    assert "resuming with" in text
    assert "kill-test-token" not in text
