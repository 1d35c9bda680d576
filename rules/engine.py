"""The rule engine: samples in, Fault events out, on injected time.

Per rule and series (device + labels) a small state machine runs:

    inactive ──condition──▶ pending ──held `for`──▶ firing ──recovery held `clear_for`──▶ inactive
                               └──condition gone: dropped, never notified

While firing, a worse level is taken at once, a milder one only after it has held for `hold`;
`escalate` moves an open fault up one level per period; no sample for `stale` marks it stale
(missing data never resolves a fault); a fault that opens `flapping.opens` times in
`flapping.window` is held open as flapping until it has been clear for `flapping.settle`.
Whether a firing fault is alerted is decided apart from its state: a parent device that is down
(`device.up` = 0, or back but the child not yet re-polled) suppresses it as a dependency, an
active maintenance window as maintenance. An event is emitted whenever the alerted picture of a
fault changes: it starts firing, changes level, suppression or staleness, or resolves.

Nothing here reads the clock or does I/O: `now` is passed in. Rules are indexed by metric, so a
sample meets only the rules that watch its metric."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from core.durations import format_duration
from core.sample import Sample, Value
from inventory.model import Device, Inventory
from rules.conditions import as_number
from rules.expression import Expression, Operand
from rules.fault import Fault, FaultState, Suppression, fault_key
from rules.maintenance import MaintenanceWindow
from rules.model import CRITICALITY, Rule, RuleSet

INACTIVE, PENDING, FIRING = 0, 1, 2
PHASES = ("inactive", "pending", "firing")
SNAPSHOT_VERSION = 1

LabelsKey = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, LabelsKey]
Status = tuple[int, Suppression | None, bool]


class _Series:
    """Mutable per-(rule, series) state; kept only while it matters (active, counting opens,
    or remembering a counter for rates)."""

    __slots__ = (
        "absent",
        "base_level",
        "clear_since",
        "cond_clear",
        "cond_level",
        "device",
        "emitted",
        "flapping",
        "key",
        "labels",
        "last_seen",
        "milder_level",
        "milder_since",
        "opens",
        "pending_since",
        "phase",
        "prev",
        "since",
        "value",
    )

    def __init__(self, device: str, labels: LabelsKey, now: float) -> None:
        self.device = device
        self.labels = labels
        self.key: SeriesKey = (device, labels)
        self.phase = INACTIVE
        self.cond_level: int | None = None  # level the latest observation matches
        self.cond_clear = True  # the recovery condition holds
        self.absent = False
        self.value: Value | None = None
        self.last_seen = now
        self.pending_since = 0.0
        self.since = 0.0
        self.base_level = 0
        self.milder_since: float | None = None
        self.milder_level = 0
        self.clear_since: float | None = None
        self.opens: list[float] = []
        self.flapping = False
        self.emitted: Status | None = None
        self.prev: tuple[float, float] | None = None  # (counter, ts) for rate()

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "labels": dict(self.labels),
            "phase": PHASES[self.phase],
            "cond_level": self.cond_level,
            "cond_clear": self.cond_clear,
            "absent": self.absent,
            "value": self.value,
            "last_seen": self.last_seen,
            "pending_since": self.pending_since,
            "since": self.since,
            "base_level": self.base_level,
            "milder_since": self.milder_since,
            "milder_level": self.milder_level,
            "clear_since": self.clear_since,
            "opens": list(self.opens),
            "flapping": self.flapping,
            "emitted": None
            if self.emitted is None
            else [self.emitted[0], self.emitted[1] and str(self.emitted[1]), self.emitted[2]],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Series:
        labels = tuple(sorted((str(k), str(v)) for k, v in data["labels"].items()))
        st = cls(str(data["device"]), labels, float(data["last_seen"]))
        st.phase = PHASES.index(data["phase"])
        st.cond_level = data["cond_level"]
        st.cond_clear = bool(data["cond_clear"])
        st.absent = bool(data["absent"])
        st.value = data["value"]
        st.pending_since = float(data["pending_since"])
        st.since = float(data["since"])
        st.base_level = int(data["base_level"])
        st.milder_since = data["milder_since"]
        st.milder_level = int(data["milder_level"])
        st.clear_since = data["clear_since"]
        st.opens = [float(t) for t in data["opens"]]
        st.flapping = bool(data["flapping"])
        emitted = data["emitted"]
        if emitted is not None:
            sup = Suppression(emitted[1]) if emitted[1] else None
            st.emitted = (int(emitted[0]), sup, bool(emitted[2]))
        return st


class _Bound:
    """A rule bound to the inventory: the devices it selects and its series states."""

    __slots__ = (
        "active",
        "counters",
        "crit",
        "devices",
        "epoch",
        "latest",
        "numeric",
        "rule",
        "seen",
        "states",
    )

    def __init__(self, rule: Rule, inventory: Inventory) -> None:
        self.rule = rule
        self.devices: dict[str, Device] = {
            d.id: d for d in inventory.devices.values() if rule.selects(d)
        }
        self.crit = any(level == CRITICALITY for level, _ in rule.levels)
        self.numeric = rule.numeric
        # Expression rules: the latest reading of each operand per series, and counters.
        self.latest: dict[SeriesKey, dict[Operand, tuple[float, float]]] = {}
        self.counters: dict[tuple[SeriesKey, str], tuple[float, float]] = {}
        self.states: dict[SeriesKey, _Series] = {}
        self.active: dict[SeriesKey, _Series] = {}  # pending or firing
        self.seen: dict[str, float] = {}  # device → last sample (rules with `absent`)
        self.epoch: float | None = None  # when absence clocks started


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
        self._up: dict[str, bool] = {}  # device → answering (any of its probes answers)
        self._probe_up: dict[str, dict[LabelsKey, bool]] = {}  # device → probe labels → up
        self._back_at: dict[str, float] = {}  # device → when it last came back up
        self._windows: list[tuple[MaintenanceWindow, frozenset[str]]] = []
        self._window_list = list(windows)
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
        self._ancestors = {d: tuple(inventory.ancestors(d)) for d in inventory.devices}
        self._index_windows()

    def _index_windows(self) -> None:
        self._windows = [
            (w, frozenset(d.id for d in self.inventory.devices.values() if w.selects(d)))
            for w in self._window_list
        ]

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
            b.latest = {k: v for k, v in prev.latest.items() if k[0] in b.devices}
            b.counters = {k: v for k, v in prev.counters.items() if k[0][0] in b.devices}
            for key, st in prev.states.items():
                if st.device in b.devices and b.rule.wants_labels(dict(st.labels)):
                    b.states[key] = st
                    if st.phase != INACTIVE:
                        b.active[key] = st
                elif st.phase == FIRING:
                    self._queued.append(self._resolved(prev, st, self._now))
        for prev in old.values():
            for st in prev.active.values():
                if st.phase == FIRING:
                    self._queued.append(self._resolved(prev, st, self._now))

    def set_maintenance(self, windows: Sequence[MaintenanceWindow]) -> None:
        """Replace the maintenance windows; suppression changes come out of the next tick."""
        self._window_list = list(windows)
        self._index_windows()

    # -- evaluation ----------------------------------------------------------------------

    def observe(self, samples: Sequence[Sample], now: float) -> list[Fault]:
        """Evaluate a batch of samples at `now`; returns the fault events it causes."""
        self._now = now
        events = self._take_queued()
        up_changed = False
        for s in samples:
            if s.metric == "device.up":
                up_changed |= self._note_up(s, now)
        by_metric = self._by_metric
        for s in samples:
            bound = by_metric.get(s.metric)
            if bound is None:
                continue
            for b in bound:
                if s.device in b.devices:
                    self._sample(b, s, now, events)
        if up_changed:  # children of a device that went down or came back
            for b in self._bound:
                for st in list(b.active.values()):
                    self._publish(b, st, now, events)
        return events

    def tick(self, now: float) -> list[Fault]:
        """Advance timers to `now`: `for`, `absent`, staleness, clear and hold times,
        escalation, maintenance windows starting or ending, flapping settling."""
        self._now = now
        events = self._take_queued()
        for b in self._bound:
            if b.rule.absent_s is not None:
                self._check_absence(b, now, events)
            for st in list(b.active.values()):
                self._advance(b, st, now, events)
        return events

    def faults(self, now: float) -> list[FaultView]:
        """Every pending or firing fault, as it stands at `now`."""
        out = []
        for b in self._bound:
            for st in b.active.values():
                level, sup, stale = self._status(b, st, now)
                if st.phase == PENDING:
                    level = st.cond_level or 0
                summary = self._fault(b, st, FaultState.FIRING, (level, sup, stale), now).summary
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
                        summary=summary,
                    )
                )
        return out

    def _take_queued(self) -> list[Fault]:
        events, self._queued = self._queued, []
        return events

    def _note_up(self, s: Sample, now: float) -> bool:
        # A device with several probes emits one device.up per probe (labelled by it); it is
        # down, for its children, only when none of them gets an answer.
        number = as_number(s.value)
        device = s.device
        probes = self._probe_up.setdefault(device, {})
        probes[tuple(sorted(s.labels.items())) if s.labels else ()] = (
            number is not None and number > 0
        )
        up = any(probes.values())
        was = self._up.get(device)
        self._up[device] = up
        if up and was is False:
            self._back_at[device] = now
        return was is not up

    def _sample(self, b: _Bound, s: Sample, now: float, events: list[Fault]) -> None:
        rule = b.rule
        labels = s.labels
        if rule.where and not rule.wants_labels(labels):
            return
        lkey: LabelsKey = tuple(sorted(labels.items())) if labels else ()
        key = (s.device, lkey)
        st = b.states.get(key)
        if rule.absent_s is not None:
            b.seen[s.device] = now
            if lkey:
                self._end_absence(b, s.device, now, events)
        value: Value = s.value
        if b.numeric and type(value) is not int and as_number(value) is None:
            return  # NaN or text where a number belongs: missing data never clears a fault
        if rule.expression is not None:
            combined = self._combine(b, rule.expression, s, key, now)
            if combined is None:
                return
            value = combined
        elif rule.rate:
            if st is None:
                st = b.states[key] = _Series(s.device, lkey, now)
            rate = self._rate(st, s, now)
            if rate is None:
                st.last_seen = now
                return
            value = rate
        level = self._match(b, value, s.device)
        if st is None:
            if level is None:
                return  # the common case: nothing wrong and nothing to remember
            st = b.states[key] = _Series(s.device, lkey, now)
        st.value = value
        st.last_seen = now
        st.absent = False
        st.cond_level = level
        clear = rule.clear
        st.cond_clear = level is None and (clear is None or clear.test(value))
        self._advance(b, st, now, events)

    @staticmethod
    def _rate(st: _Series, s: Sample, now: float) -> float | None:
        counter = as_number(s.value)
        if counter is None:
            return None
        ts = s.ts if s.ts > 0 else now
        prev, st.prev = st.prev, (counter, ts)
        if prev is None or ts <= prev[1] or counter < prev[0]:
            return None  # first reading, or the counter wrapped / the device rebooted
        return (counter - prev[0]) / (ts - prev[1])

    def _combine(
        self, b: _Bound, expression: Expression, s: Sample, key: SeriesKey, now: float
    ) -> float | None:
        """The expression's value with this sample and the latest readings of the other
        operands of the same series (None while one is missing or stale)."""
        number = as_number(s.value)
        if number is None:
            return None
        env = b.latest.setdefault(key, {})
        for operand in expression.operands:
            name, is_rate = operand
            if name != s.metric:
                continue
            if not is_rate:
                env[operand] = (number, now)
                continue
            ts = s.ts if s.ts > 0 else now
            prev = b.counters.get((key, name))
            b.counters[(key, name)] = (number, ts)
            if prev is not None and ts > prev[1] and number >= prev[0]:
                env[operand] = ((number - prev[0]) / (ts - prev[1]), now)
        values: dict[Operand, float] = {}
        for operand in expression.operands:
            got = env.get(operand)
            if got is None or now - got[1] >= b.rule.stale_s:
                return None
            values[operand] = got[0]
        try:
            result = expression.evaluate(values)
        except ZeroDivisionError:
            return None
        return result if math.isfinite(result) else None

    def _match(self, b: _Bound, value: Value, device: str) -> int | None:
        best: int | None = None
        for level, cond in b.rule.levels:
            if cond.test(value):
                if level != CRITICALITY:
                    if not b.crit:
                        return level
                    best = level if best is None else min(best, level)
                else:
                    crit = b.devices[device].criticality
                    best = crit if best is None else min(best, crit)
        return best

    def _mildest(self, b: _Bound, device: str) -> int:
        levels = [
            b.devices[device].criticality if lvl == CRITICALITY else lvl for lvl, _ in b.rule.levels
        ]
        if b.rule.absent_s is not None:
            levels.append(self._absent_level(b, device))
        return max(levels)

    def _absent_level(self, b: _Bound, device: str) -> int:
        level = b.rule.absent_level
        return b.devices[device].criticality if level == CRITICALITY else level

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
                st = b.states[key] = _Series(device, (), last)
            if not st.absent:
                st.absent = True
                st.cond_level = self._absent_level(b, device)
                st.cond_clear = False
                self._advance(b, st, now, events)

    def _end_absence(self, b: _Bound, device: str, now: float, events: list[Fault]) -> None:
        st = b.states.get((device, ()))
        if st is not None and st.absent:
            st.absent = False
            st.cond_level = None
            st.cond_clear = True
            st.last_seen = now
            self._advance(b, st, now, events)

    def _stale(self, b: _Bound, st: _Series, now: float) -> bool:
        return not st.absent and now - st.last_seen >= b.rule.stale_s

    def _advance(self, b: _Bound, st: _Series, now: float, events: list[Fault]) -> None:
        rule = b.rule
        if st.phase == INACTIVE and st.cond_level is not None:
            st.phase = PENDING
            st.pending_since = now
        if st.phase == PENDING:
            if st.cond_level is None:
                st.phase = INACTIVE  # cleared before its `for`: dropped, never notified
            elif self._stale(b, st, now):
                st.phase = INACTIVE  # no readings to confirm it: start over when they return
            elif now - st.pending_since >= rule.for_s:
                self._fire(b, st, now)
        elif st.phase == FIRING:
            self._firing(b, st, now, events)
        if st.phase == INACTIVE:
            b.active.pop(st.key, None)
            flap = rule.flapping
            if st.opens and flap is not None:
                st.opens = [t for t in st.opens if now - t < flap.window]
            if not st.opens and st.prev is None and not (rule.absent_s and st.absent):
                b.states.pop(st.key, None)
            return
        b.active[st.key] = st
        self._publish(b, st, now, events)

    def _fire(self, b: _Bound, st: _Series, now: float) -> None:
        st.phase = FIRING
        st.since = now
        st.base_level = st.cond_level or self._mildest(b, st.device)
        st.milder_since = None
        st.clear_since = None
        flap = b.rule.flapping
        if flap is not None:
            st.opens = [t for t in st.opens if now - t < flap.window]
            st.opens.append(now)
            if len(st.opens) >= flap.opens:
                st.flapping = True

    def _firing(self, b: _Bound, st: _Series, now: float, events: list[Fault]) -> None:
        rule = b.rule
        if st.cond_level is None and st.cond_clear:
            st.milder_since = None
            if st.clear_since is None:
                st.clear_since = now
            flap = rule.flapping
            need = flap.settle if st.flapping and flap is not None else rule.clear_for_s
            if now - st.clear_since >= need and not self._stale(b, st, now):
                events.append(self._resolved(b, st, now))
                st.phase = INACTIVE
                st.emitted = None
                if st.flapping:
                    st.flapping = False
                    st.opens = []
            return
        st.clear_since = None
        target = st.cond_level if st.cond_level is not None else self._mildest(b, st.device)
        if target < st.base_level:
            st.base_level = target
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

    def _status(self, b: _Bound, st: _Series, now: float) -> Status:
        level = st.base_level
        escalate = b.rule.escalate_s
        if escalate:
            level = max(1, level - int((now - st.since) // escalate))
        return (level, self._suppression(b, st, now), self._stale(b, st, now))

    def _suppression(self, b: _Bound, st: _Series, now: float) -> Suppression | None:
        for parent in self._ancestors.get(st.device, ()):
            if self._up.get(parent) is False:
                return Suppression.DEPENDENCY
            back = self._back_at.get(parent)
            # Back up, but this child has not been polled since: its fault may be an echo of
            # the outage, so it stays suppressed until it is re-evaluated (or goes stale).
            if back is not None and st.last_seen < back and now - back < b.rule.stale_s:
                return Suppression.DEPENDENCY
        for window, devices in self._windows:
            if st.device in devices and window.active(now):
                return Suppression.MAINTENANCE
        if st.flapping:
            return Suppression.FLAPPING
        return None

    def _publish(self, b: _Bound, st: _Series, now: float, events: list[Fault]) -> None:
        if st.phase != FIRING:
            return
        status = self._status(b, st, now)
        if status != st.emitted:
            st.emitted = status
            events.append(self._fault(b, st, FaultState.FIRING, status, now))

    def _resolved(self, b: _Bound, st: _Series, now: float) -> Fault:
        last = st.emitted or (st.base_level, None, False)
        return self._fault(b, st, FaultState.RESOLVED, (last[0], last[1], False), now)

    def _fault(
        self, b: _Bound, st: _Series, state: FaultState, status: Status, now: float
    ) -> Fault:
        rule = b.rule
        level, suppressed, stale = status
        device = b.devices.get(st.device) or self.inventory.devices.get(st.device)
        labels = dict(st.labels)
        start = st.pending_since
        if st.absent:  # silence has lasted since the device's last sample of the metric
            start = min(start, b.seen.get(st.device, b.epoch if b.epoch is not None else start))
        fields: dict[str, object] = {
            "value": st.value,
            "level": level,
            "rule": rule.name,
            "group": rule.group,
            "metric": rule.metric_text,
            # how long the condition has held, its `for` included: the first alert of a
            # fault that held 2 minutes says "for 2m", not "for 0s"
            "duration": format_duration(max(0.0, now - start)),
            "state": str(state),
        }
        if device is not None:
            fields.update(
                {
                    "device.id": device.id,
                    "device.name": device.name,
                    "device.site": device.site,
                    "device.room": device.room,
                    "device.kind": device.kind,
                    "device.criticality": device.criticality,
                }
            )
            for k, v in device.labels.items():
                fields[f"device.labels.{k}"] = v
        for k, v in labels.items():
            fields[f"labels.{k}"] = v
        return Fault(
            key=fault_key(rule.name, st.device, labels),
            rule=rule.name,
            group=rule.group,
            device=st.device,
            metric=rule.metric_text,
            level=level,
            state=state,
            value=st.value,
            since=st.since,
            ts=now,
            labels=labels,
            site=device.site if device is not None else None,
            summary={lang: t.render(fields) for lang, t in rule.summary.items()},
            runbook=rule.runbook,
            suppressed=suppressed,
            stale=stale,
        )

    # -- persistence ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The state worth keeping across a restart (pending timers, open faults, flapping
        history, absence clocks, which devices are down), as plain JSON data."""
        rules: dict[str, Any] = {}
        for b in self._bound:
            series = [st.to_json() for st in b.states.values() if st.phase != INACTIVE or st.opens]
            if series or b.seen:
                rules[b.rule.name] = {"epoch": b.epoch, "seen": dict(b.seen), "series": series}
        return {
            "version": SNAPSHOT_VERSION,
            "now": self._now,
            "up": {d: [up, self._back_at.get(d)] for d, up in self._up.items()},
            "probe_up": {
                d: [[dict(k), v] for k, v in probes.items()] for d, probes in self._probe_up.items()
            },
            "rules": rules,
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Take back a snapshot (of this or an older rule set: unknown rules and devices are
        skipped). Restored firing faults are not announced again."""
        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unknown engine snapshot version {data.get('version')!r}")
        self._now = max(self._now, float(data.get("now") or 0.0))
        for device, (up, back) in data.get("up", {}).items():
            self._up[device] = bool(up)
            if back is not None:
                self._back_at[device] = float(back)
        for device, entries in data.get("probe_up", {}).items():
            self._probe_up[device] = {
                tuple(sorted((str(k), str(v)) for k, v in labels.items())): bool(up)
                for labels, up in entries
            }
        by_name = {b.rule.name: b for b in self._bound}
        for name, saved in data.get("rules", {}).items():
            b = by_name.get(name)
            if b is None:
                continue
            b.epoch = saved.get("epoch")
            b.seen = {d: float(t) for d, t in saved.get("seen", {}).items() if d in b.devices}
            for raw in saved.get("series", []):
                st = _Series.from_json(raw)
                if st.device not in b.devices:
                    continue
                b.states[st.key] = st
                if st.phase != INACTIVE:
                    b.active[st.key] = st

    def rules_for(self, metric: str) -> Iterable[Rule]:
        """The rules a sample of `metric` meets."""
        return [b.rule for b in self._by_metric.get(metric, ())]
