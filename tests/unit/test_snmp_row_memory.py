"""The compiled table path's memory across devices (`probes/snmp/row_memory.py`): devices of
one model share their rows' labels, yet each keeps its own counters, and every device's
samples are still exactly the general path's; the shared labels go with the last device
that has them."""

from __future__ import annotations

import gc

import pytest

from core.sample import Sample
from probes.snmp import ber, mapping
from probes.snmp import probe as probe_module
from probes.snmp import rates as rates_module
from probes.snmp.rates import CounterRates
from probes.snmp.row_memory import label_key_of
from probes.snmp.table_plan import plan_for
from tests.fixtures.snmp_expected import PROFILES
from tests.fixtures.snmp_fake import FakeAgentSession
from tests.unit.test_snmp_table_plan import (
    IF_ALIAS,
    _synthetic_profile,
    _synthetic_walk,
    move_on,
    plain_build,
    recording_probe,
)

T0 = 1_763_800_000.0


def _describe_one_port(session: FakeAgentSession) -> bytes | None:
    """Give the first interface with an alias a description of its own; returns it."""
    for oid in sorted(session.mib):
        if oid[: len(IF_ALIAS)] == IF_ALIAS:
            session.mib[oid] = (ber.OCTET_STRING, b"uplink to core-2")
            return b"uplink to core-2"
    return None


async def _three_devices(
    name: str, monkeypatch: pytest.MonkeyPatch, general: bool
) -> list[list[list[Sample]]]:
    """Three agents of one recording polled in turn, five times: `b`'s counters move
    otherwise than `a`'s, `c` has one port described. Per device, its polls' samples."""
    devices = [recording_probe(name) for _ in range(3)]
    _describe_one_port(devices[2][1])
    out: list[list[list[Sample]]] = [[], [], []]
    with monkeypatch.context() as patch:
        if general:
            patch.setattr(probe_module, "build_samples", plain_build)
        for step in range(5):
            for n, (probe, session) in enumerate(devices):
                if step:
                    move_on(session, step + 2 * n)
                out[n].append(list(await probe.poll(T0 + 60 * step + n)))
    return out


@pytest.mark.parametrize("name", sorted(PROFILES))
async def test_devices_of_one_model_each_get_the_samples_of_the_general_path(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = await _three_devices(name, monkeypatch, general=False)
    general = await _three_devices(name, monkeypatch, general=True)
    for device, (mine, plain) in enumerate(zip(compiled, general, strict=True)):
        for step, (a, b) in enumerate(zip(mine, plain, strict=True)):
            assert a == b, f"device {device}, poll {step} of {name}"
            assert [list(s.labels) for s in a] == [list(s.labels) for s in b]


async def test_equal_ports_share_one_labels_dict_and_a_described_port_its_strings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b, c = (polls[-1] for polls in await _three_devices("ios_2960x", monkeypatch, False))
    rows_a = {s.labels["ifIndex"]: s.labels for s in a if "ifIndex" in s.labels}
    rows_b = {s.labels["ifIndex"]: s.labels for s in b if "ifIndex" in s.labels}
    rows_c = {s.labels["ifIndex"]: s.labels for s in c if "ifIndex" in s.labels}
    assert len(rows_a) > 10
    assert all(rows_b[i] is labels for i, labels in rows_a.items())
    described = [i for i, labels in rows_c.items() if labels.get("ifAlias") == "uplink to core-2"]
    assert len(described) == 1
    mine, theirs = rows_c[described[0]], rows_a[described[0]]
    assert mine is not theirs and mine != theirs
    assert mine["ifName"] is theirs["ifName"]  # the same port name: one string
    # and their counters are their own: the devices' rates differ (their counters moved apart)
    rate = {s.labels["ifIndex"]: s.value for s in a if s.metric == "ifHCInOctets.rate"}
    other = {s.labels["ifIndex"]: s.value for s in b if s.metric == "ifHCInOctets.rate"}
    assert rate and rate.keys() == other.keys() and rate != other


def test_shared_labels_go_with_the_last_device_that_has_them() -> None:
    profile = _synthetic_profile()
    table = profile.tables[0]
    plan = plan_for(table)
    assert plan is not None
    devices = [CounterRates(), CounterRates()]
    for step in range(2):
        columns, scalars = _synthetic_walk(step)
        for n in range(2):
            walked = [(table, columns)]
            mapping.build_samples(f"d{n}", [profile], scalars, walked, 60.0 * step, devices[n])
    assert len(plan.shared) == 5  # five units, one row each for both devices
    del devices[0]
    gc.collect()
    assert len(plan.shared) == 5
    devices.clear()
    gc.collect()
    assert len(plan.shared) == 0


def test_poll_numbers_counted_round_cost_one_poll_of_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rates_module, "POLL_WRAP", 3)  # instead of 2^31 - 1
    profile = _synthetic_profile()
    table = profile.tables[0]
    rates = CounterRates()
    made = []
    for step in range(6):
        columns = _synthetic_walk(step % 2)[0]  # steps 0 and 1 have every unit throughout
        scalars = _synthetic_walk(step)[1]  # sysUpTime going on
        columns = {oid: [(i, tag, v + 100 * step) for i, tag, v in cells if tag == ber.COUNTER64]
                   for oid, cells in columns.items()}  # fmt: skip
        samples = mapping.build_samples(
            "d", [profile], scalars, [(table, columns)], 60.0 * step, rates
        )
        made.append(sum(s.metric == "octets.rate" for s in samples))
    # polls 1, 2, 3, then 1 again: the first poll and the one after the wrap have no rates
    assert made == [0, 5, 5, 0, 5, 5]


def test_a_label_key_tells_labels_apart_exactly_as_their_sorted_pairs_do() -> None:
    sets = [
        {}, {"a": "1"}, {"a": "1", "b": "2"}, {"b": "2", "a": "1"}, {"a": "1b", "": "2"},
        {"a": "", "1": "b"}, {"a": "1", "b": ""}, {"ab": "1"}, {"a": "b1"},
    ]  # fmt: skip
    for one in sets:
        for other in sets:
            same = sorted(one.items()) == sorted(other.items())
            assert (label_key_of(one) == label_key_of(other)) == same, (one, other)
