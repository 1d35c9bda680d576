"""End to end: the real daemon process on a temporary config watches a real website and writes
its samples to a real InfluxDB-compatible store (VictoriaMetrics); the test breaks the site and
checks what the admin on duty would: the incident `incidents list` shows (level, state, device,
summary), the alert mail at a real SMTP sink (to whom, about what, with the runbook), the
samples in the store, and after mending, the resolution and the recovery mail. A second run
starts with the mail server down: the alert waits in the outbox across a daemon restart and is
delivered once when the server comes back."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.fixtures.peers import REPO, free_port, stop_process, wait_until
from tests.fixtures.store_peek import all_closed, open_rules
from tests.fixtures.victoria_peer import VictoriaMetrics
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics(tmp_path_factory.mktemp("vm")).start()
    yield server
    server.stop()


class Mailbox:
    """aiosmtpd's handler interface: keeps every message it receives, and to whom it went."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    def text(self, index: int) -> str:
        """The mail's text as the reader sees it (transfer encoding and charset undone)."""
        return str(self.messages[index].get_content())

    def subjects(self) -> list[str]:
        out = []
        for m in self.messages:
            header = email.header.make_header(email.header.decode_header(m["Subject"] or ""))
            out.append(str(header))
        return out


def start_smtp(port: int) -> tuple[Controller, Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, box


def write_config(tmp: Path, site_port: int, smtp_port: int, store_url: str | None = None) -> Path:
    (tmp / "rules").mkdir()
    (tmp / "inventory.yaml").write_text(
        f"""
sites:
  - id: hq
    name: Head office
devices:
  - id: shop
    name: Web shop
    site: hq
    kind: website
    criticality: 1
    probes:
      - type: http
        url: http://127.0.0.1:{site_port}/
        interval: 1s
        timeout: 2s
        expect_text: OK
""",
        encoding="utf-8",
    )
    (tmp / "rules" / "web.yaml").write_text(
        """
groups:
  - name: websites
    rules:
      - name: website-down
        select: {kind: website}
        metric: http.up
        levels: {"device.criticality": "== 0"}
        for: 2s
        clear: "== 1"
        summary:
          zh: "{device.name} 无法访问"
          en: "{device.name} is down"
        runbook: "Restart the shop's web server."
""",
        encoding="utf-8",
    )
    sinks = ""
    if store_url is not None:
        credentials = tmp / "credentials.yaml"
        credentials.write_text("influx: {token: e2e-token}\n", encoding="utf-8")
        credentials.chmod(0o600)
        sinks = f"""credentials: credentials.yaml
sinks:
  - {{type: influxdb, name: vm, url: "{store_url}", org: rooms, bucket: roomwatch,
     credentials: influx, flush_interval: 200ms}}
"""
    config = tmp / "roomwatch.yaml"
    config.write_text(
        f"""
inventory: inventory.yaml
rules: [rules/]
state_dir: state
api: {{enabled: false}}
{sinks}alerting:
  language: en
  group: {{wait: 0s}}
  retry: {{initial: 1s, max: 2s}}
  notifiers:
    - type: log
    - type: email
      name: mail
      host: 127.0.0.1
      port: {smtp_port}
      security: none
      sender: roomwatch@example.org
      to: [oncall@example.org]
""",
        encoding="utf-8",
    )
    return config


def roomwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collector.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "run", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=env,
        )


def incidents(config: Path) -> list[dict[str, Any]]:
    result = roomwatch("incidents", "list", "--json", "-c", str(config))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def incidents_table(config: Path) -> list[str]:
    """`roomwatch incidents list` as the admin reads it: the header, then one row each."""
    result = roomwatch("incidents", "list", "-c", str(config))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def http_up(vm: VictoriaMetrics) -> list[float]:
    """The shop's http.up samples in the store, oldest first."""
    return [
        value for _, _, _, value in sorted(vm.points('http_up{device="shop"}'), key=lambda p: p[2])
    ]


def eventually(check: Callable[[], bool], what: str, timeout: float = 40.0) -> None:
    wait_until(check, timeout=timeout, what=what)


