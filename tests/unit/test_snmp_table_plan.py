"""The compiled table path (`probes/snmp/table_plan.py`) yields exactly the samples of the
general path (`mapping.add_table`): every recording polled with `profile: auto` by two probes,
one each way, through polls that move the counters, wrap a Counter32, change a label's raw
bytes but not its text, drop an interface and bring it back, and restart the agent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.sample import Sample
from probes.snmp import ber, mapping
from probes.snmp import probe as probe_module
from probes.snmp.probe import SnmpProbe, SnmpSettings
from probes.snmp.profiles import Profile, load_profiles
from probes.snmp.rates import CounterRates
from probes.snmp.table_plan import plan_for
from tests.fixtures.peers import shared_fixture
from tests.fixtures.snmp_expected import PROFILES
from tests.fixtures.snmp_fake import FakeAgentSession

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
IF_ALIAS = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_X_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
IF_INDEX = (*IF_ENTRY, 1)


def recording_probe(name: str) -> tuple[SnmpProbe, FakeAgentSession]:
    session = FakeAgentSession.from_recording(shared_fixture("snmp", f"{name}.snmprec"))
    config = SnmpSettings(type="snmp", address="192.0.2.1", community=name)  # type: ignore[call-arg]
    return SnmpProbe(name, config, session=session), session


def plain_build(*args: Any) -> list[Sample]:
    return mapping.build_samples(*args, compiled=False)


def move_on(session: FakeAgentSession, step: int) -> None:
    """What changes on the agent between two polls (the same on both agents)."""
    mib = session.mib
    for oid, (tag, value) in list(mib.items()):
        if tag in ber.COUNTER_TAGS and isinstance(value, int):
            value += (sum(oid) * 131 + step * 977) % 1_000_003
            mib[oid] = (tag, value % (1 << 32) if tag == ber.COUNTER32 else value)
    tag, ticks = mib.get(SYS_UPTIME, (ber.TIMETICKS, 0))
    assert isinstance(ticks, int)
    mib[SYS_UPTIME] = (tag, ticks + 6000)
    if step == 2:  # a Counter32 about to wrap
        for oid, (tag, _) in list(mib.items()):
            if tag == ber.COUNTER32:
                mib[oid] = (tag, (1 << 32) - 5)
                break
    if step == 3:  # an alias padded with a NUL: other bytes, the same label text
        for oid, (tag, value) in list(mib.items()):
            if oid[: len(IF_ALIAS)] == IF_ALIAS and isinstance(value, bytes):
                mib[oid] = (tag, value + b"\x00")
                break


def drop_first_interface(session: FakeAgentSession) -> dict[ber.Oid, tuple[int, ber.VarValue]]:
    """Take the first interface's row out of the ifTable and ifXTable; returns it."""
    indexes = sorted(
        oid[len(IF_INDEX) :] for oid in session.mib if oid[: len(IF_INDEX)] == IF_INDEX
    )
    gone = {}
    if indexes:
        for oid in list(session.mib):
            entry = oid[:-2]  # table entry OID, without the column and the (one-arc) index
            if entry in (IF_ENTRY, IF_X_ENTRY) and oid[-1:] == indexes[0]:
                gone[oid] = session.mib.pop(oid)
    session.oids = sorted(session.mib)
    return gone


def drop_one_counter(session: FakeAgentSession) -> dict[ber.Oid, tuple[int, ber.VarValue]]:
    """Take one counter of one interface out; returns it."""
    for oid in sorted(session.mib):
        if oid[:-1] == (*IF_X_ENTRY, 6):  # ifHCInOctets
            gone = {oid: session.mib.pop(oid)}
            session.oids = sorted(session.mib)
            return gone
    return {}


async def polls(
    name: str, monkeypatch: pytest.MonkeyPatch, build: Callable[..., list[Sample]] | None
) -> list[list[Sample]]:
    probe, session = recording_probe(name)
    out = []
    with monkeypatch.context() as patch:
        if build is not None:
            patch.setattr(probe_module, "build_samples", build)
        gone: dict[ber.Oid, tuple[int, ber.VarValue]] = {}
        for step in range(7):
            if step:
                move_on(session, step)
            if step == 4:  # one interface gone, another's counter not answered
                gone = drop_first_interface(session)
                gone.update(drop_one_counter(session))
            if step == 5:
                session.mib.update(gone)
                session.oids = sorted(session.mib)
            if step == 6:  # the agent restarted
                session.mib[SYS_UPTIME] = (ber.TIMETICKS, 500)
            out.append(list(await probe.poll(1_763_800_000.0 + 60 * step)))
    return out


