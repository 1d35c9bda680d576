"""The demo's temperature climb against its own rule: whatever phase the 5 s polls have against
the script, with the readings a few seconds late or the loop stuck for ten (a loaded box), the
fault must fire at level 3 before it moves to 2 and then 1, before the cooling comes back. (A
climb that left level 3 a single poll of room failed the demo test on a loaded CI machine.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.demo.files import RULES
from collector.demo.room import HALL_A_CLIMB, SCRIPT_END
from core.sample import Sample
from inventory.model import Device, Inventory
from rules.engine import Engine
from rules.fault import FaultState
from rules.loader import load_rules

POLL_EVERY = 5.0  # the sensors' interval in the demo's inventory
SENSOR = Device("th-a1", "Sensor hall-a rack 3", "sensor", 2, site="demo", room="hall-a")


def demo_engine(tmp_path: Path) -> Engine:
    """The rule engine with the demo's rules and its hall-a sensor."""
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, "utf-8")
    inventory = Inventory()
    inventory.devices[SENSOR.id] = SENSOR
    return Engine(load_rules([path]), inventory)


def value_at(t: float) -> float:
    value = 24.0
    for at, celsius in HALL_A_CLIMB:
        if at <= t:
            value = celsius
    return value


def levels_told(
    engine: Engine, phase: float, lag: float, stall: tuple[float, float] = (0.0, 0.0)
) -> list[int]:
    """The levels the temperature fault fires with, in order, for polls at `phase` + 5k
    seconds whose reading is of the room `lag` seconds before, and the daemon's once-a-second
    tick; during `stall` (from, seconds) the daemon's loop is stuck: no poll and no tick."""
    polls: list[tuple[float, float | None]] = []  # (when it reaches the rules, reading)
    t = phase
    while t < SCRIPT_END:
        polls.append((t + lag, value_at(t)))
        t += POLL_EVERY
    polls += [(float(s), None) for s in range(int(SCRIPT_END))]  # the ticks
    stuck_from, stuck_for = stall
    told: list[int] = []
    for now, value in sorted(polls, key=lambda p: p[0]):
        if now >= SCRIPT_END:
            break
        if stuck_from <= now < stuck_from + stuck_for:
            continue
        if value is None:
            faults = engine.tick(now)
        else:
            reading = Sample(SENSOR.id, "ambient.temperature", value, {}, "°C", now)
            faults = engine.observe([reading], now)
        for fault in faults:
            firing = fault.rule == "room-temperature" and fault.state == FaultState.FIRING
            if firing and (not told or told[-1] != fault.level):
                told.append(fault.level)
    return told


@pytest.mark.parametrize("lag", [0.0, 1.0, 2.5, 4.0])
def test_the_climb_goes_through_levels_3_2_1_at_every_poll_phase(
    tmp_path: Path, lag: float
) -> None:
    for tenth in range(50):
        phase = tenth / 10
        assert levels_told(demo_engine(tmp_path), phase, lag) == [3, 2, 1], (phase, lag)


def test_the_climb_survives_the_loop_stuck_for_ten_seconds(tmp_path: Path) -> None:
    """A stuck loop skips polls and ticks alike: level 3 must still have fired before the
    first reading of level 2."""
    for phase in (0.0, 2.5, 4.9):
        for start in range(40, 66):
            told = levels_told(demo_engine(tmp_path), phase, 0.5, (start, 10.0))
            assert told == [3, 2, 1], (phase, start)