def stop_daemon(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    finally:
        stop_process(proc)


def test_a_broken_website_opens_an_incident_mails_on_call_and_resolves_when_mended(
    tmp_path: Path, website: Website, vm: VictoriaMetrics
) -> None:
    smtp, mailbox = start_smtp(free_port())
    config = write_config(tmp_path, website.port, smtp.port, vm.url)
    checked = roomwatch("check", "-c", str(config))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("ok: 1 devices, 1 probes, 1 rules")
    daemon = start_daemon(config, tmp_path / "daemon.log")
    try:
        # healthy polls reach the store, and nothing opens
        eventually(lambda: 1.0 in http_up(vm), "http.up samples in the store")
        assert incidents_table(config) == ["no incidents"]

        website.healthy = False
        eventually(lambda: "website-down" in open_rules(tmp_path / "state"), "incident")
        (incident,) = incidents(config)
        assert incident["state"] == "open"
        assert (incident["level"], incident["device"], incident["rule"]) == (
            1,  # the device's criticality: the rule says "device.criticality"
            "shop",
            "website-down",
        )
        header, row = incidents_table(config)
        # issue 16: every incident carries its ticket number, the list included
        assert header.split()[:5] == ["ID", "TICKET", "LVL", "STATE", "SINCE"]
        assert row.split()[:2] == [str(incident["id"]), incident["ticket"]]
        assert " open " in row and " shop " in row and row.endswith("Web shop is down")

        eventually(lambda: len(mailbox.messages) >= 1, "alert mail")
        alert = mailbox.messages[0]
        assert mailbox.envelopes[0] == ["oncall@example.org"]
        assert "Web shop" in mailbox.subjects()[0]
        assert alert["X-Roomwatch-Level"] == "1"
        assert alert["X-Roomwatch-Incidents"] == str(incident["id"])
        body = mailbox.text(0)
        assert "Web shop is down" in body
        assert "Restart the shop's web server." in body  # the runbook travels with the alert

        website.healthy = True
        eventually(lambda: all_closed(tmp_path / "state"), "resolution")
        assert all(i["state"] in ("resolved", "closed") for i in incidents(config))
        assert incidents_table(config)[1].split()[3] in ("resolved", "closed")
        eventually(lambda: len(mailbox.messages) >= 2, "recovery mail")
        recovery = mailbox.messages[1]
        assert "resolved" in mailbox.subjects()[1].lower()
        assert recovery["X-Roomwatch-Incidents"] == str(incident["id"])
        assert mailbox.envelopes[1] == ["oncall@example.org"]

        # the store saw the whole story: up, then down, then up again
        eventually(lambda: http_up(vm)[-1:] == [1.0] and 0.0 in http_up(vm), "samples")
        story = http_up(vm)
        first_down = story.index(0.0)
        assert story[0] == 1.0 and 1.0 in story[first_down:]
        assert stop_daemon(daemon) == 0
    finally:
        stop_process(daemon)
        smtp.stop()
    log = (tmp_path / "daemon.log").read_text(encoding="utf-8")
    assert "roomwatch stopped" in log
    assert len(mailbox.messages) == 2  # one alert, one recovery: nothing doubled


def test_an_alert_waits_in_the_outbox_while_mail_is_down_and_survives_a_restart(
    tmp_path: Path, website: Website
) -> None:
    smtp_port = free_port()  # nothing listens here yet
    config = write_config(tmp_path, website.port, smtp_port)
    website.healthy = False
    daemon = start_daemon(config, tmp_path / "daemon.log")
    try:
        eventually(lambda: "website-down" in open_rules(tmp_path / "state"), "incident")
        assert any(i["state"] == "open" for i in incidents(config))
        log = tmp_path / "daemon.log"
        eventually(
            lambda: "alert channel mail failing (will retry)" in log.read_text("utf-8"),
            "a failed delivery, kept for retry",
        )
        assert stop_daemon(daemon) == 0
    finally:
        stop_process(daemon)

    smtp, mailbox = start_smtp(smtp_port)
    daemon = start_daemon(config, tmp_path / "daemon.log")
    try:
        eventually(lambda: len(mailbox.messages) >= 1, "delayed alert mail")
        time.sleep(4)  # would a second copy follow?
        problem_mails = [s for s in mailbox.subjects() if "resolved" not in s.lower()]
        assert len(problem_mails) == 1, mailbox.subjects()
        assert "Web shop" in problem_mails[0]
        assert stop_daemon(daemon) == 0
    finally:
        stop_process(daemon)
        smtp.stop()
