"""Sane values (issue 15 items 2 and 3): sentinels per column, `valid` in the metric's unit,
physical bounds counted and logged once, vendor overrides by sysObjectID, and every line of a
three-phase UPS with NUT's totals. A map-backed fake agent (pure logic)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.sample import Sample
from probes.snmp import ber
from probes.snmp.probe import SnmpProbe, SnmpSettings
from probes.snmp.profiles import SHIPPED_DIR
from tests.fixtures.snmp_fake import FakeAgentSession

UPS = (1, 3, 6, 1, 2, 1, 33, 1)
SYS = (1, 3, 6, 1, 2, 1, 1)
UPS_MIB_PROFILE = (SHIPPED_DIR / "ups-mib.yaml").read_text(encoding="utf-8")
INT, GAUGE, OID = ber.INTEGER, ber.GAUGE32, ber.OBJECT_IDENTIFIER


Mib = dict[tuple[int, ...], tuple[int, object]]


def ups_agent(extra: Mib, vendor: str = "1.3.6.1.4.1.99") -> FakeAgentSession:
    mib: dict[tuple[int, ...], tuple[int, object]] = {
        (*SYS, 2, 0): (OID, ber.parse_oid(vendor)),
        (*SYS, 3, 0): (ber.TIMETICKS, 100),
        (*UPS, 2, 1, 0): (INT, 2),  # batteryNormal
        (*UPS, 4, 1, 0): (INT, 3),  # normal: on line
        (*UPS, 6, 1, 0): (GAUGE, 0),
        **extra,
    }
    return FakeAgentSession(mib)  # type: ignore[arg-type]


def probe(session: FakeAgentSession, profile_dirs: list[str] | None = None) -> SnmpProbe:
    config = SnmpSettings(
        type="snmp",
        address="192.0.2.1",
        profile=["system", "ups-mib"],  # type: ignore[arg-type]
        profile_dirs=profile_dirs or [],
    )
    return SnmpProbe("ups-1", config, session=session)


def values(samples: list[Sample], metric: str) -> dict[str, object]:
    """phase label (or "" for the unlabelled total) → value."""
    return {s.labels.get("phase", ""): s.value for s in samples if s.metric == metric}


def health(samples: list[Sample], metric: str) -> object:
    return values(samples, metric)[""]


async def test_a_runtime_sentinel_is_no_reading_and_valid_is_checked_in_seconds() -> None:
    # 65535 minutes of "not available" used to become 3,932,100 s of runtime.
    samples = list(await probe(ups_agent({(*UPS, 2, 3, 0): (INT, 65535)})).poll(1000.0))
    assert "battery.runtime" not in {s.metric for s in samples}
    # 20000 minutes passes the raw check but is 13.9 days: outside valid (0–7 days, in s).
    samples = list(await probe(ups_agent({(*UPS, 2, 3, 0): (INT, 20000)})).poll(1000.0))
    assert "battery.runtime" not in {s.metric for s in samples}
    samples = list(await probe(ups_agent({(*UPS, 2, 3, 0): (INT, 42)})).poll(1000.0))
    assert values(samples, "battery.runtime") == {"": 2520}


async def test_voltages_sent_in_tenths_are_outside_the_bounds_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = ups_agent({(*UPS, 3, 3, 1, 3, 1): (INT, 2360), (*UPS, 4, 4, 1, 2, 1): (INT, 230)})
    p = probe(agent)
    with caplog.at_level(logging.WARNING, logger="roomwatch.snmp"):
        first = list(await p.poll(1000.0))
        second = list(await p.poll(1060.0))
    assert "input.voltage" not in {s.metric for s in first}  # 2360 V is no mains voltage
    assert values(first, "output.voltage") == {"1": 230, "": 230}
    assert health(first, "snmp.out_of_bounds") == 1
    assert health(second, "snmp.out_of_bounds") == 2  # a counter
    logged = [r.getMessage() for r in caplog.records if "snmp_out_of_bounds" in r.getMessage()]
    assert logged == [
        "event=snmp_out_of_bounds device=ups-1 metric=input.voltage (outside the bounds of its"
        " profile: not reported)"
    ]


async def test_an_override_by_sys_object_id_reads_a_vendors_tenths(tmp_path: Path) -> None:
    text = UPS_MIB_PROFILE + (
        "overrides:\n"
        "  - sys_object_id: [1.3.6.1.4.1.99.7]\n"
        "    metrics: {input.voltage: {scale: 0.1}}\n"
    )
    (tmp_path / "ups-mib.yaml").write_text(text, encoding="utf-8")
    extra = {(*UPS, 3, 3, 1, 3, 1): (INT, 2361)}
    tenths = ups_agent(extra, vendor="1.3.6.1.4.1.99.7.1")
    samples = list(await probe(tenths, [str(tmp_path)]).poll(1000.0))
    assert values(samples, "input.voltage") == {"1": 236.1, "": 236.1}
    assert health(samples, "snmp.out_of_bounds") == 0
    # Another vendor's agent keeps the MIB's units, so 2361 stays out of bounds.
    other = ups_agent(extra, vendor="1.3.6.1.4.1.99.8")
    assert "input.voltage" not in {
        s.metric for s in await probe(other, [str(tmp_path)]).poll(1000.0)
    }


async def test_overridden_profiles_are_made_once_per_sys_object_id(tmp_path: Path) -> None:
    text = UPS_MIB_PROFILE + (
        "overrides:\n"
        "  - sys_object_id: [1.3.6.1.4.1.99.7]\n"
        "    metrics: {input.voltage: {scale: 0.1}}\n"
    )
    (tmp_path / "ups-mib.yaml").write_text(text, encoding="utf-8")
    agent = ups_agent({(*UPS, 3, 3, 1, 3, 1): (INT, 2361)}, vendor="1.3.6.1.4.1.99.7.1")
    ups = probe(agent, [str(tmp_path)])
    first = list(await ups.poll(1000.0))
    adapted = ups._adapted[2]
    second = list(await ups.poll(1060.0))
    assert ups._adapted[2] is adapted  # the same copies, not new ones every poll
    assert (
        values(first, "input.voltage") == values(second, "input.voltage") == {"1": 236.1, "": 236.1}
    )
    # The card is replaced by another vendor's: its sysObjectID no longer matches.
    agent.mib[(*SYS, 2, 0)] = (OID, ber.parse_oid("1.3.6.1.4.1.99.8"))
    third = list(await ups.poll(1120.0))
    assert "input.voltage" not in {s.metric for s in third}  # 2361 V: out of bounds again


async def test_every_line_of_a_three_phase_ups_and_nuts_totals() -> None:
    lines: dict[tuple[int, ...], tuple[int, object]] = {}
    for phase, (volts, tenths_a, watts, load) in enumerate(
        [(231, 105, 2300, 30), (229, 162, 3550, 45), (232, 70, -1, 20)], start=1
    ):
        lines[(*UPS, 3, 3, 1, 3, phase)] = (INT, volts + 2)
        lines[(*UPS, 4, 4, 1, 2, phase)] = (INT, volts)
        lines[(*UPS, 4, 4, 1, 3, phase)] = (INT, tenths_a)
        lines[(*UPS, 4, 4, 1, 4, phase)] = (INT, watts)
        lines[(*UPS, 4, 4, 1, 5, phase)] = (INT, load)
        lines[(*UPS, 5, 3, 1, 2, phase)] = (INT, volts - 1)
    samples = list(await probe(ups_agent(lines)).poll(1000.0))
    assert values(samples, "output.load") == {"1": 30, "2": 45, "3": 20}
    assert values(samples, "ups.load") == {"": 45}  # the highest phase load, as NUT does
    assert values(samples, "output.current") == {"1": 10.5, "2": 16.2, "3": 7.0, "": 33.7}
    # Phase 3 sends -1 W (the MIB's power is non-negative: no reading); the total is of
    # the phases that have one.
    assert values(samples, "output.realpower") == {"1": 2300, "2": 3550, "": 5850}
    assert values(samples, "input.voltage") == {"1": 233, "2": 231, "3": 234, "": 233}
    assert values(samples, "bypass.voltage") == {"1": 230, "2": 228, "3": 231, "": 230}
    assert values(samples, "output.voltage") == {"1": 231, "2": 229, "3": 232, "": 231}
