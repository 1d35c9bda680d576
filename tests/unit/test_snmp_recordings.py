"""Every real-device recording, served by a map-backed fake agent, polled with `profile: auto`
(hermetic; the same recordings are replayed over the network by snmpsim in the integration
tests)."""

from __future__ import annotations

import pytest

from probes.base import ProbeProtocolError
from probes.snmp.probe import SnmpProbe, SnmpSettings
from tests.fixtures.peers import shared_fixture
from tests.fixtures.snmp_expected import PROFILES, check_recording
from tests.fixtures.snmp_fake import FakeAgentSession


def recording_probe(name: str, **settings: object) -> SnmpProbe:
    session = FakeAgentSession.from_recording(shared_fixture("snmp", f"{name}.snmprec"))
    config = SnmpSettings(type="snmp", address="192.0.2.1", community=name, **settings)  # type: ignore[arg-type]
    return SnmpProbe(name, config, session=session)


def test_every_recording_has_expectations() -> None:
    names = sorted(p.stem for p in shared_fixture("snmp").glob("*.snmprec"))
    assert names == sorted(PROFILES)


@pytest.mark.parametrize("name", sorted(PROFILES))
async def test_recording_polls_with_auto_and_yields_the_recorded_values(name: str) -> None:
    probe = recording_probe(name)
    samples = list(await probe.poll(1_763_800_000.0))
    assert probe._auto is not None
    assert [p.name for p in probe._auto] == PROFILES[name]
    check_recording(name, samples)


async def test_second_poll_of_a_switch_adds_rates_and_utilisation() -> None:
    probe = recording_probe("ios_2960x")
    await probe.poll(1000.0)
    session = probe.session
    assert isinstance(session, FakeAgentSession)
    # Gi1/0/1 received 125 MB in 10 s on a 100 Mbit/s port: 100 % in, and the uptime moved on.
    key = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 10101)
    tag, value = session.mib[key]
    assert isinstance(value, int)
    session.mib[key] = (tag, value + 125_000_000)
    uptime = (1, 3, 6, 1, 2, 1, 1, 3, 0)
    tag, ticks = session.mib[uptime]
    assert isinstance(ticks, int)
    session.mib[uptime] = (tag, ticks + 1000)
    samples = await probe.poll(1010.0)
    labels = {"ifName": "Gi1/0/1"}
    rate = [
        s for s in samples if s.metric == "ifHCInOctets.rate" and labels.items() <= s.labels.items()
    ]
    util = [
        s for s in samples if s.metric == "ifInUtilization" and labels.items() <= s.labels.items()
    ]
    assert rate[0].value == 12_500_000.0
    assert rate[0].unit == "B/s"
    assert util[0].value == 100.0
    assert all(s.value == 0 for s in samples if s.metric == "ifHCOutOctets.rate")


async def test_agent_restart_between_polls_gives_no_rate() -> None:
    probe = recording_probe("ios_2960x")
    await probe.poll(1000.0)
    session = probe.session
    assert isinstance(session, FakeAgentSession)
    uptime = (1, 3, 6, 1, 2, 1, 1, 3, 0)
    session.mib[uptime] = (session.mib[uptime][0], 100)  # rebooted a second ago
    for key in [k for k in session.mib if k[:11] == (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)]:
        session.mib[key] = (session.mib[key][0], 5)  # counters restarted from zero
    samples = await probe.poll(1060.0)
    assert not [s for s in samples if s.metric.endswith(".rate")]


