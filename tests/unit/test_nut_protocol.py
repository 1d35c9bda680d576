"""The NUT client's parsing and error mapping, against a scripted fake upsd (a real upsd only
checks passwords for privileged commands, and never sends broken lines)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import ValidationError

from probes.base import ProbeAuthError, ProbeProtocolError, ProbeTimeout
from probes.nut import NutProbe, NutSettings, parse_value, parse_var_line, unit_of


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100", 100),
        ("230.4", 230.4),
        ("-1.00", -1.0),
        ("0", 0),
        ("0463", "0463"),
        ("2.7.4", "2.7.4"),
        ("OL CHRG", "OL CHRG"),
        ("12/01/22", "12/01/22"),
        ("", ""),
    ],
)
def test_plain_decimals_become_numbers_and_ids_stay_text(text: str, value: object) -> None:
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("input.voltage", "V"),
        ("battery.charge.low", "%"),
        ("battery.runtime", "s"),
        ("ups.realpower", "W"),
        ("ambient.1.temperature.alarm.high", None),
        ("ups.delay.shutdown", None),
    ],
)
def test_units_follow_the_nut_name(name: str, unit: str | None) -> None:
    assert unit_of(name, 1.0) == unit


def test_var_line_with_quotes_and_spaces() -> None:
    assert parse_var_line('VAR ups1 ups.alarm "Replace \\"the\\" battery!"', "ups1") == (
        "ups.alarm",
        'Replace "the" battery!',
    )


def test_var_line_of_another_ups_is_a_protocol_error() -> None:
    with pytest.raises(ProbeProtocolError):
        parse_var_line('VAR other ups.status "OL"', "ups1")


Script = Callable[[str], list[str] | None]


@pytest.fixture
async def fake_upsd() -> AsyncIterator[Callable[[Script], asyncio.Future[str]]]:
    """Start a fake upsd answering each request line with the lines the script gives
    (None: close the connection). Yields a function that starts it and returns its address."""
    servers: list[asyncio.Server] = []
    received: list[str] = []

    async def start(script: Script) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while line := (await reader.readline()).decode().rstrip("\n"):
                received.append(line)
                reply = script(line)
                if reply is None:
                    break
                for r in reply:
                    # "<cut>…": send this much of a line, then hang up mid-reply
                    writer.write(r[5:].encode() if r.startswith("<cut>") else f"{r}\n".encode())
                await writer.drain()
                if reply and reply[-1].startswith("<cut>"):
                    break
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"127.0.0.1:{server.sockets[0].getsockname()[1]}"

    start.received = received  # type: ignore[attr-defined]
    yield start  # type: ignore[misc]
    for server in servers:
        server.close()
        await server.wait_closed()


def nut(address: str, **extra: object) -> NutProbe:
    return NutProbe(
        "ups-a", NutSettings.model_validate({"type": "nut", "address": address, **extra})
    )


async def test_refused_password_is_an_auth_error_that_never_shows_the_password(
    fake_upsd: Callable[[Script], object],
) -> None:
    address = await fake_upsd(  # type: ignore[misc]
        lambda line: ["ERR ACCESS-DENIED"] if line.startswith("PASSWORD") else ["OK"]
    )
    with pytest.raises(ProbeAuthError, match="ACCESS-DENIED") as caught:
        await nut(address, ups="u", username="mon", password='pa"ss wd').poll(1.0)
    assert 'pa"ss wd' not in str(caught.value)
    # the password went out as one quoted protocol word
    assert 'PASSWORD "pa\\"ss wd"' in fake_upsd.received  # type: ignore[attr-defined]


async def test_stale_driver_data_is_a_timeout(fake_upsd: Callable[[Script], object]) -> None:
    address = await fake_upsd(lambda line: ["ERR DATA-STALE"])  # type: ignore[misc]
    with pytest.raises(ProbeTimeout, match="DATA-STALE"):
        await nut(address, ups="u").poll(1.0)


async def test_connection_closed_mid_list_is_a_protocol_error(
    fake_upsd: Callable[[Script], object],
) -> None:
    def script(line: str) -> list[str] | None:
        if line == "LIST VAR u":
            return ["BEGIN LIST VAR u", 'VAR u ups.status "OL"', "<cut>VAR u battery.ch"]
        return None

    address = await fake_upsd(script)  # type: ignore[misc]
    with pytest.raises(ProbeProtocolError):
        await nut(address, ups="u", timeout=2).poll(1.0)


async def test_server_that_never_finishes_its_list_times_out(
    fake_upsd: Callable[[Script], object],
) -> None:
    address = await fake_upsd(  # type: ignore[misc]
        lambda line: ["BEGIN LIST VAR u"] if line == "LIST VAR u" else ["OK"]
    )
    with pytest.raises(ProbeTimeout, match=r"within 0\.5s"):
        await nut(address, ups="u", timeout=0.5).poll(1.0)


async def test_garbage_inside_a_list_is_a_protocol_error(
    fake_upsd: Callable[[Script], object],
) -> None:
    address = await fake_upsd(  # type: ignore[misc]
        lambda line: ["BEGIN LIST VAR u", "hello there", "END LIST VAR u"]
    )
    with pytest.raises(ProbeProtocolError, match="hello there"):
        await nut(address, ups="u").poll(1.0)


def _two_ups_server(b_reply: list[str]) -> Script:
    def script(line: str) -> list[str] | None:
        if line == "LIST UPS":
            return [
                "BEGIN LIST UPS",
                'UPS a "Rack A"',
                'UPS b "Rack B, the old one"',
                "END LIST UPS",
            ]
        if line == "LIST VAR a":
            return ["BEGIN LIST VAR a", 'VAR a ups.status "OB DISCHRG"', "END LIST VAR a"]
        if line == "LIST VAR b":
            return b_reply
        return ["OK"] if line != "LOGOUT" else None

    return script


async def test_one_ups_with_a_dead_driver_does_not_hide_the_others(
    fake_upsd: Callable[[Script], object],
) -> None:
    # Before the fix the whole poll failed and UPS a's "on battery" never reached the rules.
    address = await fake_upsd(_two_ups_server(["ERR DRIVER-NOT-CONNECTED"]))  # type: ignore[misc]
    with pytest.raises(ProbeTimeout, match=r"'b'.*DRIVER-NOT-CONNECTED") as caught:
        await nut(address).poll(1.0)
    assert [(s.metric, s.value, s.labels) for s in caught.value.samples] == [
        ("ups.status", "OB DISCHRG", {"ups": "a"})
    ]
    assert str(caught.value).startswith("ups-a: ")


async def test_named_ups_that_is_stale_fails_the_poll_without_samples(
    fake_upsd: Callable[[Script], object],
) -> None:
    address = await fake_upsd(_two_ups_server(["ERR DATA-STALE"]))  # type: ignore[misc]
    with pytest.raises(ProbeTimeout, match="DATA-STALE") as caught:
        await nut(address, ups="b").poll(1.0)
    assert caught.value.samples == []


@pytest.mark.parametrize(
    "listing",
    [
        ["BEGIN LIST UPS", "UPS", "END LIST UPS"],
        ["BEGIN LIST UPS", 'UPS a "unterminated', "END LIST UPS"],
        ["BEGIN LIST UPS", "END LIST UPS"],
    ],
)
async def test_a_broken_or_empty_ups_list_is_a_protocol_error(
    fake_upsd: Callable[[Script], object], listing: list[str]
) -> None:
    address = await fake_upsd(lambda line: listing)  # type: ignore[misc]
    with pytest.raises(ProbeProtocolError, match=r"LIST UPS|serves no UPS"):
        await nut(address).poll(1.0)


async def test_access_denied_to_list_ups_is_an_auth_error(
    fake_upsd: Callable[[Script], object],
) -> None:
    address = await fake_upsd(lambda line: ["ERR ACCESS-DENIED"])  # type: ignore[misc]
    with pytest.raises(ProbeAuthError, match="LIST UPS: ACCESS-DENIED"):
        await nut(address).poll(1.0)


def test_password_without_username_is_a_settings_error() -> None:
    # before the fix the password was silently never sent
    with pytest.raises(ValidationError, match="set username too") as caught:
        NutSettings(type="nut", address="127.0.0.1", password="hunter2")
    assert "hunter2" not in str(caught.value)


def test_a_password_of_the_wrong_type_is_not_printed_in_the_error() -> None:
    with pytest.raises(ValidationError) as caught:
        NutSettings.model_validate(
            {"type": "nut", "address": "h", "username": "u", "password": 73915}
        )
    assert "73915" not in str(caught.value)


def test_ipv6_upsd_addresses() -> None:
    from probes.nut import split_address

    assert split_address("::1") == ("::1", 3493)
    assert split_address("[::1]:3494") == ("::1", 3494)
