"""The rule engine's state file: a restart keeps `for` timers, open faults, hold and settle
timers, flapping history, absence clocks and which parents are down; a state file written by
an older roomwatch still loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from collector.cluster import shard_snapshot
from core.sample import Value
from rules import snapshot
from rules.engine import Engine
from rules.fault import Fault
from rules.statefile import load_state, save_state
from tests.unit.rules_cases.helpers import feed, inventory, rules_from, s

CASES = Path(__file__).parent / "rules_cases" / "state-v1"
T = 1_763_800_000  # the fixture's timeline starts here

# What happens after the restart, as the engine that wrote rules_cases/state-v1/rules-state.json
# (roomwatch at commit 75ce8a0, snapshot format 1, saved at T+450, from rules.yaml there and the
# inventory of rules_cases/helpers.py) did it: (t - T, [(rule, device, labels, state, level,
# suppression, stale)]), each line after `feed` at that time.
AFTER_RESTART = [
    # disk-full had gone stale at 450; a reading makes it fresh again
    (460, [("disk-full", "web1", {"mount": "/var"}, "firing", 3, None, False)]),
    # sensor1 went down from level 1 to 2 readings at 360; `hold` (= `for`, 2m) ends at 480
    (480, [("room-temperature", "sensor1", {}, "firing", 2, None, False)]),
    (
        520,
        [
            # sensor2 pending since 400, `for` 2m: the timer survived the restart
            ("room-temperature", "sensor2", {}, "firing", 3, None, False),
            # no device.up for core-sw1's snmp probe since 200: stale after 5m
            ("device-unreachable", "core-sw1", {"probe": "snmp"}, "firing", 1, None, True),
        ],
    ),
    # core-sw1 came back at 260; the humidity absence fault of its child, never re-polled, is
    # held as dependency until the parent has been back for `stale` (5m)
    (599, [("humidity-silent", "sensor1", {}, "firing", 3, None, False)]),
    (
        600,
        [
            # ups1's status last arrived at 300; `absent: 5m` — the absence clock survived
            ("ups-silent", "ups1", {}, "firing", 2, None, False),
            ("ups-on-battery", "ups1", {}, "firing", 2, None, True),
        ],
    ),
    (
        700,
        [
            ("humidity-silent", "sensor1", {}, "resolved", 3, None, False),
            ("device-unreachable", "ups1", {"probe": "nut"}, "resolved", 1, None, False),
            ("device-unreachable", "core-sw1", {"probe": "snmp"}, "resolved", 1, None, False),
            ("ups-silent", "ups1", {}, "resolved", 2, None, False),
            ("ups-on-battery", "ups1", {}, "resolved", 2, None, False),
        ],
    ),
    (
        929,
        [
            ("room-temperature", "sensor1", {}, "firing", 2, None, True),
            ("room-temperature", "sensor2", {}, "firing", 3, None, True),
            ("humidity-silent", "sensor1", {}, "firing", 3, None, False),  # silent for 2m again
            ("disk-full", "web1", {"mount": "/var"}, "firing", 3, None, True),
        ],
    ),
    # website-down was held open as flapping, clear since 330: it settles after 10m
    (930, [("website-down", "web1", {}, "resolved", 2, "flapping", False)]),
]

FEEDS = {
    460: [
        s("sensor1", "ambient.temperature", 31),
        s("web1", "http.up", 1),
        s("web1", "disk.used_percent", 95, mount="/var"),
    ],
    480: [s("sensor1", "ambient.temperature", 31)],
    520: [s("sensor2", "ambient.temperature", 28)],
    700: [
        s("sensor1", "ambient.humidity", 40),
        s("ups1", "device.up", 1, probe="nut"),
        s("core-sw1", "device.up", 1, probe="snmp"),
        s("ups1", "ups.status", "OL"),
    ],
    929: [s("web1", "http.up", 1)],
    930: [s("web1", "http.up", 1)],
}

Event = tuple[str, str, dict[str, str], str, int, str | None, bool]


def _picture(events: list[Fault]) -> list[Event]:
    return [
        (
            f.rule,
            f.device,
            f.labels,
            str(f.state),
            f.level,
            None if f.suppressed is None else str(f.suppressed),
            f.stale,
        )
        for f in events
    ]


def _engine(tmp_path: Path) -> Engine:
    text = (CASES / "rules.yaml").read_text(encoding="utf-8")
    return Engine(rules_from(tmp_path, text), inventory())


def _run_after_restart(engine: Engine) -> list[tuple[int, list[Event]]]:
    times = sorted({t for t, _ in AFTER_RESTART} | set(FEEDS))
    return [
        (t, got)
        for t in times
        if (got := _picture(feed(engine, T + t, *FEEDS.get(t, [])))) or t in dict(AFTER_RESTART)
    ]


def test_a_state_file_of_format_1_loads_and_the_engine_carries_on(tmp_path: Path) -> None:
    path = tmp_path / "rules-state.json"
    shutil.copy(CASES / "rules-state.json", path)
    engine = _engine(tmp_path)
    assert load_state(path, engine)
    before = {(v.rule, v.device, v.phase, v.level, v.since - T) for v in engine.faults(T + 450)}
    assert before == {
        ("room-temperature", "sensor1", "firing", 1, 120),
        ("room-temperature", "sensor2", "pending", 3, 400),
        ("humidity-silent", "sensor1", "firing", 3, 120),
        ("ups-on-battery", "ups1", "firing", 2, 300),
        ("device-unreachable", "core-sw1", "firing", 1, 200),
        ("device-unreachable", "ups1", "firing", 1, 400),
        ("website-down", "web1", "firing", 2, 240),
        ("disk-full", "web1", "firing", 3, 120),
    }
    assert _run_after_restart(engine) == AFTER_RESTART


def test_a_state_file_written_now_gives_the_same_future(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    shutil.copy(CASES / "rules-state.json", old)
    first = _engine(tmp_path)
    load_state(old, first)
    save_state(tmp_path / "new.json", first)
    second = _engine(tmp_path)
    assert load_state(tmp_path / "new.json", second)
    assert _run_after_restart(second) == AFTER_RESTART


def test_the_state_file_is_format_2_with_named_fields(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    load_state(CASES / "rules-state.json", engine)
    save_state(tmp_path / "new.json", engine)
    written = json.loads((tmp_path / "new.json").read_text(encoding="utf-8"))
    assert written["version"] == 2
    assert written["devices"]["core-sw1"] == {
        "up": True,
        "back_at": T + 260,
        "probes": [
            {"labels": {"probe": "snmp"}, "up": False},
            {"labels": {"probe": "ssh"}, "up": True},
        ],
    }
    [series] = written["rules"]["website-down"]["series"]
    assert series["emitted"] == {"level": 2, "suppressed": "flapping", "stale": False}
    assert series["opens"] == [T + 0, T + 120, T + 240]


@pytest.mark.parametrize("value", [True, 3, 31.5, "OB DISCHRG", float("nan")])
def test_every_kind_of_value_comes_back_as_it_was(tmp_path: Path, value: Value) -> None:
    text = """
    groups:
      - name: g
        rules:
          - {name: any-reading, select: {id: ups1}, metric: x, levels: {2: "!= never"}, for: 1m}
    """
    engine = Engine(rules_from(tmp_path, text), inventory())
    feed(engine, 0, s("ups1", "x", value))
    save_state(tmp_path / "state.json", engine)
    fresh = Engine(rules_from(tmp_path, text), inventory())
    load_state(tmp_path / "state.json", fresh)
    [view] = fresh.faults(10)
    assert type(view.value) is type(value)
    assert view.value == value or (value != value and view.value != view.value)  # NaN


def test_a_state_file_of_an_unknown_format_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "rules-state.json"
    path.write_text('{"version": 3, "rules": {}}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"rules-state\.json: .*unknown engine snapshot version 3"):
        load_state(path, _engine(tmp_path))


def test_a_damaged_state_file_names_what_is_wrong(tmp_path: Path) -> None:
    data = json.loads((CASES / "rules-state.json").read_text(encoding="utf-8"))
    del data["rules"]["room-temperature"]["series"][0]["since"]
    path = tmp_path / "rules-state.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        ValueError,
        match=r"rules-state\.json: cannot restore rule engine state: format 1: "
        r"rules\.room-temperature\.series\.0\.since: Field required$",
    ):
        load_state(path, _engine(tmp_path))


def test_a_shards_part_of_the_snapshot_holds_only_its_devices(tmp_path: Path) -> None:
    # what a collector hands over through the store for the shard it polls (collector/cluster)
    engine = _engine(tmp_path)
    load_state(CASES / "rules-state.json", engine)
    part = shard_snapshot(engine.snapshot(), {"ups1"})
    assert set(part.devices) == {"ups1"}
    assert {name: [s.device for s in r.series] for name, r in part.rules.items()} == {
        "ups-silent": [],  # its absence clock for ups1 (seen) is handed over
        "ups-on-battery": ["ups1"],
        "device-unreachable": ["ups1"],
    }
    taker = _engine(tmp_path)
    taker.restore(snapshot.parse(part.model_dump(mode="json")))
    assert {(v.rule, v.device) for v in taker.faults(T + 450)} == {
        ("ups-on-battery", "ups1"),
        ("device-unreachable", "ups1"),
    }


def test_device_records_built_without_validation_write_what_validated_ones_would() -> None:
    from rules.snapshot import DeviceRecord, ProbeRecord, devices_of
    from rules.suppression import Reachability

    known = {
        "sw1": Reachability(True, None, {(("probe", "snmp"),): True}),
        "ups1": Reachability(False, 1763800000.5, {(): False, (("probe", "nut"),): True}),
    }
    fast = devices_of(known)
    checked = {
        device: DeviceRecord(
            up=seen.up,
            back_at=seen.back_at,
            probes=[ProbeRecord(labels=dict(k), up=v) for k, v in seen.probes.items()],
        )
        for device, seen in known.items()
    }
    assert {d: r.model_dump_json() for d, r in fast.items()} == {
        d: r.model_dump_json() for d, r in checked.items()
    }


def test_device_records_kept_between_saves_follow_every_change() -> None:
    from rules.snapshot import DeviceRecords, devices_of
    from rules.suppression import Reachability

    records = DeviceRecords()
    snmp, nut = (("probe", "snmp"),), (("probe", "nut"),)
    back = 1763800000.5
    rounds = [  # each round changes one thing of sw1 (ups1 steady, then gone)
        {"sw1": Reachability(True, None, {snmp: True}), "ups1": Reachability(True, None, {})},
        {"sw1": Reachability(True, None, {snmp: True}), "ups1": Reachability(True, None, {})},
        {"sw1": Reachability(False, None, {snmp: True}), "ups1": Reachability(True, None, {})},
        {"sw1": Reachability(False, back, {snmp: True}), "ups1": Reachability(True, None, {})},
        {"sw1": Reachability(False, back, {snmp: False}), "ups1": Reachability(True, None, {})},
        {"sw1": Reachability(False, back, {snmp: False, nut: True})},
    ]
    before: dict[str, object] = {}
    for number, known in enumerate(rounds):
        got = records(known)
        assert {d: r.model_dump_json() for d, r in got.items()} == {
            d: r.model_dump_json() for d, r in devices_of(known).items()
        }, f"round {number}"
        if number == 1:
            assert got["sw1"] is before["sw1"]  # unchanged: the same record, not a new one
        before = dict(got)


def test_snapshots_between_polls_follow_every_change_of_reachability(tmp_path: Path) -> None:
    """The engine keeps its device records while reachability is unchanged: each snapshot,
    taken after every step, is what an engine that never saved before would write then."""
    steps = [
        [s("core-sw1", "device.up", 1, probe="snmp"), s("ups1", "device.up", 1, probe="nut")],
        [s("core-sw1", "device.up", 1, probe="snmp")],  # nothing changes
        [s("core-sw1", "device.up", 0, probe="snmp")],  # down
        [s("core-sw1", "device.up", 0, probe="snmp")],
        [s("core-sw1", "device.up", 1, probe="snmp")],  # back: back_at
        [s("core-sw1", "device.up", 1, probe="ping")],  # a second probe
        [s("ups1", "device.up", 0, probe="nut")],
    ]
    kept = _engine(tmp_path)
    for number, samples in enumerate(steps):
        t = T + 10 * number
        feed(kept, t, *samples)
        fresh = _engine(tmp_path)
        for earlier, done in enumerate(steps[: number + 1]):
            feed(fresh, T + 10 * earlier, *done)
        assert kept.snapshot().model_dump_json() == fresh.snapshot().model_dump_json(), number
    restored = _engine(tmp_path)
    feed(restored, T, *steps[0])
    restored.snapshot()  # keeps the records of this state
    restored.restore(kept.snapshot())
    assert restored.snapshot().devices == kept.snapshot().devices
