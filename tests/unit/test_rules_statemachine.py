"""The per-series fault state machine, alone: timelines of observations on virtual time
through the pure `step`, and the events they cause. No engine, no inventory, no matching: an
observation says which level the reading matched (as the engine works it out)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rules.conditions import parse_condition
from rules.fault import FaultState, Suppression
from rules.model import CRITICALITY, Flapping, Rule
from rules.statemachine import (
    ABSENT,
    BACK,
    FIRING,
    INACTIVE,
    PENDING,
    READING,
    RECHECK,
    SEEN,
    TICK,
    Observation,
    SeriesEvent,
    SeriesState,
    apply,
    may_fire,
    mildest_level,
    step,
    worth_keeping,
)

CRIT = 2  # the device's criticality in these timelines
LEVELS = ((1, parse_condition("> 35")), (2, parse_condition("> 30")), (3, parse_condition("> 27")))
M, D, F = Suppression.MAINTENANCE, Suppression.DEPENDENCY, Suppression.FLAPPING
FIRE, RESOLVE = FaultState.FIRING, FaultState.RESOLVED


def rule(**timing: object) -> Rule:
    settings: dict[str, object] = {"levels": LEVELS, "flapping": None, **timing}
    return Rule(name="r", group="g", metric="m", **settings)  # type: ignore[arg-type]


def read(level: int | None = None, *, value: float = 0.0, clear: bool = False) -> Observation:
    """A reading matching `level` (None: no level; `clear`: the recovery condition holds)."""
    return Observation(READING, CRIT, value=value, level=level, clear=clear)


def held_read(level: int | None, held: Suppression, *, clear: bool = False) -> Observation:
    return Observation(READING, CRIT, held, level=level, clear=clear)


TICK_ = Observation(TICK, CRIT)
OK = read(clear=True)  # a reading that meets no level and meets the recovery condition
BAND = read()  # between the levels and the recovery condition (hysteresis)

Timeline = list[tuple[float, Observation]]
Told = list[tuple[float, tuple[FaultState, int, Suppression | None, bool]]]


def run(r: Rule, timeline: Timeline) -> tuple[Told, SeriesState]:
    state = SeriesState("dev", (), last_seen=timeline[0][0])
    told: Told = []
    for t, seen in timeline:
        before = replace(state)
        new, event = step(state, seen, r, t)
        assert state == before, f"step changed the state it was given at t={t}"
        # the engine's in-place form makes the same move
        again = replace(state)
        assert apply(again, r, t, *seen) == event and again == new
        state = new
        if event is not None:
            told.append((t, tuple(event)))  # type: ignore[arg-type]
    return told, state


CASES: list[tuple[str, Rule, Timeline, Told]] = [
    (
        "fires once its condition has held for `for`",
        rule(for_s=120),
        [(0, read(2)), (60, read(2)), (120, read(2))],
        [(120, (FIRE, 2, None, False))],
    ),
    (
        "a tick fires the `for` without a new reading",
        rule(for_s=120),
        [(0, read(2)), (119, TICK_), (120, TICK_)],
        [(120, (FIRE, 2, None, False))],
    ),
    (
        "a pending fault that clears is dropped, never told",
        rule(for_s=120),
        [(0, read(1)), (60, OK), (120, read(1)), (200, OK), (600, TICK_)],
        [],
    ),
    (
        "a pending fault without readings for `stale` starts over",
        rule(for_s=120, stale_s=300),
        [(0, read(2)), (300, TICK_), (3600, read(2)), (3719, read(2)), (3720, read(2))],
        [(3720, (FIRE, 2, None, False))],
    ),
    (
        "the fault fires at the most severe level it holds when `for` ends",
        rule(for_s=60),
        [(0, read(3)), (30, read(1)), (60, read(1))],
        [(60, (FIRE, 1, None, False))],
    ),
    (
        "a worse level is taken at once",
        rule(),
        [(0, read(3)), (60, read(1))],
        [(0, (FIRE, 3, None, False)), (60, (FIRE, 1, None, False))],
    ),
    (
        "a milder level only after it has held for `hold`; a relapse restarts the hold",
        rule(hold_s=120),
        [
            (0, read(1)),
            (60, read(2)),
            (120, read(1)),
            (180, read(2)),
            (299, read(2)),
            (300, read(2)),
        ],
        [(0, (FIRE, 1, None, False)), (300, (FIRE, 2, None, False))],
    ),
    (
        "between levels and `clear`: held open, moving to the mildest level after `hold`",
        rule(hold_s=120),
        [(0, read(2)), (60, BAND), (179, BAND), (180, BAND), (240, OK)],
        [
            (0, (FIRE, 2, None, False)),
            (180, (FIRE, 3, None, False)),
            (240, (RESOLVE, 3, None, False)),
        ],
    ),
    (
        "`clear_for`: the recovery must hold; a relapse restarts it",
        rule(clear_for_s=180),
        [(0, read(2)), (60, OK), (120, read(2)), (180, OK), (359, TICK_), (360, TICK_)],
        [(0, (FIRE, 2, None, False)), (360, (RESOLVE, 2, None, False))],
    ),
    (
        "no reading for `stale` marks it stale, a reading makes it fresh; it never resolves",
        rule(stale_s=300),
        [(0, read(1)), (299, TICK_), (300, TICK_), (86400, TICK_), (86460, read(1))],
        [
            (0, (FIRE, 1, None, False)),
            (300, (FIRE, 1, None, True)),
            (86460, (FIRE, 1, None, False)),
        ],
    ),
    (
        "a stale fault whose readings return recovered resolves",
        rule(stale_s=300),
        [(0, read(1)), (1000, TICK_), (1060, OK)],
        [
            (0, (FIRE, 1, None, False)),
            (1000, (FIRE, 1, None, True)),
            (1060, (RESOLVE, 1, None, False)),
        ],
    ),
    (
        "a stale fault does not resolve on `clear_for` alone",
        rule(stale_s=300, clear_for_s=600),
        [(0, read(1)), (10, OK), (700, TICK_), (701, OK)],
        [
            (0, (FIRE, 1, None, False)),
            (700, (FIRE, 1, None, True)),
            (701, (RESOLVE, 1, None, False)),
        ],
    ),
    (
        "an answer without a value (a wrapped counter) keeps the fault fresh",
        rule(stale_s=300),
        [(0, read(2)), (200, Observation(SEEN, CRIT)), (499, TICK_), (500, TICK_)],
        [(0, (FIRE, 2, None, False)), (500, (FIRE, 2, None, True))],
    ),
    (
        "`escalate` moves an open fault up one level per period, to level 1 at most",
        rule(escalate_s=4 * 3600),
        [(t, read(3)) for t in (0, 4 * 3600 - 1, 4 * 3600, 8 * 3600, 12 * 3600)],
        [
            (0, (FIRE, 3, None, False)),
            (4 * 3600, (FIRE, 2, None, False)),
            (8 * 3600, (FIRE, 1, None, False)),
        ],
    ),
    (
        "an absence fires at `absent_level` and resolves when the metric is back",
        rule(levels=(), absent_s=300, absent_level=3),
        [(300, Observation(ABSENT, CRIT)), (350, TICK_), (400, Observation(BACK, CRIT))],
        [(300, (FIRE, 3, None, False)), (400, (RESOLVE, 3, None, False))],
    ),
    (
        "an absence at the device's criticality; absence is never stale",
        rule(levels=(), absent_s=60, absent_level=CRITICALITY, for_s=60),
        [(60, Observation(ABSENT, CRIT)), (120, TICK_), (100000, TICK_)],
        [(120, (FIRE, CRIT, None, False))],
    ),
    (
        "a fault inside maintenance is told as such, and alerted when the window ends",
        rule(),
        [(0, held_read(2, M)), (300, held_read(2, M)), (500, TICK_)],
        [(0, (FIRE, 2, M, False)), (500, (FIRE, 2, None, False))],
    ),
    (
        "a fault that ends inside maintenance resolves as in maintenance",
        rule(),
        [(0, held_read(2, M)), (300, held_read(None, M, clear=True))],
        [(0, (FIRE, 2, M, False)), (300, (RESOLVE, 2, M, False))],
    ),
    (
        "a recheck re-tells a firing fault whose parent went down, and never runs timers",
        rule(for_s=0, clear_for_s=60),
        [(0, read(2)), (10, OK), (100, Observation(RECHECK, CRIT, D)), (101, TICK_)],
        [
            (0, (FIRE, 2, None, False)),
            (100, (FIRE, 2, D, False)),
            (101, (RESOLVE, 2, D, False)),
        ],
    ),
    (
        "a recheck of a pending fault does nothing, not even fire it",
        rule(for_s=60),
        [(0, read(2)), (60, Observation(RECHECK, CRIT)), (61, TICK_)],
        [(61, (FIRE, 2, None, False))],
    ),
    (
        "a fault opening `opens` times in `window` is held open as flapping until it settles",
        rule(flapping=Flapping(opens=3, window=3600, settle=600)),
        [(t, read(2) if (t // 60) % 2 == 0 else OK) for t in range(0, 600, 60)]
        + [(600, OK), (1139, OK), (1140, OK)],
        [
            (0, (FIRE, 2, None, False)),
            (60, (RESOLVE, 2, None, False)),
            (120, (FIRE, 2, None, False)),
            (180, (RESOLVE, 2, None, False)),
            (240, (FIRE, 2, F, False)),
            (1140, (RESOLVE, 2, F, False)),  # clear since 540, its last recovery; settle 10m
        ],
    ),
    (
        "while flapping the level does not move down, and a parent outage outranks flapping",
        rule(flapping=Flapping(opens=1, window=3600, settle=600), hold_s=0),
        [(0, read(1)), (10, read(3)), (20, held_read(3, D))],
        [(0, (FIRE, 1, F, False)), (20, (FIRE, 1, D, False))],
    ),
    (
        "opens older than `window` no longer count towards flapping",
        rule(flapping=Flapping(opens=2, window=100, settle=600)),
        [(0, read(2)), (10, OK), (200, read(2))],
        [
            (0, (FIRE, 2, None, False)),
            (10, (RESOLVE, 2, None, False)),
            (200, (FIRE, 2, None, False)),
        ],
    ),
]


@pytest.mark.parametrize(("timeline", "r", "observed", "told"), CASES, ids=[c[0] for c in CASES])
def test_timeline(timeline: str, r: Rule, observed: Timeline, told: Told) -> None:
    got, _ = run(r, observed)
    assert got == told


def test_settle_counts_from_the_last_recovery_of_a_flapping_fault() -> None:
    r = rule(flapping=Flapping(opens=3, window=3600, settle=600))
    timeline = [(t, read(2) if (t // 60) % 2 == 0 else OK) for t in range(0, 600, 60)]
    _, state = run(r, timeline)
    # readings alternate until 540 (OK): the last recovery began at 540, not at 300
    assert (state.phase, state.flapping, state.clear_since) == (FIRING, True, 540)


def test_a_pending_fault_remembers_when_its_condition_began() -> None:
    _, state = run(rule(for_s=120), [(0, read(2)), (60, read(3))])
    assert (state.phase, state.pending_since, state.cond_level) == (PENDING, 0, 3)


def test_after_resolving_only_the_flapping_history_is_left() -> None:
    r = rule(flapping=Flapping(opens=4, window=3600, settle=600))
    _, state = run(r, [(0, read(2)), (10, OK)])
    assert (state.phase, state.emitted, state.opens) == (INACTIVE, None, (0,))
    assert worth_keeping(state, r)  # it counts towards flapping
    _, quiet = run(rule(), [(0, read(2)), (10, OK)])
    assert not worth_keeping(quiet, rule())  # nothing wrong, nothing to remember


def test_an_absence_is_kept_until_the_metric_is_back() -> None:
    r = rule(levels=(), absent_s=300, absent_level=3, for_s=600)
    state, _ = step(SeriesState("dev", (), 0), Observation(ABSENT, CRIT), r, 300)
    assert state.phase == PENDING and worth_keeping(state, r)
    again, event = step(state, Observation(ABSENT, CRIT), r, 310)
    assert event is None and again == state  # an absence is counted once


def test_only_a_series_that_can_be_firing_after_the_step_needs_its_suppression() -> None:
    firing = SeriesState("dev", (), 0, phase=FIRING)
    pending = SeriesState("dev", (), 0, phase=PENDING)
    assert may_fire(None, 2) and may_fire(firing, None) and may_fire(pending, 3)
    assert not may_fire(None, None) and not may_fire(pending, None)


def test_mildest_level_takes_the_device_criticality_and_the_absence_level() -> None:
    assert mildest_level(rule(), 1) == 3
    by_device = rule(levels=((CRITICALITY, parse_condition("== 0")),))
    assert mildest_level(by_device, 1) == 1
    assert mildest_level(rule(levels=((1, parse_condition("> 1")),), absent_s=60), 2) == 2


def test_events_are_the_alerted_picture() -> None:
    state, event = step(SeriesState("dev", (), 0), read(2, value=31.5), rule(), 0)
    assert event == SeriesEvent(FaultState.FIRING, 2, None, False)
    assert (state.value, state.since, state.emitted) == (31.5, 0, (2, None, False))
