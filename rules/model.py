"""The compiled rule: what the loader produces and the engine evaluates.

A Rule is immutable and already checked; the engine never re-parses text. Levels are 1 (severe)
to 3 (minor); `CRITICALITY` stands for "the device's criticality from the inventory"."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from inventory.model import Device, Selector
from rules.conditions import Condition
from rules.expression import Expression
from rules.template import Template

CRITICALITY = 0  # a level key meaning "the device's criticality"
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Flapping:
    """A fault opening `opens` times within `window` seconds is held open as flapping until
    its condition has stayed clear for `settle` seconds."""

    opens: int = 4
    window: float = 3600.0
    settle: float = 900.0


@dataclass(frozen=True)
class Rule:
    name: str
    group: str
    metric: str  # the metric samples carry (for `rate(x)`, x)
    rate: bool = False  # evaluate the per-second rate of a counter instead of the value
    expression: Expression | None = None  # several metrics of a device, combined
    selector: Selector = field(default_factory=Selector)
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()  # sample label → globs
    levels: tuple[tuple[int, Condition], ...] = ()  # most severe first; CRITICALITY last
    for_s: float = 0.0
    clear: Condition | None = None
    clear_for_s: float = 0.0  # the recovery condition must hold this long
    hold_s: float = 0.0  # a milder level must hold this long before the level moves down
    absent_s: float | None = None
    absent_level: int = CRITICALITY
    escalate_s: float | None = None  # an open fault moves up one level after each such period
    stale_s: float = 300.0  # no sample for this long marks a firing fault stale
    flapping: Flapping | None = field(default_factory=Flapping)
    summary: dict[str, Template] = field(default_factory=dict)
    runbook: str | None = None
    # its metric comes from elsewhere than the configured probes (a trap, a sink's own figures,
    # another collector): `roomwatch check` does not look for a probe that produces it
    custom: bool = False
    file: str = ""
    line: int = 0
    col: int = 0

    @property
    def numeric(self) -> bool:
        """Every condition compares numbers, so a reading that is no number (NaN, "n/a")
        is missing data, not a recovery."""
        conditions = [c for _, c in self.levels]
        if self.clear is not None:
            conditions.append(self.clear)
        if self.rate or self.expression is not None:
            return True
        return bool(conditions) and all(c.numeric for c in conditions)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric whose samples this rule needs."""
        return self.expression.metrics if self.expression is not None else (self.metric,)

    @property
    def metric_text(self) -> str:
        if self.expression is not None:
            return self.expression.text
        return f"rate({self.metric})" if self.rate else self.metric

    def selects(self, device: Device) -> bool:
        return self.selector.matches(device)

    def wants_labels(self, labels: dict[str, str]) -> bool:
        for name, globs in self.where:
            value = labels.get(name)
            if value is None or not _globs(globs)(value):
                return False
        return True


class _GlobSet:
    """`fnmatchcase` against any of several patterns, as one compiled expression, with the
    answer remembered per value: a rule's `where` is asked for every port of every switch
    on every poll, and the same port names come back each time."""

    __slots__ = ("_known", "_match")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self._match = re.compile("|".join(fnmatch.translate(p) for p in patterns)).match
        self._known: dict[str, bool] = {}

    def __call__(self, value: str) -> bool:
        hit = self._known.get(value)
        if hit is None:
            if len(self._known) >= 10_000:  # bounded: a port name per entry
                self._known.clear()
            hit = self._known[value] = self._match(value) is not None
        return hit


_GLOB_SETS: dict[tuple[str, ...], _GlobSet] = {}


def _globs(patterns: tuple[str, ...]) -> _GlobSet:
    found = _GLOB_SETS.get(patterns)
    if found is None:
        if len(_GLOB_SETS) >= 1_000:  # rule files reloaded many times: start again
            _GLOB_SETS.clear()
        found = _GLOB_SETS[patterns] = _GlobSet(patterns)
    return found


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    files: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def by_name(self) -> dict[str, Rule]:
        return {r.name: r for r in self.rules}

    @classmethod
    def of(cls, rules: Sequence[Rule], files: Sequence[str] = ()) -> RuleSet:
        """`files`: every file read, also one that says `groups: []` on purpose."""
        return cls(tuple(rules), tuple(dict.fromkeys([*files, *(r.file for r in rules)])))
