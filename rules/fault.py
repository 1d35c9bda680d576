"""The Fault event: what the rule engine tells alerting (DESIGN.md §6 → §7).

The engine emits an event when a fault starts firing, changes level, changes suppression or
staleness, or resolves. Pending faults (still inside their `for`) are never emitted: a pending
fault that clears is dropped silently. Alerting turns events into incidents keyed by `key`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.sample import Value


class FaultState(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Suppression(StrEnum):
    """Why a firing fault must be recorded but not alerted."""

    DEPENDENCY = "dependency"  # a parent device is unreachable
    MAINTENANCE = "maintenance"  # inside a maintenance window
    FLAPPING = "flapping"  # opened and cleared too often; held open, notified once


def fault_key(rule: str, device: str, labels: dict[str, str]) -> str:
    """Stable identity of a fault: rule + device + labels (never the value or the note)."""
    parts = [rule, device, *(f"{k}={v}" for k, v in sorted(labels.items()))]
    return "|".join(parts)


@dataclass(frozen=True)
class Fault:
    key: str
    rule: str
    group: str
    device: str
    metric: str
    level: int  # 1 (severe) … 3 (minor)
    state: FaultState
    value: Value | None
    since: float  # when the fault started firing (POSIX s)
    ts: float  # when this event happened
    labels: dict[str, str] = field(default_factory=dict)
    site: str | None = None
    summary: dict[str, str] = field(default_factory=dict)  # language ("zh", "en") → text
    runbook: str | None = None
    suppressed: Suppression | None = None
    stale: bool = False  # the metric stopped arriving while firing; kept open, not resolved

    @property
    def firing(self) -> bool:
        return self.state is FaultState.FIRING
