"""The trap receiver against net-snmp's snmptrap/snmpinform: v1, v2c, v3 and informs become
samples; unknown traps are counted; wrong communities and garbage never stop it."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.sample import Sample
from probes.snmp import ber
from probes.snmp.traps import UNKNOWN_TRAPS_LOGGED, SnmpTrapReceiver, SnmpTrapSettings
from tests.fixtures.snmp_peers import snmptrap

pytestmark = pytest.mark.integration

ENGINE_ID = "0x8000000001020304"  # the sender's (snmptrap -e) engine id
V3 = ["-u", "trapuser", "-l", "authPriv", "-a", "SHA", "-A", "authpass123",
      "-x", "AES", "-X", "privpass123"]  # fmt: skip


class Inbox:
    """Collects what the receiver hands over; tests wait (bounded) for what they expect."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self._changed = asyncio.Event()

    def __call__(self, samples: list[Sample]) -> None:
        self.samples.extend(samples)
        self._changed.set()

    def matching(self, metric: str, value: object) -> list[Sample]:
        return [s for s in self.samples if s.metric == metric and s.value == value]

    async def wait_for(self, metric: str, value: object, count: int = 1) -> Sample:
        async with asyncio.timeout(10):
            while len(self.matching(metric, value)) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.matching(metric, value)[0]


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[tuple[SnmpTrapReceiver, Inbox, str]]:
    settings = SnmpTrapSettings(
        listen="127.0.0.1:0",
        credentials=["traps", "trap-v3"],
        devices={"127.0.0.1": "core-sw1"},
    ).with_credentials(
        {
            "traps": {"community": "public"},
            "trap-v3": {"user": "trapuser", "auth_protocol": "sha", "auth_key": "authpass123",
                        "priv_protocol": "aes", "priv_key": "privpass123", "engine_id": ENGINE_ID},
        }
    )  # fmt: skip
    inbox = Inbox()
    rx = SnmpTrapReceiver(settings, inbox)
    await rx.start()
    assert rx.address is not None
    yield rx, inbox, f"127.0.0.1:{rx.address[1]}"
    await rx.stop()


async def test_v2c_link_down_updates_the_port_state(
    receiver: tuple[SnmpTrapReceiver, Inbox, str], tmp_path: Path
) -> None:
    _, inbox, where = receiver
    await snmptrap(tmp_path, "-v2c", "-c", "public", where, "", "1.3.6.1.6.3.1.1.5.3",
                   "1.3.6.1.2.1.2.2.1.1.3", "i", "3", "1.3.6.1.2.1.2.2.1.7.3", "i", "1",
                   "1.3.6.1.2.1.2.2.1.8.3", "i", "2", "1.3.6.1.2.1.31.1.1.1.1.3", "s", "Gi1/0/3")  # fmt: skip
    port = await inbox.wait_for("ifOperStatus", 2)
    assert port.device == "core-sw1"
    assert port.labels == {"ifIndex": "3", "ifName": "Gi1/0/3"}
    trap = await inbox.wait_for("snmp.trap", "linkDown")
    assert trap.labels == {"trap": "linkDown"}


async def test_v1_apc_on_battery_trap_sets_ups_status(
    receiver: tuple[SnmpTrapReceiver, Inbox, str], tmp_path: Path
) -> None:
    _, inbox, where = receiver
    await snmptrap(
        tmp_path, "-v1", "-c", "public", where, "1.3.6.1.4.1.318", "127.0.0.1", "6", "5", ""
    )
    status = await inbox.wait_for("ups.status", "OB")
    assert status.device == "core-sw1"
    await snmptrap(
        tmp_path, "-v1", "-c", "public", where, "1.3.6.1.4.1.318", "127.0.0.1", "6", "7", ""
    )
    await inbox.wait_for("ups.status", "OB LB")


