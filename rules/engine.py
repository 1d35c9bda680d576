"""The rule engine: samples in, Fault events out, on injected time.

The engine orchestrates; the pieces live apart:

- which rules a sample meets (rules are indexed by metric, then by the devices they select)
  and which series it belongs to: here;
- what its value is for the rule (a rate of a counter, an expression over several metrics) and
  which level it matches: rules/readings.py;
- how each series (rule × device × labels) moves through inactive → pending → firing → cleared,
  with `for`, hysteresis, hold, escalation, staleness, absence and flapping: rules/statemachine.py
  (a pure `step`; the engine, which owns its states, runs the same transition in place);
- whether a firing fault is held from alerting by a down parent or a maintenance window:
  rules/suppression.py;
- the Fault alerting receives for a series event (summary, device fields): rules/faultevent.py;
- what survives a restart: rules/snapshot.py (the typed, versioned snapshot) and
  rules/statefile.py (the file).

An event is emitted whenever the alerted picture of a fault changes: it starts firing, changes
level, suppression or staleness, or resolves. Nothing here reads the clock or does I/O: `now` is
passed in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.sample import Sample, Value
from inventory.model import Device, Inventory
from rules import snapshot as snap
from rules.conditions import as_number
from rules.fault import Fault, FaultState, Suppression, fault_key
from rules.faultevent import fault_of
from rules.maintenance import MaintenanceWindow
from rules.model import Rule, RuleSet
from rules.readings import Readings, SeriesKey
from rules.statemachine import (
    ABSENT,
    BACK,
    FIRING,
    INACTIVE,
    PENDING,
    PHASES,
    READING,
    RECHECK,
    SEEN,
    TICK,
    LabelsKey,
    SeriesEvent,
    SeriesState,
    apply,
    may_fire,
    resolution,
    status,
    worth_keeping,
)
from rules.suppression import Suppressor


class _Bound:
    """A rule bound to the inventory: the devices it selects and its series states."""

    __slots__ = ("active", "devices", "epoch", "numeric", "readings", "rule", "seen", "states")

    def __init__(self, rule: Rule, inventory: Inventory) -> None:
        self.rule = rule
        self.devices: dict[str, Device] = {
            d.id: d for d in inventory.devices.values() if rule.selects(d)
        }
        self.numeric = rule.numeric
        self.readings = Readings(rule)
        # Only series worth keeping (statemachine.worth_keeping): pending, firing, counting
        # opens towards flapping, or absent. Nothing wrong and nothing to remember: no state.
        # But a rate() series keeps one from its first counter reading on, while its counter
        # is remembered (readings.rates), as it always has: its last rate is then the value
        # an absence fault of the rule shows, and series keep their order (events too).
        self.states: dict[SeriesKey, SeriesState] = {}
        self.active: dict[SeriesKey, SeriesState] = {}  # pending or firing
        self.seen: dict[str, float] = {}  # device → last sample (rules with `absent`)
        self.epoch: float | None = None  # when absence clocks started

    def wants(self, key: SeriesKey) -> bool:
        """Whether the series (device, labels) is one this rule watches."""
        return key[0] in self.devices and self.rule.wants_labels(dict(key[1]))


@dataclass(frozen=True)
class FaultView:
    """A pending or firing fault as it stands (for `rules test`, status pages)."""

    key: str
    rule: str
    device: str
    labels: dict[str, str]
    phase: str  # "pending" | "firing"
    level: int
    value: Value | None
    since: float
    suppressed: Suppression | None
    stale: bool
    summary: dict[str, str]


class Engine:
    def __init__(
        self,
        ruleset: RuleSet,
        inventory: Inventory,
        windows: Sequence[MaintenanceWindow] = (),
    ) -> None:
        self._now = 0.0
        self._queued: list[Fault] = []
        self._suppressor = Suppressor(inventory, windows)
        self._device_records = snap.DeviceRecords()
        # the device records of the last snapshot, and the suppressor's version they are of
        self._devices_saved: tuple[int, dict[str, snap.DeviceRecord]] | None = None
        self._bind(ruleset, inventory)

    # -- configuration -------------------------------------------------------------------

    def _bind(self, ruleset: RuleSet, inventory: Inventory) -> None:
        self.ruleset = ruleset
        self.inventory = inventory
        self._bound = [_Bound(rule, inventory) for rule in ruleset]
        self._by_metric: dict[str, list[_Bound]] = {}
        for b in self._bound:
            for metric in b.rule.metrics:
                self._by_metric.setdefault(metric, []).append(b)
        self._suppressor.bind(inventory)

    def replace(self, ruleset: RuleSet, inventory: Inventory) -> None:
        """Swap in reloaded rules and inventory, keeping the state of every rule (by name) and
        series that still exists. Firing faults whose rule or device is gone resolve; their
        events come out of the next `observe` or `tick`."""
        old = {b.rule.name: b for b in self._bound}
        self._bind(ruleset, inventory)
        for b in self._bound:
            prev = old.pop(b.rule.name, None)
            if prev is None:
                continue
            b.epoch = prev.epoch
            b.seen = {d: t for d, t in prev.seen.items() if d in b.devices}
            wanted = b.wants
            b.readings.keep_from(prev.readings, b.devices, wanted)
            for key, st in prev.states.items():
                if wanted(key):
                    b.states[key] = st
                    if st.phase != INACTIVE:
                        b.active[key] = st
                elif st.phase == FIRING:
                    self._queued.append(self._fault(prev, st, resolution(st), self._now))
        for prev in old.values():
            for st in prev.active.values():
                if st.phase == FIRING:
                    self._queued.append(self._fault(prev, st, resolution(st), self._now))

    def set_maintenance(self, windows: Sequence[MaintenanceWindow]) -> None:
        """Replace the maintenance windows; suppression changes come out of the next tick."""
        self._suppressor.set_windows(windows)

    # -- evaluation ----------------------------------------------------------------------

    def observe(self, samples: Sequence[Sample], now: float) -> list[Fault]:
        """Evaluate a batch of samples at `now`; returns the fault events it causes."""
        self._now = now
        events = self._take_queued()
        up_changed = False
        for s in samples:
            if s.metric == "device.up":
                up_changed |= self._suppressor.note_up(s, now)
        by_metric = self._by_metric
        for s in samples:
            bound = by_metric.get(s.metric)
            if bound is None:
                continue
            for b in bound:
                if s.device in b.devices:  # `in`, not .get(): this runs per sample and rule
                    self._sample(b, s, now, events)
        if up_changed:  # children of a device that went down or came back
            for b in self._bound:
                for key, st in list(b.active.items()):
                    self._rerun(b, key, st, RECHECK, now, events)
        return events

    def tick(self, now: float) -> list[Fault]:
        """Advance timers to `now`: `for`, `absent`, staleness, clear and hold times,
        escalation, maintenance windows starting or ending, flapping settling."""
        self._now = now
        events = self._take_queued()
        for b in self._bound:
            if b.rule.absent_s is not None:
                self._check_absence(b, now, events)
            stale_s, devices = b.rule.stale_s, b.devices
            for key, st in list(b.active.items()):
                held = self._suppressor.held(st.device, st.last_seen, now, stale_s)
                self._step(b, key, st, now, events, TICK, devices[st.device].criticality, held)
        return events

    def faults(self, now: float) -> list[FaultView]:
        """Every pending or firing fault, as it stands at `now`."""
        out = []
        for b in self._bound:
            for st in b.active.values():
                held = self._suppressor.held(st.device, st.last_seen, now, b.rule.stale_s)
                level, sup, stale = status(st, b.rule, now, held)
                if st.phase == PENDING:
                    level = st.cond_level or 0
                picture = SeriesEvent(FaultState.FIRING, level, sup, stale)
                out.append(
                    FaultView(
                        key=fault_key(b.rule.name, st.device, dict(st.labels)),
                        rule=b.rule.name,
                        device=st.device,
                        labels=dict(st.labels),
                        phase=PHASES[st.phase],
                        level=level,
                        value=st.value,
                        since=st.pending_since if st.phase == PENDING else st.since,
                        suppressed=sup,
                        stale=stale,
                        summary=self._fault(b, st, picture, now).summary,
                    )
                )
        return out

    def firing(self, now: float) -> list[Fault]:
        """Every firing fault as an event, as it stands at `now` (alerting asks after a person
        resolved an incident by hand, to see whether its condition still holds)."""
        out = []
        for b in self._bound:
            for st in b.active.values():
                if st.phase != FIRING:
                    continue
                held = self._suppressor.held(st.device, st.last_seen, now, b.rule.stale_s)
                level, sup, stale = status(st, b.rule, now, held)
                out.append(
                    self._fault(b, st, SeriesEvent(FaultState.FIRING, level, sup, stale), now)
                )
        return out

    def _take_queued(self) -> list[Fault]:
        events, self._queued = self._queued, []
        return events

    def _step(
        self,
        b: _Bound,
        key: SeriesKey,
        st: SeriesState,
        now: float,
        events: list[Fault],
        kind: int,
        criticality: int,
        held: Suppression | None = None,
        value: Value | None = None,
        level: int | None = None,
        clear: bool = False,
    ) -> None:
        """One step of a series' state machine, kept in the engine's maps. In place
        (statemachine.apply, not step), the observation as separate arguments: the engine
        owns `st`, and a copy and an Observation per sample are a good part of its cost."""
        event = apply(st, b.rule, now, kind, criticality, held, value, level, clear)
        if st.phase == INACTIVE:
            b.active.pop(key, None)
            if not worth_keeping(st, b.rule) and not (b.rule.rate and key in b.readings.rates):
                b.states.pop(key, None)
        else:
            b.active[key] = st
        if event is not None:
            events.append(self._fault(b, st, event, now))

    def _rerun(
        self, b: _Bound, key: SeriesKey, st: SeriesState, kind: int, now: float, events: list[Fault]
    ) -> None:
        """A TICK or RECHECK of an active series: nothing read, the world around it moved."""
        held = self._suppressor.held(st.device, st.last_seen, now, b.rule.stale_s)
        self._step(b, key, st, now, events, kind, b.devices[st.device].criticality, held)

    def _sample(self, b: _Bound, s: Sample, now: float, events: list[Fault]) -> None:
        rule = b.rule
        labels = s.labels
        if rule.where and not rule.wants_labels(labels):
            return
        lkey: LabelsKey = tuple(sorted(labels.items())) if labels else ()
        key = (s.device, lkey)
        if rule.absent_s is not None:
            b.seen[s.device] = now
            if lkey:
                self._end_absence(b, s.device, now, events)
        value: Value = s.value
        if b.numeric and type(value) is not int and as_number(value) is None:
            return  # NaN or text where a number belongs: missing data never clears a fault
        st = b.states.get(key)
        if rule.expression is not None:
            combined = b.readings.combine(rule.expression, s, key, now)
            if combined is None:
                return
            value = combined
        elif rule.rate:
            if st is None:  # see _Bound.states
                st = b.states[key] = SeriesState(s.device, lkey, now)
            rate = b.readings.rate(key, s, now)
            if rate is None:
                # it answered: not stale, though there is no rate (yet)
                self._step(b, key, st, now, events, SEEN, 0)
                return
            value = rate
        device = b.devices[s.device]
        level = b.readings.level(value, device)
        if st is None:
            if level is None:
                return  # the common case: nothing wrong and nothing to remember
            st = b.states[key] = SeriesState(s.device, lkey, now)
        clear = rule.clear
        recovered = level is None and (clear is None or clear.test(value))
        # The series is read at `now`: that is the time its parents' return is compared to.
        held = None
        if may_fire(st, level):
            held = self._suppressor.held(s.device, now, now, rule.stale_s)
        self._step(
            b, key, st, now, events, READING, device.criticality, held, value, level, recovered
        )

    def _check_absence(self, b: _Bound, now: float, events: list[Fault]) -> None:
        if b.epoch is None:
            b.epoch = now
        limit = b.rule.absent_s or 0.0
        for device in b.devices:
            last = b.seen.get(device, b.epoch)
            if now - last < limit:
                continue
            key: SeriesKey = (device, ())
            st = b.states.get(key)
            if st is None:
                st = b.states[key] = SeriesState(device, (), last)
            if not st.absent:
                held = self._suppressor.held(device, st.last_seen, now, b.rule.stale_s)
                self._step(b, key, st, now, events, ABSENT, b.devices[device].criticality, held)

    def _end_absence(self, b: _Bound, device: str, now: float, events: list[Fault]) -> None:
        key: SeriesKey = (device, ())
        st = b.states.get(key)
        if st is not None and st.absent:
            held = self._suppressor.held(device, now, now, b.rule.stale_s)
            self._step(b, key, st, now, events, BACK, b.devices[device].criticality, held)

    def _fault(self, b: _Bound, st: SeriesState, event: SeriesEvent, now: float) -> Fault:
        device = b.devices.get(st.device) or self.inventory.devices.get(st.device)
        start = st.pending_since
        if st.absent:  # silence has lasted since the device's last sample of the metric
            start = min(start, b.seen.get(st.device, b.epoch if b.epoch is not None else start))
        return fault_of(b.rule, device, st, event, start, now)

    # -- persistence ---------------------------------------------------------------------

    def snapshot(self) -> snap.Snapshot:
        """The state worth keeping across a restart (pending timers, open faults, flapping
        history, absence clocks, which devices are down)."""
        rules: dict[str, snap.RuleRecord] = {}
        for b in self._bound:
            series = [
                snap.record_of(st) for st in b.states.values() if st.phase != INACTIVE or st.opens
            ]
            if series or b.seen:
                rules[b.rule.name] = snap.RuleRecord(epoch=b.epoch, seen=b.seen, series=series)
        version = self._suppressor.version
        if self._devices_saved is None or self._devices_saved[0] != version:
            records = self._device_records(self._suppressor.reachability())
            self._devices_saved = (version, records)
        return snap.Snapshot(now=self._now, devices=self._devices_saved[1], rules=rules)

    def restore(self, saved: snap.Snapshot) -> None:
        """Take back a snapshot (of this or an older rule set: unknown rules and devices are
        skipped). Restored firing faults are not announced again."""
        self._now = max(self._now, saved.now)
        self._suppressor.restore(snap.reachability_of(saved.devices))
        by_name = {b.rule.name: b for b in self._bound}
        for name, record in saved.rules.items():
            b = by_name.get(name)
            if b is None:
                continue
            b.epoch = record.epoch
            b.seen = {d: t for d, t in record.seen.items() if d in b.devices}
            for series in record.series:
                st = snap.state_of(series)
                if st.device not in b.devices:
                    continue
                key = (st.device, st.labels)
                b.states[key] = st
                if st.phase != INACTIVE:
                    b.active[key] = st

    def rules_for(self, metric: str) -> Iterable[Rule]:
        """The rules a sample of `metric` meets."""
        return [b.rule for b in self._by_metric.get(metric, ())]
