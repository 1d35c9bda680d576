"""Our own profiles for Chinese switch vendors (issue 15 item 5): Huawei, H3C and Ruijie CPU,
memory and temperature under their MIB names and the shared names one rule file can use. The
Huawei one is also checked on the VRP recording (tests/unit/test_snmp_recordings.py); H3C and
Ruijie on small hand-written agents with the MIBs' OIDs (no recording of them is kept here)."""

from __future__ import annotations

from core.sample import Sample
from probes.snmp import ber
from probes.snmp.probe import SnmpProbe, SnmpSettings
from tests.fixtures.peers import shared_fixture
from tests.fixtures.snmp_fake import FakeAgentSession

ENT_NAME = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 7)
INT, STR = ber.INTEGER, ber.OCTET_STRING
Mib = dict[tuple[int, ...], tuple[int, object]]


def poll(mib: Mib, profile: str) -> list[Sample]:
    import asyncio

    config = SnmpSettings(type="snmp", address="192.0.2.1", profile=["system", profile])  # type: ignore[arg-type]
    probe = SnmpProbe("sw", config, session=FakeAgentSession(mib))  # type: ignore[arg-type]
    return list(asyncio.run(probe.poll(1000.0)))


def readings(samples: list[Sample], metric: str) -> dict[str, object]:
    return {
        s.labels.get("entity", s.labels.get("pool", "")): s.value
        for s in samples
        if s.metric == metric
    }


def test_h3c_boards_with_memory_and_sensors_are_read_and_the_rest_is_not() -> None:
    ext = (1, 3, 6, 1, 4, 1, 25506, 2, 6, 1, 1, 1, 1)
    mib: Mib = {}
    for index, name, cpu, mem, size, temp in (
        (2, "Board slot 1", 23, 41, 1 << 30, 38),
        (3, "Fan 1", 0, 0, 0, 65535),
        (4, "Power 1", 0, 0, 0, 31),
    ):
        mib[(*ENT_NAME, index)] = (STR, name.encode())
        mib[(*ext, 6, index)] = (INT, cpu)
        mib[(*ext, 8, index)] = (INT, mem)
        mib[(*ext, 10, index)] = (INT, size)
        mib[(*ext, 12, index)] = (INT, temp)
    samples = poll(mib, "h3c-entity")
    assert readings(samples, "hh3cEntityExtCpuUsage") == {"Board slot 1": 23}
    assert readings(samples, "cpu.usage") == {"Board slot 1": 23}
    assert readings(samples, "memory.used_percent") == {"Board slot 1": 41}
    # 65535 is "no sensor"; the power module has one.
    assert readings(samples, "hardware.temperature") == {"Board slot 1": 38, "Power 1": 31}


def test_ruijie_cpu_memory_pools_and_temperature_sensors() -> None:
    base = (1, 3, 6, 1, 4, 1, 4881, 1, 1, 10, 2)
    mib: Mib = {
        (*base, 36, 1, 1, 1, 0): (INT, 12),
        (*base, 36, 1, 1, 2, 0): (INT, 9),
        (*base, 36, 1, 1, 3, 0): (INT, 8),
        (*base, 35, 1, 1, 1, 3, 1): (INT, 57),
        (*base, 1, 1, 23, 1, 2, 1): (STR, b"CPU"),
        (*base, 1, 1, 23, 1, 3, 1): (INT, 49),
        (*base, 1, 1, 16, 0): (INT, 40),
    }
    samples = poll(mib, "ruijie")
    assert readings(samples, "cpu.usage") == {"": 9}  # the 1-minute figure
    assert readings(samples, "ruijieCPUUtilization5Sec") == {"": 12}
    assert readings(samples, "memory.used_percent") == {"1": 57}
    assert readings(samples, "hardware.temperature") == {"CPU": 49, "system": 40}


def test_the_huawei_profile_skips_cards_without_cpu_or_sensor() -> None:
    from tests.fixtures.snmp_fake import parse_snmprec

    samples = poll(parse_snmprec(shared_fixture("snmp", "vrp_5720.snmprec")), "huawei-entity")  # type: ignore[arg-type]
    assert readings(samples, "cpu.usage") == {"MPU Board 0": 44}
    assert readings(samples, "hardware.temperature") == {"MPU Board 0": 42}


def test_a_netagent_card_reads_as_nut_names_from_its_recording() -> None:
    from tests.fixtures.librenms_oracle import LIBRENMS
    from tests.fixtures.snmp_fake import parse_snmprec

    mib = parse_snmprec(LIBRENMS / "tests" / "snmpsim" / "netagent2.snmprec")
    config = SnmpSettings(type="snmp", address="192.0.2.1")  # type: ignore[call-arg]
    probe = SnmpProbe("ups", config, session=FakeAgentSession(mib))
    import asyncio

    samples = {s.metric: s.value for s in asyncio.run(probe.poll(1000.0)) if not s.labels}
    assert "xppc" in {p.name for p in probe._auto or []}
    # Read by hand from the recording: 2545 and 2285 tenths of a volt, 500 tenths of a hertz.
    assert samples["input.voltage"] == 254.5
    assert samples["output.voltage"] == 228.5
    assert samples["input.frequency"] == samples["output.frequency"] == 50.0
    assert samples["battery.charge"] == 100
    assert samples["ups.load"] == 44
    assert samples["ups.temperature"] == 25.0