async def test_v1_ups_mib_on_battery_trap_sets_ups_status(
    receiver: tuple[SnmpTrapReceiver, Inbox, str], tmp_path: Path
) -> None:
    rx, inbox, where = receiver
    await snmptrap(
        tmp_path, "-v1", "-c", "public", where, "1.3.6.1.2.1.33.2", "127.0.0.1", "6", "1", ""
    )
    status = await inbox.wait_for("ups.status", "OB")
    assert status.device == "core-sw1"
    assert inbox.matching("snmp.trap", "upsTrapOnBattery")
    assert not rx.unknown


async def test_v3_authpriv_trap_and_inform_are_received(
    receiver: tuple[SnmpTrapReceiver, Inbox, str], tmp_path: Path
) -> None:
    _, inbox, where = receiver
    await snmptrap(tmp_path, "-v3", "-e", ENGINE_ID, *V3, where, "", "1.3.6.1.6.3.1.1.5.1")
    await inbox.wait_for("snmp.trap", "coldStart")
    # An inform waits for our acknowledgement: snmpinform fails if none comes.
    await snmptrap(tmp_path, *["-v3", *V3, where, "", "1.3.6.1.6.3.1.1.5.2"], inform=True)
    await inbox.wait_for("snmp.trap", "warmStart")


async def test_v2c_inform_of_ups_on_battery_is_acknowledged_and_received(
    receiver: tuple[SnmpTrapReceiver, Inbox, str], tmp_path: Path
) -> None:
    _, inbox, where = receiver
    await snmptrap(tmp_path, "-v2c", "-c", "public", where, "", "1.3.6.1.2.1.33.2.1", inform=True)
    await inbox.wait_for("snmp.trap", "upsTrapOnBattery")
    await inbox.wait_for("ups.status", "OB")


