"""Every real-device recording, served by a map-backed fake agent, polled with `profile: auto`
(hermetic; the same recordings are replayed over the network by snmpsim in the integration
tests)."""

from __future__ import annotations

import pytest

from probes.snmp import SnmpProbe, SnmpSettings
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
