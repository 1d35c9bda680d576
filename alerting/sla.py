"""SLA clocks: respond (acknowledge), arrive (engineer on site) and repair (resolve), each due a
configured time after the incident became active, at its current level. Pure arithmetic on an
incident and `now`; the service records breaches and acts on them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from alerting.config import SlaTargets
from alerting.store import Incident


class Timed(Protocol):
    """What the clocks read: an incident (its current occurrence) or one past occurrence."""

    @property
    def level(self) -> int: ...
    @property
    def active_since(self) -> float: ...
    @property
    def acknowledged_at(self) -> float | None: ...
    @property
    def arrived_at(self) -> float | None: ...
    @property
    def resolved_at(self) -> float | None: ...


CLOCKS = ("respond", "arrive", "repair")


@dataclass(frozen=True)
class Clock:
    clock: str
    level: int
    due: float
    met_at: float | None  # when the step happened (None: not yet)

    def breached(self, now: float) -> bool:
        if self.met_at is not None:
            return self.met_at > self.due
        return now >= self.due


def clocks(incident: Timed, targets: SlaTargets) -> list[Clock]:
    start = incident.active_since
    # resolving stops every clock: a fault that cleared by itself needs no answer or visit
    resolved = incident.resolved_at
    respond_met = incident.acknowledged_at if incident.acknowledged_at is not None else resolved
    arrive_met = incident.arrived_at if incident.arrived_at is not None else resolved
    return [
        Clock("respond", incident.level, start + targets.respond, respond_met),
        Clock("arrive", incident.level, start + targets.arrive, arrive_met),
        Clock("repair", incident.level, start + targets.repair, resolved),
    ]


def breaches(incident: Incident, targets: SlaTargets, now: float) -> list[Clock]:
    """The clocks of `incident` that ran out by `now` (or were met late)."""
    if incident.quiet:
        return []
    return [c for c in clocks(incident, targets) if c.breached(now)]


def promotion_due(incident: Incident, promote_after: float, now: float) -> bool:
    """An incident unresolved this long at one level moves up one level (towards 1)."""
    if not incident.active or incident.quiet or incident.level <= 1:
        return False
    return now - max(incident.level_since, incident.active_since) >= promote_after
