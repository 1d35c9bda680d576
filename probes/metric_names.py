"""What metrics a configured probe can produce, so `roomwatch check` can warn about a rule on a
metric nothing produces (`http.upp` never fires, and nobody would know).

A probe class answers `metric_names(settings)` with a `MetricNames`: the exact names it can
emit, and name prefixes for probes whose device decides (upsd serves whatever variables its
driver has, all in NUT's namespaces). The default, for a probe that does not say, is "anything",
which is never warned about. Profile-driven probes read their names from the profile data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

# Every poll of every device yields these (DESIGN §3).
EVERY_DEVICE = frozenset({"device.up", "device.poll_seconds"})


@dataclass(frozen=True)
class MetricNames:
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()  # any metric starting with one of these ("" is anything)

    @classmethod
    def anything(cls) -> MetricNames:
        return cls(prefixes=("",))

    def covers(self, metric: str) -> bool:
        return metric in self.names or any(metric.startswith(p) for p in self.prefixes)

    def __or__(self, other: MetricNames) -> MetricNames:
        return MetricNames(
            self.names | other.names, tuple(dict.fromkeys((*self.prefixes, *other.prefixes)))
        )

    @classmethod
    def union(cls, parts: Iterable[MetricNames]) -> MetricNames:
        out = cls()
        for part in parts:
            out = out | part
        return out


def names_in_profile(profile: BaseModel | dict[str, Any]) -> frozenset[str]:
    """The metric names a profile (any of ours: SNMP, Modbus, serial) writes: the value of every
    `metric` key and of `name` where it names a reading, and `<name>.rate` where a metric asks
    for its rate. Reading the data generically keeps new profile constructs covered; a `name`
    that is not a metric only makes the check more lenient, never a false warning."""
    data = profile.model_dump() if isinstance(profile, BaseModel) else profile
    found: set[str] = set()

    def walk(node: Any, top: bool) -> None:
        if isinstance(node, dict):
            for key in ("metric", "name"):
                value = node.get(key)
                if isinstance(value, str) and value and " " not in value and not top:
                    found.add(value)
                    if node.get("rate") is True:
                        found.add(f"{value}.rate")
            for value in node.values():
                walk(value, False)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item, False)

    walk(data, True)  # the profile's own `name` is its name, not a metric
    return frozenset(found)
