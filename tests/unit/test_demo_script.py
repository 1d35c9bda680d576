"""The demo's temperature climb against its own rule: whatever phase the 5 s polls have against
the script, with the readings a few seconds late or the loop stuck for ten (a loaded box), the
fault must fire at level 3 before it moves to 2 and then 1, before the cooling comes back. (A
climb that left level 3 a single poll of room failed the demo test on a loaded CI machine.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.demo.files import RULES
from collector.demo.room import HALL_A_CLIMB, SCRIPT_END
from rules.loader import load_rules
from rules.model import Rule
from rules.statemachine import READING, TICK, SeriesState, apply

POLL_EVERY = 5.0  # the sensors' interval in the demo's inventory
CRITICALITY = 2


def temperature_rule(tmp_path: Path) -> Rule:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, "utf-8")
    return load_rules([path]).by_name()["room-temperature"]


def value_at(t: float) -> float:
    value = 24.0
    for at, celsius in HALL_A_CLIMB:
        if at <= t:
            value = celsius
    return value


def levels_told(
    rule: Rule, phase: float, lag: float, stall: tuple[float, float] = (0.0, 0.0)
) -> list[int]:
    """The levels the fault is told with, in order, for polls at `phase` + 5k seconds whose
    reading is of the room `lag` seconds before, and the engine's once-a-second tick; during
    `stall` (from, seconds) the daemon's loop is stuck: no poll and no tick."""
    events: list[tuple[float, int, float | None]] = []  # (time, kind, value)
    t = phase
    while t < SCRIPT_END:
        events.append((t + lag, READING, value_at(t)))
        t += POLL_EVERY
    events += [(float(s), TICK, None) for s in range(int(SCRIPT_END))]
    stuck_from, stuck_for = stall
    events = [e for e in events if not stuck_from <= e[0] < stuck_from + stuck_for]
    state = SeriesState("th-a1", (), last_seen=0.0)
    told: list[int] = []
    for now, kind, value in sorted(events, key=lambda e: e[0]):
        if now >= SCRIPT_END:
            break
        level = None
        if value is not None:
            level = next((lv for lv, cond in rule.levels if cond(value)), None)
        event = apply(
            state, rule, now, kind, CRITICALITY, value=value, level=level,
            clear=value is not None and rule.clear is not None and rule.clear(value),
        )  # fmt: skip
        if event is not None and (not told or told[-1] != event.level):
            told.append(event.level)
    return told


@pytest.mark.parametrize("lag", [0.0, 1.0, 2.5, 4.0])
def test_the_climb_goes_through_levels_3_2_1_at_every_poll_phase(
    tmp_path: Path, lag: float
) -> None:
    rule = temperature_rule(tmp_path)
    for tenth in range(50):
        phase = tenth / 10
        assert levels_told(rule, phase, lag) == [3, 2, 1], (phase, lag)


def test_the_climb_survives_the_loop_stuck_for_ten_seconds(tmp_path: Path) -> None:
    """A stuck loop skips polls and ticks alike: level 3 must still have fired before the
    first reading of level 2."""
    rule = temperature_rule(tmp_path)
    for phase in (0.0, 2.5, 4.9):
        for start in range(40, 66):
            assert levels_told(rule, phase, 0.5, (start, 10.0)) == [3, 2, 1], (phase, start)
