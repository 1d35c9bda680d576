"""The pure parts of the HTTP API: listen address and token rules (Prometheus text is in
test_prometheus_metrics), maintenance windows from a request body, and sd_notify messages."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request

from collector.api.auth import api_token, browser_refusal, is_loopback, parse_listen, token_matches
from collector.api.json_api import device_up
from collector.api.maintenance import window_request
from collector.config import ApiSettings
from collector.sdnotify import Notifier
from inventory import ConfigError
from inventory.credentials import Credentials
from rules.maintenance import MaintenanceWindow
from rules.maintenance import selector_from as select
from rules.maintenance_service import validate

NOW = 1_800_000_000.0


def settings(listen: str, credentials: str | None = None) -> ApiSettings:
    return ApiSettings(listen=listen, credentials=credentials)


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:8765", ("127.0.0.1", 8765)),
        ("[::1]:9000", ("::1", 9000)),
        (":8765", ("127.0.0.1", 8765)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
    ],
)
def test_listen_addresses_are_parsed(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["8765", "127.0.0.1", "host:http", "127.0.0.1:70000"])
def test_a_listen_address_without_a_usable_port_is_an_error(listen: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_listen(listen)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.7", False),
        ("monitor.example.org", False),  # a name may resolve anywhere
    ],
)
def test_only_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_loopback_needs_no_token() -> None:
    assert api_token(settings("127.0.0.1:8765"), Credentials({}), "rw.yaml") is None


def test_off_loopback_without_a_token_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="not loopback, and no token") as caught:
        api_token(settings("0.0.0.0:8765"), Credentials({}), "/etc/roomwatch/roomwatch.yaml")
    assert caught.value.errors[0].file == "/etc/roomwatch/roomwatch.yaml"


def test_off_loopback_with_a_token_is_allowed() -> None:
    creds = Credentials({"api": {"token": "s3cret-token"}})
    assert api_token(settings("0.0.0.0:8765", "api"), creds, "rw.yaml") == "s3cret-token"


def test_a_missing_entry_or_key_is_named_without_showing_any_secret() -> None:
    creds = Credentials({"api": {"password": "hunter2"}})
    with pytest.raises(ConfigError, match="'nope'"):
        api_token(settings("127.0.0.1:1", "nope"), creds, "rw.yaml")
    with pytest.raises(ConfigError, match="has no 'token'") as caught:
        api_token(settings("127.0.0.1:1", "api"), creds, "rw.yaml")
    assert "hunter2" not in str(caught.value)


def new_window(
    body: dict[str, object], existing: list[MaintenanceWindow], now: float
) -> MaintenanceWindow:
    """The window a POST body asks for: its fields read by the API, checked by the service."""
    return validate(window_request(body), existing, now)


def test_a_window_from_a_duration_starts_now() -> None:
    window = new_window({"select": {"kind": "ups"}, "duration": "2h", "by": "wang"}, [], NOW)
    assert (window.start, window.end, window.id) == (NOW, NOW + 7200, "mw-1")
    assert window.created_by == "wang"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"select": {"kind": "ups"}, "duration": "1h"}, "'by'"),
        ({"duration": "1h", "by": "li"}, "'select' is required"),
        ({"select": {"colour": "red"}, "duration": "1h", "by": "li"}, "colour"),
        ({"select": {"kind": "ups"}, "by": "li"}, "'end'"),
        ({"select": {"kind": "ups"}, "duration": "soon", "by": "li"}, "not a duration"),
        ({"select": {"kind": "ups"}, "end": "2020-01-01T00:00:00+00:00", "by": "li"}, "after"),
        ({"select": {"kind": "ups"}, "duration": "25h", "every": "daily", "by": "li"}, "shorter"),
        ({"select": {"kind": "ups"}, "duration": "1h", "every": "hourly", "by": "li"}, "every"),
        ({"id": "mw-9", "select": {"kind": "ups"}, "duration": "1h", "by": "li"}, "exists"),
        ({"select": {"kind": "ups"}, "duration": "1h", "every": ["daily"], "by": "li"}, "every"),
        ({"id": "../x", "select": {"kind": "ups"}, "duration": "1h", "by": "li"}, "id:"),
        (
            {"select": {"kind": "ups"}, "start": "2020-01-01T00:00:00+00:00", "duration": "1h"}
            | {"by": "li"},
            "already be over",
        ),
    ],
)
def test_a_bad_window_is_refused_with_the_reason(body: dict[str, object], message: str) -> None:
    existing = [MaintenanceWindow("mw-9", select({"kind": "ups"}), NOW, NOW + 60)]
    with pytest.raises(ValueError, match=message):
        new_window(body, existing, NOW)


def test_a_device_is_up_only_when_every_probe_answers() -> None:
    def up(value: int, probe: str) -> dict[str, object]:
        return {"metric": "device.up", "value": value, "labels": {"probe": probe}}

    other = {"metric": "ifOperStatus", "value": 1, "labels": {}}
    assert device_up([up(1, "snmp"), up(0, "http"), other]) is False
    assert device_up([up(0, "http"), up(1, "snmp")]) is False
    assert device_up([up(1, "snmp"), up(1, "http")]) is True
    assert device_up([other]) is None


@pytest.mark.parametrize(
    ("method", "path", "headers", "ok"),
    [
        ("GET", "/api/health", {"Authorization": "Bearer s3cret"}, True),
        ("GET", "/api/health", {"Authorization": "bearer s3cret"}, True),
        ("GET", "/api/health", {"Authorization": "BEARER  s3cret "}, True),
        ("GET", "/api/health", {"Authorization": "Bearer s3cre"}, False),
        ("GET", "/api/health", {"Authorization": "Basic s3cret"}, False),
        ("GET", "/api/health", {"Authorization": "Bearer "}, False),
        ("GET", "/?token=s3cret", {}, True),
        ("GET", "/api/health?token=s3cret", {}, False),
    ],
)
def test_the_token_is_taken_from_a_bearer_header_whatever_the_scheme_case(
    method: str, path: str, headers: dict[str, str], ok: bool
) -> None:
    request = make_mocked_request(method, path, headers=headers)
    assert token_matches(request, "s3cret") is ok


LOCAL = "127.0.0.1:8765"


@pytest.mark.parametrize(
    ("method", "headers", "token", "refused"),
    [
        # a page of another site posting a form or a fetch to the tokenless loopback API
        ("POST", {"Host": LOCAL, "Origin": "http://evil.example"}, False, "cross-site"),
        ("POST", {"Host": LOCAL, "Origin": "null"}, False, "cross-site"),
        ("POST", {"Host": LOCAL, "Sec-Fetch-Site": "cross-site"}, False, "cross-site"),
        ("POST", {"Host": "box:8765", "Origin": "http://evil.example"}, True, "cross-site"),
        # DNS rebinding: the attacker's name now points at 127.0.0.1
        ("GET", {"Host": "rebind.evil.example:8765"}, False, "not loopback"),
        ("POST", {"Host": "rebind.evil.example:8765"}, False, "not loopback"),
        # what must keep working: curl, scripts, Prometheus, the page itself, a token behind a name
        ("POST", {"Host": LOCAL}, False, None),
        ("POST", {}, False, None),
        ("POST", {"Host": LOCAL, "Origin": f"http://{LOCAL}"}, False, None),
        ("POST", {"Host": "localhost:8765", "Origin": "http://localhost:8765"}, False, None),
        ("POST", {"Host": "[::1]:8765", "Sec-Fetch-Site": "same-origin"}, False, None),
        ("GET", {"Host": "localhost", "Origin": "http://evil.example"}, False, None),
        ("GET", {"Host": "box.example:8765"}, True, None),
        ("POST", {"Host": "box.example:8765", "Origin": "http://box.example:8765"}, True, None),
    ],
)
def test_browser_attacks_on_the_api_are_refused_and_plain_clients_are_not(
    method: str, headers: dict[str, str], token: bool, refused: str | None
) -> None:
    reason = browser_refusal(method, headers, token_required=token)
    if refused is None:
        assert reason is None
    else:
        assert reason is not None and refused in reason


def test_notifier_sends_each_field_and_reloading_carries_a_monotonic_time(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        notifier = Notifier(str(path))
        notifier.send(ready=1, status="3 devices, 0 not answering")
        notifier.send(reloading=1)
        notifier.close()
        first = server.recv(4096).decode().splitlines()
        second = dict(line.split("=", 1) for line in server.recv(4096).decode().splitlines())
    assert first == ["READY=1", "STATUS=3 devices, 0 not answering"]
    assert second["RELOADING"] == "1"
    assert int(second["MONOTONIC_USEC"]) > 0


def test_notifier_is_silent_without_a_socket_and_ignores_a_watchdog_for_another_pid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    notifier.send(ready=1)  # no error
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert notifier.watchdog_interval() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert notifier.watchdog_interval() is None