@pytest.mark.parametrize("name", sorted(PROFILES))
async def test_compiled_tables_give_the_samples_of_the_general_path(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = await polls(name, monkeypatch, None)
    general = await polls(name, monkeypatch, plain_build)
    for step, (a, b) in enumerate(zip(compiled, general, strict=True)):
        assert a == b, f"poll {step} of {name}"
        assert [list(s.labels) for s in a] == [list(s.labels) for s in b]  # label order too
    assert any(s.metric.endswith(".rate") for s in compiled[1]) == any(
        s.metric.endswith(".rate") for s in general[1]
    )


def test_the_interface_table_is_compiled_and_sensor_tables_with_factors_are_not() -> None:
    profiles = load_profiles()
    assert plan_for(profiles["if-mib"].tables[0]) is not None
    assert plan_for(profiles["entity-sensor"].tables[0]) is None  # scale_by, precision_from
    assert plan_for(profiles["ups-mib"].tables[0]) is None  # totals


async def test_switch_polls_make_rates_and_utilisation_on_the_compiled_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled = await polls("ios_2960x", monkeypatch, None)
    metrics = {s.metric for s in compiled[1]}
    assert {"ifHCInOctets.rate", "ifInUtilization", "ifOutUtilization"} <= metrics
    # the agent restarted before the last poll: no rate across the restart
    assert not [s for s in compiled[6] if s.metric.endswith(".rate")]


def _synthetic_profile() -> Profile:
    """A table using every option the compiled path takes: fallback metrics of one name, a
    metric named like another's rate, map, sentinels, valid, bounds, a number sent as text,
    and labels from a template, a scalar and a mapped column."""
    col = "1.3.6.1.4.1.99999.1.1."
    return Profile.model_validate(
        {
            "name": "synthetic",
            "tables": [
                {
                    "index": "unit",
                    "labels": {
                        "name": {"template": "Unit {index}"},
                        "site": {"scalar": "1.3.6.1.4.1.99999.2.0"},
                        "kind": {"oid": col + "9", "map": {1: "fan", 2: "psu"}},
                        "descr": col + "10",
                    },
                    "metrics": [
                        {"name": "octets.rate", "oid": col + "8"},
                        {"name": "octets", "oid": col + "1", "rate": True, "unit": "B"},
                        {"name": "octets", "oid": col + "2", "rate": True, "unit": "B"},
                        {"name": "state", "oid": col + "3", "map": {1: "ok", 2: "failed"}},
                        {"name": "temp", "oid": col + "4", "scale": 0.1, "sentinels": [-1],
                         "valid": [-50, 150], "unit": "C"},
                        {"name": "volts", "oid": col + "5", "bounds": [0, 500], "unit": "V"},
                        {"name": "load", "oid": col + "6", "parse": "number"},
                        {"name": "speed", "oid": col + "7"},
                        {"name": "balance", "oid": col + "11", "rate": True},
                    ],
                    "utilisation": [{"name": "util", "counter": "octets", "speed": "speed"}],
                }
            ],
        }
    )  # fmt: skip


def _synthetic_walk(step: int) -> tuple[dict[ber.Oid, Any], dict[ber.Oid, Any]]:
    col = (1, 3, 6, 1, 4, 1, 99999, 1, 1)
    rows = range(1, 6)
    columns: dict[ber.Oid, Any] = {
        (*col, 1): [((i,), ber.COUNTER32, (i * 1000 + step * 300 * i) % (1 << 32))
                     for i in rows if i != 2 and (i, step) != (4, 2)],  # unit 4: col 2 at step 2
        (*col, 2): [((i,), ber.COUNTER64, i * 10**6 + step * 7 * i) for i in rows],
        (*col, 3): [((i,), ber.INTEGER, 1 + (i + step) % 3) for i in rows],
        (*col, 4): [((i,), ber.INTEGER, [-1, 215, 9999, 0, 304][i - 1]) for i in rows],
        (*col, 5): [((i,), ber.GAUGE32, [230, 2360, 0, 231, 229][i - 1]) for i in rows],
        (*col, 6): [((i,), ber.OCTET_STRING, [b"87", b"23,5", b"n/a", b"", b"1"][i - 1]) for i in rows],
        (*col, 7): [((i,), ber.GAUGE32, [100, 0, 10**4, (1 << 32) - 1, 8][i - 1]) for i in rows],
        (*col, 8): [((i,), ber.GAUGE32, 5) for i in rows if i == 3],
        (*col, 9): [((i,), ber.INTEGER, i % 3) for i in rows],
        (*col, 10): [((i,), ber.OCTET_STRING, b"unit\x00" if step == 2 and i == 4 else b"unit") for i in rows],
        # an INTEGER a profile rates: negative, beyond a Counter64, crossing zero
        (*col, 11): [((i,), ber.INTEGER, [-7, 2**70, 5, -(2**40), 12][i - 1] + step * i * (-1) ** i)
                     for i in rows],
    }  # fmt: skip
    if step == 3:
        columns[(*col, 2)] = [r for r in columns[(*col, 2)] if r[0] != (5,)]
        for column, cells in columns.items():  # unit 1 gone for a poll, back in the next
            columns[column] = [cell for cell in cells if cell[0] != (1,)]
    scalars = {
        (1, 3, 6, 1, 4, 1, 99999, 2, 0): ((1, 3, 6, 1, 4, 1, 99999, 2, 0), ber.OCTET_STRING, b"dc1"),
        SYS_UPTIME: (SYS_UPTIME, ber.TIMETICKS, 10_000 + step * 6000),
    }  # fmt: skip
    return columns, scalars


def test_every_option_of_a_compiled_table_matches_the_general_path() -> None:
    profile = _synthetic_profile()
    table = profile.tables[0]
    assert plan_for(table) is not None
    compiled_rates, general_rates = CounterRates(), CounterRates()
    for step in range(5):
        columns, scalars = _synthetic_walk(step)
        bounds_a: list[str] = []
        bounds_b: list[str] = []
        a = mapping.build_samples(
            "d", [profile], scalars, [(table, columns)], 60.0 * step, compiled_rates, bounds_a
        )
        b = mapping.build_samples(
            "d", [profile], scalars, [(table, columns)], 60.0 * step, general_rates, bounds_b,
            compiled=False,
        )  # fmt: skip
        assert a == b, f"poll {step}"
        assert [list(s.labels) for s in a] == [list(s.labels) for s in b]
        assert bounds_a == bounds_b == ["volts"]
    assert any(s.metric == "util" for s in a)
    assert len(compiled_rates) == len(general_rates)


def test_a_changed_profile_keeps_each_counter_by_its_labels_and_name() -> None:
    """A profile edited between polls (metrics reordered and one dropped, then a label
    renamed): the compiled rows are made again, and a counter's rate carries on exactly when
    the general path's series (keyed by metric and labels) does."""
    before = _synthetic_profile()
    table = before.tables[0]
    reordered = table.model_copy(
        update={"metrics": [m for m in reversed(table.metrics) if m.name != "state"]}
    )
    renamed = reordered.model_copy(
        update={
            "labels": {("description" if k == "descr" else k): v for k, v in table.labels.items()}
        }
    )
    profiles = [before, before] + [
        before.model_copy(update={"tables": [t]}) for t in (reordered, renamed)
    ]
    compiled_rates, general_rates = CounterRates(), CounterRates()
    rates_seen = []
    for step, profile in enumerate(profiles):
        columns, scalars = _synthetic_walk(step)
        walked = [(profile.tables[0], columns)]
        a = mapping.build_samples("d", [profile], scalars, walked, 60.0 * step, compiled_rates)
        b = mapping.build_samples(
            "d", [profile], scalars, walked, 60.0 * step, general_rates, compiled=False
        )
        assert a == b, f"poll {step}"
        assert [list(s.labels) for s in a] == [list(s.labels) for s in b]
        rates_seen.append(sum(s.metric == "octets.rate" for s in a))
    assert rates_seen[2] > 0  # reordered: the rates go on
    assert rates_seen[3] <= 1  # renamed label: new series (unit 3's own octets.rate metric only)
