"""What a sample is worth to a rule: its value, the per-second rate of a counter, or an
expression over several metrics of the same series, and the level that value matches.

A rule bound to the inventory keeps one `Readings`: the last counter reading of every series
for `rate()`, and the latest reading of every operand for expressions. A missing or stale
operand, a counter seen for the first time or going backwards (a wrap, a reboot), a division by
zero: no value, which is missing data, never a recovery."""

from __future__ import annotations

import math
from collections.abc import Callable, Container

from core.sample import Sample, Value
from inventory.model import Device
from rules.conditions import as_number
from rules.expression import Expression, Operand
from rules.model import CRITICALITY, Rule
from rules.statemachine import LabelsKey

SeriesKey = tuple[str, LabelsKey]


class Readings:
    __slots__ = ("counters", "crit", "latest", "rates", "rule")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.crit = any(level == CRITICALITY for level, _ in rule.levels)
        self.rates: dict[SeriesKey, tuple[float, float]] = {}  # rate(): (counter, ts)
        # Expressions: the latest value of each operand per series, and counters of rate().
        self.latest: dict[SeriesKey, dict[Operand, tuple[float, float]]] = {}
        self.counters: dict[tuple[SeriesKey, str], tuple[float, float]] = {}

    def keep_from(
        self, old: Readings, devices: Container[str], wanted: Callable[[SeriesKey], bool]
    ) -> None:
        """After a reload, take over what the rule of the same name remembered: counters of
        the series still `wanted`, operands of the devices it still selects."""
        self.rates = {k: v for k, v in old.rates.items() if wanted(k)}
        self.latest = {k: v for k, v in old.latest.items() if k[0] in devices}
        self.counters = {k: v for k, v in old.counters.items() if k[0][0] in devices}

    def rate(self, key: SeriesKey, s: Sample, now: float) -> float | None:
        counter = as_number(s.value)
        if counter is None:
            return None
        ts = s.ts if s.ts > 0 else now
        prev = self.rates.get(key)
        self.rates[key] = (counter, ts)
        if prev is None or ts <= prev[1] or counter < prev[0]:
            return None  # first reading, or the counter wrapped / the device rebooted
        return (counter - prev[0]) / (ts - prev[1])

    def combine(
        self, expression: Expression, s: Sample, key: SeriesKey, now: float
    ) -> float | None:
        """The expression's value with this sample and the latest readings of the other
        operands of the same series (None while one is missing or stale)."""
        number = as_number(s.value)
        if number is None:
            return None
        env = self.latest.setdefault(key, {})
        for operand in expression.operands:
            name, is_rate = operand
            if name != s.metric:
                continue
            if not is_rate:
                env[operand] = (number, now)
                continue
            ts = s.ts if s.ts > 0 else now
            prev = self.counters.get((key, name))
            self.counters[(key, name)] = (number, ts)
            if prev is not None and ts > prev[1] and number >= prev[0]:
                env[operand] = ((number - prev[0]) / (ts - prev[1]), now)
        values: dict[Operand, float] = {}
        stale_s = self.rule.stale_s
        for operand in expression.operands:
            got = env.get(operand)
            if got is None or now - got[1] >= stale_s:
                return None
            values[operand] = got[0]
        try:
            result = expression.evaluate(values)
        except ZeroDivisionError:
            return None
        return result if math.isfinite(result) else None

    def level(self, value: Value, device: Device) -> int | None:
        """The most severe level whose condition the value meets (None: none does)."""
        best: int | None = None
        for level, cond in self.rule.levels:
            if cond.test(value):
                if level != CRITICALITY:
                    if not self.crit:
                        return level  # levels are most severe first
                    best = level if best is None else min(best, level)
                else:
                    crit = device.criticality
                    best = crit if best is None else min(best, crit)
        return best