def _if_table_agent(speed: int, high_speed: int | None) -> FakeAgentSession:
    """An ifTable-only agent (no ifXTable, so no Counter64: a v1 agent, an old host):
    one port with 32-bit octet counters."""
    ber_gauge, ber_counter, ber_int = 0x42, 0x41, 0x02
    mib: dict[tuple[int, ...], tuple[int, object]] = {
        (1, 3, 6, 1, 2, 1, 1, 3, 0): (0x43, 100_000),
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 3): (0x04, b"eth0\x00"),
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 3): (ber_gauge, speed),
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 3): (ber_int, 1),
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 3): (ber_counter, 4_294_000_000),
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 16, 3): (ber_counter, 1000),
    }
    if high_speed is not None:
        mib[(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15, 3)] = (ber_gauge, high_speed)
    return FakeAgentSession(mib)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("speed", "high_speed"),
    [(100_000_000, None), (100_000_000, 0), (4_294_967_295, 100)],
    ids=["no-ifHighSpeed", "ifHighSpeed-0", "ifSpeed-saturated"],
)
async def test_without_hc_counters_the_32_bit_octets_give_rates_and_utilisation(
    speed: int, high_speed: int | None
) -> None:
    session = _if_table_agent(speed, high_speed)
    config = SnmpSettings(type="snmp", address="192.0.2.1", profile=["if-mib"])  # type: ignore[arg-type]
    probe = SnmpProbe("old-host", config, session=session)
    first = await probe.poll(1000.0)
    assert [s.value for s in first if s.metric == "ifInOctets"] == [4_294_000_000]
    # 10 s later: In wrapped past 2^32 after 125,000,000 octets (100 % of 100 Mbit/s);
    # Out moved 12,500,000 octets (10 %).
    session.mib[(1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 3)] = (0x41, 4_294_000_000 + 125_000_000 - 2**32)
    session.mib[(1, 3, 6, 1, 2, 1, 2, 2, 1, 16, 3)] = (0x41, 1000 + 12_500_000)
    session.mib[(1, 3, 6, 1, 2, 1, 1, 3, 0)] = (0x43, 101_000)
    samples = await probe.poll(1010.0)
    by_metric = {s.metric: s for s in samples}
    assert by_metric["ifInOctets.rate"].value == 12_500_000.0
    assert by_metric["ifInUtilization"].value == 100.0
    assert by_metric["ifOutUtilization"].value == 10.0
    assert by_metric["ifInUtilization"].labels == {"ifIndex": "3", "ifDescr": "eth0"}


async def test_a_saturated_ifspeed_is_not_taken_as_the_port_speed() -> None:
    session = _if_table_agent(4_294_967_295, 0)  # a 10G port on an agent without ifHighSpeed
    config = SnmpSettings(type="snmp", address="192.0.2.1", profile=["if-mib"])  # type: ignore[arg-type]
    probe = SnmpProbe("old-host", config, session=session)
    await probe.poll(1000.0)
    session.mib[(1, 3, 6, 1, 2, 1, 2, 2, 1, 16, 3)] = (0x41, 1000 + 12_500_000)
    samples = await probe.poll(1010.0)
    assert [s.value for s in samples if s.metric == "ifOutOctets.rate"] == [1_250_000.0]
    assert not [s for s in samples if s.metric.endswith("Utilization")]


async def test_strings_read_as_an_admin_would_expect_them() -> None:
    # C agents pad with NULs (and leave junk after them), old ones speak Latin-1, and some
    # OCTET STRINGs are binary: none of it may reach a label as mangled characters.
    session = _if_table_agent(100_000_000, None)
    session.mib[(1, 3, 6, 1, 2, 1, 1, 6, 0)] = (0x04, b"B\xfcro 2.OG")  # Latin-1
    session.mib[(1, 3, 6, 1, 2, 1, 1, 5, 0)] = (0x04, "sw-Grüße".encode())
    session.mib[(1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 3)] = (0x04, b"eth0\x00\x00\x7fjunk")
    session.mib[(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18, 3)] = (0x04, b"\x00\x1a\x2b\x3c\x4d\x5e")
    session.oids = sorted(session.mib)
    config = SnmpSettings(type="snmp", address="192.0.2.1", profile=["system", "if-mib"])  # type: ignore[arg-type]
    samples = await SnmpProbe("old-host", config, session=session).poll(1000.0)
    by_metric = {s.metric: s for s in samples}
    assert by_metric["sysLocation"].value == "Büro 2.OG"
    assert by_metric["sysName"].value == "sw-Grüße"
    assert by_metric["ifOperStatus"].labels == {
        "ifIndex": "3",
        "ifDescr": "eth0",
        "ifAlias": "0x001A2B3C4D5E",
    }