async def test_unknown_traps_are_logged_once_per_type_and_counted(
    receiver: tuple[SnmpTrapReceiver, Inbox, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rx, inbox, where = receiver
    caplog.set_level(logging.WARNING, logger="roomwatch.snmp_traps")
    for _ in range(3):
        await snmptrap(tmp_path, "-v2c", "-c", "public", where, "", "1.3.6.1.4.1.99999.0.1")
    await inbox.wait_for("snmp.trap", "1.3.6.1.4.1.99999.0.1", count=3)
    logged = [r for r in caplog.records if "1.3.6.1.4.1.99999.0.1" in r.getMessage()]
    assert len(logged) == 1
    assert rx.stats()["unknown"] == 3


async def test_garbage_and_a_wrong_community_do_not_stop_the_receiver(
    receiver: tuple[SnmpTrapReceiver, Inbox, str], tmp_path: Path
) -> None:
    rx, inbox, where = receiver
    assert rx.address is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for junk in (
            b"",
            b"\x00",
            b"\x30\x82\xff\xff",
            b"GET / HTTP/1.0\r\n\r\n",
            bytes(range(256)),
        ):
            s.sendto(junk, ("127.0.0.1", rx.address[1]))
    await snmptrap(tmp_path, "-v2c", "-c", "not-ours", where, "", "1.3.6.1.6.3.1.1.5.5")
    await snmptrap(tmp_path, "-v2c", "-c", "public", where, "", "1.3.6.1.6.3.1.1.5.4",
                   "1.3.6.1.2.1.2.2.1.1.7", "i", "7")  # fmt: skip
    up = await inbox.wait_for("ifOperStatus", 1)
    assert up.labels == {"ifIndex": "7"}
    assert not [s for s in inbox.samples if s.value == "authenticationFailure"]
    stats = rx.stats()
    assert stats["snmpInBadCommunityNames"] >= 1
    # not SNMP at all: screened before pysnmp (whose snmpInASNParseErrs no longer sees them)
    assert stats["empty"] == 1
    assert stats["undecodable"] == 4


async def test_an_unmapped_source_is_named_by_the_lookup_or_its_address(tmp_path: Path) -> None:
    inbox = Inbox()
    settings = SnmpTrapSettings(listen="127.0.0.1:0", communities=["public"])
    rx = SnmpTrapReceiver(settings, inbox, device_for=lambda addr: None)
    await rx.start()
    try:
        assert rx.address is not None
        await snmptrap(tmp_path, "-v2c", "-c", "public", f"127.0.0.1:{rx.address[1]}", "",
                       "1.3.6.1.6.3.1.1.5.1")  # fmt: skip
        trap = await inbox.wait_for("snmp.trap", "coldStart")
        assert trap.device == "127.0.0.1"
    finally:
        await rx.stop()


async def test_refused_traps_are_logged_once_per_source_and_reason_and_counted(
    receiver: tuple[SnmpTrapReceiver, Inbox, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rx, inbox, where = receiver
    caplog.set_level(logging.WARNING, logger="roomwatch.snmp_traps")
    for _ in range(2):
        await snmptrap(tmp_path, "-v2c", "-c", "not-ours", where, "", "1.3.6.1.6.3.1.1.5.1")
        # A v3 sender whose engine id the receiver was not told (traps are authenticated
        # with the sender's engine id).
        await snmptrap(tmp_path, "-v3", "-e", "0x80000000010A0B0C", *V3, where, "",
                       "1.3.6.1.6.3.1.1.5.1")  # fmt: skip
    # The receiver is still working, and what it refused is on record.
    await snmptrap(tmp_path, "-v2c", "-c", "public", where, "", "1.3.6.1.6.3.1.1.5.2")
    await inbox.wait_for("snmp.trap", "warmStart")
    assert not inbox.matching("snmp.trap", "coldStart")
    assert rx.stats()["refused"] == 4
    refused = [r.getMessage() for r in caplog.records if "snmp_trap_refused" in r.getMessage()]
    assert len(refused) == 2, refused
    assert any("community" in line for line in refused)
    assert any("engine_id" in line for line in refused)
    assert not [line for line in refused if "authpass123" in line or "not-ours" in line]


async def test_undecodable_datagrams_are_counted_and_logged_once_per_source(
    receiver: tuple[SnmpTrapReceiver, Inbox, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # `a0 00` made pysnmp's dispatcher raise a TypeError: one traceback per datagram, and no
    # counter moved, so anyone who could reach the port could flood the journal.
    rx, inbox, where = receiver
    assert rx.address is not None
    caplog.set_level(logging.DEBUG)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(100):
            s.sendto(b"\xa0\x00", ("127.0.0.1", rx.address[1]))
        for _ in range(5):
            s.sendto(b"", ("127.0.0.1", rx.address[1]))
    # a good trap afterwards still comes through, and proves the junk before it was handled
    await snmptrap(tmp_path, "-v2c", "-c", "public", where, "", "1.3.6.1.6.3.1.1.5.4",
                   "1.3.6.1.2.1.2.2.1.1.7", "i", "7")  # fmt: skip
    await inbox.wait_for("ifOperStatus", 1)
    stats = rx.stats()
    assert stats["undecodable"] == 100
    assert stats["empty"] == 5
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(noisy) == 2, [r.getMessage() for r in noisy]  # one per source and kind
    assert all(r.exc_info is None for r in caplog.records), "no traceback for a datagram"
    assert "127.0.0.1" in noisy[0].getMessage()


async def test_unknown_trap_types_are_remembered_in_a_bounded_set(
    receiver: tuple[SnmpTrapReceiver, Inbox, str], caplog: pytest.LogCaptureFixture
) -> None:
    rx, _, _ = receiver
    caplog.set_level(logging.WARNING, logger="roomwatch.snmp_traps")
    for n in range(UNKNOWN_TRAPS_LOGGED + 50):
        trap = ber.parse_oid(f"1.3.6.1.4.1.99999.0.{n}")
        rx.samples_for("10.0.0.9", [(ber.parse_oid("1.3.6.1.6.3.1.1.4.1.0"), 0x06, trap)])
    assert len(rx.unknown) <= UNKNOWN_TRAPS_LOGGED + 1
    assert rx.stats()["unknown"] == UNKNOWN_TRAPS_LOGGED + 50
    assert len(caplog.records) == UNKNOWN_TRAPS_LOGGED + 1  # the last: "(other types)"
