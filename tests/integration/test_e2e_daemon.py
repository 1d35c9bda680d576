"""End to end: the real daemon process on a temporary config watches a real website; the test
breaks the site, sees a level-1 incident open and the alert mail arrive at a real SMTP sink,
mends it, and sees the incident resolve and the recovery mail. A second run starts with the
mail server down: the alert waits in the outbox across a daemon restart and is delivered once
when the server comes back."""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.fixtures.peers import REPO, free_port, stop_process, wait_until
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration


class Mailbox:
    """aiosmtpd's handler interface: keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

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


def write_config(tmp: Path, site_port: int, smtp_port: int) -> Path:
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
    config = tmp / "roomwatch.yaml"
    config.write_text(
        f"""
inventory: inventory.yaml
rules: [rules/]
state_dir: state
api: {{enabled: false}}
alerting:
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


def eventually(check: Callable[[], bool], what: str, timeout: float = 40.0) -> None:
    wait_until(check, timeout=timeout, what=what)


def stop_daemon(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    finally:
        stop_process(proc)


def test_a_broken_website_opens_an_incident_mails_on_call_and_resolves_when_mended(
    tmp_path: Path, website: Website
) -> None:
    smtp, mailbox = start_smtp(free_port())
    config = write_config(tmp_path, website.port, smtp.port)
    checked = roomwatch("check", "-c", str(config))
    assert checked.returncode == 0, checked.stderr
    daemon = start_daemon(config, tmp_path / "daemon.log")
    try:
        time.sleep(3)  # healthy polls: nothing opens
        assert incidents(config) == []
        website.healthy = False
        eventually(lambda: any(i["state"] == "open" for i in incidents(config)), "incident")
        (incident,) = incidents(config)
        assert incident["level"] == 1
        assert incident["device"] == "shop"
        eventually(lambda: len(mailbox.messages) >= 1, "alert mail")
        subject = mailbox.subjects()[0]
        assert "Web shop" in subject
        assert "1" in subject  # the level
        body = mailbox.messages[0].get_payload(decode=True) or b""
        assert isinstance(body, bytes)

        website.healthy = True
        eventually(
            lambda: all(i["state"] in ("resolved", "closed") for i in incidents(config)),
            "resolution",
        )
        eventually(lambda: len(mailbox.messages) >= 2, "recovery mail")
        assert any("resolved" in s.lower() for s in mailbox.subjects()[1:])
        assert stop_daemon(daemon) == 0
    finally:
        stop_process(daemon)
        smtp.stop()
    log = (tmp_path / "daemon.log").read_text(encoding="utf-8")
    assert "roomwatch stopped" in log


def test_an_alert_waits_in_the_outbox_while_mail_is_down_and_survives_a_restart(
    tmp_path: Path, website: Website
) -> None:
    smtp_port = free_port()  # nothing listens here yet
    config = write_config(tmp_path, website.port, smtp_port)
    website.healthy = False
    daemon = start_daemon(config, tmp_path / "daemon.log")
    try:
        eventually(lambda: any(i["state"] == "open" for i in incidents(config)), "incident")
        time.sleep(3)  # a few failed delivery attempts
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