async def test_a_number_sent_as_a_string_is_read_as_a_number_or_not_at_all() -> None:
    ups = (1, 3, 6, 1, 2, 1, 33, 1)
    mib: dict[tuple[int, ...], tuple[int, object]] = {
        (*ups, 2, 4, 0): (0x04, b"87"),  # battery.charge, wrong type
        (*ups, 2, 5, 0): (0x04, b"n/a"),  # battery.voltage: no reading
        (*ups, 3, 3, 1, 2, 1): (0x04, b" 499 "),  # input.frequency, scale 0.1
        (*ups, 4, 1, 0): (0x02, 3),  # upsOutputSource: normal
        (*ups, 1, 2, 0): (0x04, b"Smart 1500"),
    }
    config = SnmpSettings(type="snmp", address="192.0.2.1", profile=["ups-mib"])  # type: ignore[arg-type]
    session = FakeAgentSession(mib)  # type: ignore[arg-type]
    samples = await SnmpProbe("ups-9", config, session=session).poll(1000.0)
    values = {s.metric: s.value for s in samples}
    assert values["battery.charge"] == 87.0
    assert values["input.frequency"] == 49.9
    assert "battery.voltage" not in values
    assert values["ups.model"] == "Smart 1500"
    assert values["ups.status"] == "OL"


async def test_an_overflowed_storage_size_is_no_reading() -> None:
    storage = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
    mib: dict[tuple[int, ...], tuple[int, object]] = {
        (*storage, 3, 1): (0x04, b"/"),
        (*storage, 4, 1): (0x02, 4096),
        (*storage, 5, 1): (0x02, 1000),
        (*storage, 6, 1): (0x02, 500),
        (*storage, 3, 2): (0x04, b"/srv"),  # 20 TB in 4 KiB units: Integer32 overflowed
        (*storage, 4, 2): (0x02, 4096),
        (*storage, 5, 2): (0x02, -2_000_000_000),
        (*storage, 6, 2): (0x02, -2_100_000_000),
    }
    config = SnmpSettings(type="snmp", address="192.0.2.1", profile=["host-resources"])  # type: ignore[arg-type]
    session = FakeAgentSession(mib)  # type: ignore[arg-type]
    samples = await SnmpProbe("host", config, session=session).poll(1000.0)
    used = {s.labels["hrStorageDescr"]: s.value for s in samples if s.metric == "hrStorageUsed"}
    assert used == {"/": 500 * 4096}


async def test_a_profile_the_device_has_nothing_of_is_a_clear_error_not_an_empty_poll() -> None:
    probe = recording_probe("ios_2960x", profile=["ups-mib"])  # a switch, not a UPS
    with pytest.raises(ProbeProtocolError, match="none of the OIDs of profile"):
        await probe.poll(1000.0)
    assert await recording_probe("ios_2960x", profile=["system", "ups-mib"]).poll(1000.0)


async def test_with_auto_an_agent_with_no_known_mib_is_up_with_nothing_to_say() -> None:
    # snmpsim's udp-endpoint-table-walk: an agent serving only the UDP-MIB endpoint table.
    mib: dict[tuple[int, ...], tuple[int, object]] = {
        (1, 3, 6, 1, 2, 1, 7, 7, 1, 8, 1, 4, 0, 0, 0, 0, 161): (0x42, 1234),
    }
    session = FakeAgentSession(mib)  # type: ignore[arg-type]
    config = SnmpSettings(type="snmp", address="192.0.2.1")  # type: ignore[arg-type]
    samples = await SnmpProbe("odd", config, session=session).poll(1000.0)
    # Nothing but the poll's own health: complete (nothing left unanswered), nothing garbled.
    assert {s.metric: s.value for s in samples} == {
        "snmp.incomplete": 0,
        "snmp.garbled": 0,
        "snmp.out_of_bounds": 0,
    }
