"""The fault state machine of one series (a rule × a device × its labels), as a pure step.

    inactive ──condition──▶ pending ──held `for`──▶ firing ──recovery held `clear_for`──▶ inactive
                               └──condition gone (or no readings for `stale`): dropped, never notified

While firing, a worse level is taken at once, a milder one only after it has held for `hold`;
`escalate` moves an open fault up one level per period; no reading for `stale` marks it stale
(missing data never resolves a fault); a fault that opens `flapping.opens` times in
`flapping.window` is held open as flapping until it has been clear for `flapping.settle`.

`step(state, observation, rule, now)` returns the next state and the event it causes, if any (at
most one): the fault starts firing, its alerted picture (level, suppression, staleness) changes,
or it resolves. It reads no clock, does no I/O and never changes the state it is given. What is
matched, rated or combined (the observation's level) and whether a parent or a maintenance window
holds the fault (the observation's `held`) is worked out by the engine; this module owns only
what the series remembers and how it moves.

The engine runs this for every sample of a series that has a state, so it is kept cheap: no
allocation but the event when something is to be told. The engine owns its states and calls
`apply`, the same transition done in place; `step` is that plus a copy of the state."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from core.sample import Value
from rules.fault import FaultState, Suppression
from rules.model import CRITICALITY, Rule

INACTIVE, PENDING, FIRING = 0, 1, 2
PHASES = ("inactive", "pending", "firing")

# What the engine learnt of a series (Observation.kind):
READING = 0  # a value, with the level it matches and whether the recovery condition holds
SEEN = 1  # the series answered without a usable value (a counter that wrapped): not stale
ABSENT = 2  # the metric has not arrived for the rule's `absent`
BACK = 3  # a sample of the metric arrived again after an absence
TICK = 4  # only time went by: timers (`for`, hold, clear, settle, staleness, escalation) run
RECHECK = 5  # only the world around changed (a parent went down or came back): re-tell if needed

LabelsKey = tuple[tuple[str, str], ...]
Status = tuple[int, Suppression | None, bool]  # level, suppression, stale: what alerting knows


class Observation(NamedTuple):
    """One input of `step`: what the engine learnt of the series (`kind`, and for a READING
    the value, the level it matches and whether the recovery condition holds). `criticality`
    is the device's (for rules whose level is the device's criticality); `held` is what holds
    the fault from alerting at `now`, a down parent or a maintenance window (None when nothing
    does, or when the series cannot be firing after this step: see `may_fire`)."""

    kind: int
    criticality: int
    held: Suppression | None = None
    value: Value | None = None
    level: int | None = None
    clear: bool = False


class SeriesEvent(NamedTuple):
    """What a step tells alerting: the fault fires (again, with a changed picture) or
    resolves. The engine dresses it as a `Fault` (summary, device fields)."""

    state: FaultState
    level: int
    suppressed: Suppression | None
    stale: bool


@dataclass(slots=True)
class SeriesState:
    """What one series remembers: `step` returns a changed copy, `apply` changes it."""

    device: str
    labels: LabelsKey
    last_seen: float  # last reading (or answer) of the series
    phase: int = INACTIVE
    cond_level: int | None = None  # the level the latest observation matches
    cond_clear: bool = True  # the recovery condition holds
    absent: bool = False
    value: Value | None = None
    pending_since: float = 0.0
    since: float = 0.0  # when it started firing
    base_level: int = 0  # the level before escalation
    milder_since: float | None = None  # a milder level has held since (for `hold`)
    milder_level: int = 0
    clear_since: float | None = None  # the recovery has held since (for `clear_for`, settle)
    opens: tuple[float, ...] = ()  # when it started firing, within the flapping window
    flapping: bool = False
    emitted: Status | None = None  # what alerting was last told of it


def may_fire(state: SeriesState | None, level: int | None) -> bool:
    """Whether the series can be firing after a step with this observed level: only then does
    the observation need its `held` (which costs a walk over parents and windows)."""
    return level is not None or (state is not None and state.phase == FIRING)


def worth_keeping(state: SeriesState, rule: Rule) -> bool:
    """Whether the engine must keep the state: it is pending or firing, it counts opens
    towards flapping, or it is the record of an absence."""
    return state.phase != INACTIVE or bool(state.opens) or (bool(rule.absent_s) and state.absent)


def step(
    state: SeriesState, seen: Observation, rule: Rule, now: float
) -> tuple[SeriesState, SeriesEvent | None]:
    """The series' next state after `seen` at `now`, and the event it causes (if any).
    `state` is left as it was."""
    st = replace(state)
    event = apply(
        st, rule, now, seen.kind, seen.criticality, seen.held, seen.value, seen.level, seen.clear
    )
    return st, event


def apply(
    st: SeriesState,
    rule: Rule,
    now: float,
    kind: int,
    criticality: int,
    held: Suppression | None = None,
    value: Value | None = None,
    level: int | None = None,
    clear: bool = False,
) -> SeriesEvent | None:
    """`step` done on `st` itself, the observation's fields passed one by one: the next state
    is `st`, changed in place. For the engine, which owns its states and runs this for every
    sample of a series that has one, where a copy of the state and an Observation would be a
    good part of the cost (issue 21 works on that cost). Everything else uses `step`."""
    if kind == READING:
        st.value = value
        st.last_seen = now
        st.absent = False
        st.cond_level = level
        st.cond_clear = clear
    elif kind == ABSENT:
        if st.absent:
            return None  # already counted; its timers run on ticks
        st.absent = True
        st.cond_level = _absent_level(rule, criticality)
        st.cond_clear = False
    elif kind == BACK:
        if not st.absent:
            return None
        st.absent = False
        st.cond_level = None
        st.cond_clear = True
        st.last_seen = now
    elif kind == SEEN:
        st.last_seen = now
        return None
    elif kind == RECHECK:
        return _publish(st, rule, now, held)
    # How the series moves on (one function with the intake above: this runs per sample).
    event = None
    if st.phase == INACTIVE and st.cond_level is not None:
        st.phase = PENDING
        st.pending_since = now
    if st.phase == PENDING:
        if st.cond_level is None:
            st.phase = INACTIVE  # cleared before its `for`: dropped, never notified
        elif is_stale(st, rule, now):
            st.phase = INACTIVE  # no readings to confirm it: start over when they return
        elif now - st.pending_since >= rule.for_s:
            _fire(st, rule, now, criticality)
    elif st.phase == FIRING:
        event = _firing(st, rule, now, criticality)
    if st.phase == INACTIVE:
        flap = rule.flapping
        if st.opens and flap is not None:
            st.opens = tuple(t for t in st.opens if now - t < flap.window)
        return event
    return _publish(st, rule, now, held)


def status(state: SeriesState, rule: Rule, now: float, held: Suppression | None) -> Status:
    """The alerted picture of a firing fault at `now`: its escalated level, what suppresses
    it (a parent or a window first, then its own flapping) and whether it is stale."""
    level = state.base_level
    escalate = rule.escalate_s
    if escalate:
        level = max(1, level - int((now - state.since) // escalate))
    if held is None and state.flapping:
        held = Suppression.FLAPPING
    return (level, held, is_stale(state, rule, now))


def is_stale(state: SeriesState, rule: Rule, now: float) -> bool:
    return not state.absent and now - state.last_seen >= rule.stale_s


def resolution(state: SeriesState) -> SeriesEvent:
    """The event that resolves a firing fault: the level and suppression it was last told
    with (a fault that ends inside maintenance resolves as in maintenance), not stale."""
    last = state.emitted or (state.base_level, None, False)
    return SeriesEvent(FaultState.RESOLVED, last[0], last[1], False)


def mildest_level(rule: Rule, criticality: int) -> int:
    """The mildest level the rule can give the device: where a firing fault settles while
    its value is between the levels and the recovery condition."""
    levels = [criticality if level == CRITICALITY else level for level, _ in rule.levels]
    if rule.absent_s is not None:
        levels.append(_absent_level(rule, criticality))
    return max(levels)


def _absent_level(rule: Rule, criticality: int) -> int:
    level = rule.absent_level
    return criticality if level == CRITICALITY else level


def _fire(st: SeriesState, rule: Rule, now: float, criticality: int) -> None:
    st.phase = FIRING
    st.since = now
    st.base_level = st.cond_level or mildest_level(rule, criticality)
    st.milder_since = None
    st.clear_since = None
    flap = rule.flapping
    if flap is not None:
        st.opens = (*(t for t in st.opens if now - t < flap.window), now)
        if len(st.opens) >= flap.opens:
            st.flapping = True


def _firing(st: SeriesState, rule: Rule, now: float, criticality: int) -> SeriesEvent | None:
    if st.cond_level is None and st.cond_clear:
        st.milder_since = None
        if st.clear_since is None:
            st.clear_since = now
        flap = rule.flapping
        need = flap.settle if st.flapping and flap is not None else rule.clear_for_s
        if now - st.clear_since >= need and not is_stale(st, rule, now):
            event = resolution(st)
            st.phase = INACTIVE
            st.emitted = None
            if st.flapping:
                st.flapping = False
                st.opens = ()
            return event
        return None
    st.clear_since = None
    target = st.cond_level if st.cond_level is not None else mildest_level(rule, criticality)
    if target < st.base_level:
        st.base_level = target  # worse: at once
        st.milder_since = None
    elif target > st.base_level and not st.flapping:
        if st.milder_since is None:
            st.milder_since = now
            st.milder_level = target
        else:
            st.milder_level = min(st.milder_level, target)
        if now - st.milder_since >= rule.hold_s:
            st.base_level = st.milder_level
            st.milder_since = None
    else:
        st.milder_since = None
    return None


def _publish(
    st: SeriesState, rule: Rule, now: float, held: Suppression | None
) -> SeriesEvent | None:
    if st.phase != FIRING:
        return None
    picture = status(st, rule, now, held)
    if picture == st.emitted:
        return None
    st.emitted = picture
    return SeriesEvent(FaultState.FIRING, *picture)
