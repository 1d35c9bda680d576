"""sd_notify as systemd sees it: the test binds the datagram socket systemd would, hands it to
the real daemon (`roomwatch run`) as NOTIFY_SOCKET with a watchdog armed, and reads READY,
STATUS, WATCHDOG, RELOADING and STOPPING, checking each came from the main process (as
`NotifyAccess=main` does). Also: a configuration the API must refuse never reports READY."""

from __future__ import annotations

import re
import signal
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.ops_daemon import (
    DaemonFiles,
    http,
    log_lines,
    start_daemon,
    stop_daemon,
    write_config,
)
from tests.fixtures.peers import free_port, wait_until
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration

WATCHDOG_USEC = 2_000_000  # the daemon pets about every second
LOGFMT = re.compile(
    r'^ts=\S+Z level=(debug|info|warning|error|critical) logger=\S+ msg=("[^"]*"|\S+)'
)


@dataclass
class Message:
    pid: int
    fields: dict[str, str]


class NotifySocket:
    """What systemd binds for a Type=notify service: AF_UNIX datagrams with sender creds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.messages: list[Message] = []

    def receive_until(self, wanted: str, timeout: float = 20.0) -> Message:
        """Read messages until one has the field `wanted` (like "READY=1")."""
        key, _, value = wanted.partition("=")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except TimeoutError:
                break
            pid = next(
                struct.unpack("3i", blob)[0]
                for level, kind, blob in ancillary
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
            )
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            message = Message(pid, fields)
            self.messages.append(message)
            if fields.get(key) == value:
                return message
        raise AssertionError(f"no {wanted} within {timeout}s; got {self.messages}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def one_website(site_port: int) -> str:
    return f"""
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
"""


def daemon_files(tmp_path: Path, website: Website) -> DaemonFiles:
    port = free_port()
    return write_config(
        tmp_path, one_website(website.port), f'{{listen: "127.0.0.1:{port}"}}', api_port=port
    )


def test_ready_status_watchdog_reloading_and_stopping_come_from_the_main_process(
    tmp_path: Path, website: Website, notify: NotifySocket
) -> None:
    files = daemon_files(tmp_path, website)
    proc = start_daemon(
        files, {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    )
    try:
        ready = notify.receive_until("READY=1")
        # READY means serving: the API answers at once, config and rules are loaded.
        assert http("GET", f"http://127.0.0.1:{files.api_port}/api/health").status == 200
        assert ready.fields["STATUS"] == "1 devices, 0 not answering"

        # the main loop pets the watchdog again and again, each time with a fresh summary
        for _ in range(3):
            assert notify.receive_until("WATCHDOG=1").fields["STATUS"].endswith("not answering")

        proc.send_signal(signal.SIGHUP)
        reloading = notify.receive_until("RELOADING=1")
        assert int(reloading.fields["MONOTONIC_USEC"]) > 0
        after_reload = notify.receive_until("READY=1")
        assert "STATUS" in after_reload.fields

        proc.send_signal(signal.SIGTERM)
        notify.receive_until("STOPPING=1")
        assert proc.wait(timeout=30) == 0
    finally:
        stop_daemon(proc)
    assert {m.pid for m in notify.messages} == {proc.pid}
    lines = log_lines(files)
    assert lines, "the daemon logged nothing"
    assert all(LOGFMT.match(line) for line in lines), [
        line for line in lines if not LOGFMT.match(line)
    ]
    assert any('msg="configuration reloaded"' in line for line in lines)


def test_a_bad_rule_file_on_reload_is_rejected_and_the_daemon_stays_ready(
    tmp_path: Path, website: Website, notify: NotifySocket
) -> None:
    files = daemon_files(tmp_path, website)
    proc = start_daemon(files, {"NOTIFY_SOCKET": str(notify.path)})
    try:
        notify.receive_until("READY=1")
        (tmp_path / "rules" / "rules.yaml").write_text("groups: [{name: x, rules: [{}]}]\n")
        proc.send_signal(signal.SIGHUP)
        notify.receive_until("RELOADING=1")
        notify.receive_until("READY=1")
        wait_until(
            lambda: any("reload rejected" in line for line in log_lines(files)),
            what="the rejected reload in the log",
        )
        assert proc.poll() is None
        assert http("GET", f"http://127.0.0.1:{files.api_port}/api/health").status == 200
    finally:
        assert stop_daemon(proc) == 0


def test_an_api_off_loopback_without_a_token_is_refused_before_ready(
    tmp_path: Path, website: Website, notify: NotifySocket
) -> None:
    # Nothing is bound: the daemon refuses the setting before it opens any socket.
    files = write_config(
        tmp_path, one_website(website.port), f'{{listen: "0.0.0.0:{free_port()}"}}'
    )
    proc = start_daemon(files, {"NOTIFY_SOCKET": str(notify.path)})
    try:
        assert proc.wait(timeout=30) == 2
    finally:
        stop_daemon(proc)
    notify.sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        notify.sock.recv(4096)
    log = "\n".join(log_lines(files))
    assert "not loopback, and no token is configured" in log
    assert str(files.config) in log
