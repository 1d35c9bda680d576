"""What the monthly (or quarterly) SLA report is computed from: the values it is given
(MonthlyInput: incidents, their open spans, problems, maintenance windows, the inventory and
the SLA targets) and the unit every SLA figure counts, the occurrence (Case). Pure: no store,
no clock.

The report counts **occurrences**: each time an incident opened or reopened is one fault,
counted in the period in which that occurrence opened, at the level it ended with, with its
own acknowledgement, arrival, escalation, breaches and resolution (a reopen never hides what
the earlier occurrence went through). Occurrences suppressed (planned maintenance, a parent
down, flapping) were not alerted and are counted apart, not against the SLA."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from alerting.config import SlaTargets
from alerting.store import Breach, Incident, Occurrence, Problem, Survey
from inventory.model import Inventory
from rules.maintenance import MaintenanceWindow


@dataclass(frozen=True)
class MonthlyInput:
    incidents: Sequence[Incident]
    spans: Mapping[int, Sequence[tuple[float, float | None]]]  # incident id → open spans
    problems: Sequence[Problem]
    windows: Sequence[MaintenanceWindow]
    inventory: Inventory
    sla: Callable[[int], SlaTargets]
    now: float  # when the report is built
    #: every occurrence of the incidents; empty: one per incident, from its row (older callers)
    occurrences: Sequence[Occurrence] = ()
    breaches: Sequence[Breach] = ()
    surveys: Sequence[Survey] = ()


@dataclass(frozen=True)
class Case:
    """One occurrence of an incident: what the SLA figures count."""

    incident: Incident
    occurrence: Occurrence
    breaches: tuple[Breach, ...]  # recorded in this occurrence (a clock may breach at two levels)
    survey: Survey | None = None  # the satisfaction question of this occurrence, if asked

    @property
    def breached(self) -> frozenset[str]:
        """The clocks with a recorded breach in this occurrence."""
        return frozenset(b.clock for b in self.breaches)

    @property
    def level(self) -> int:
        return self.occurrence.level

    @property
    def suppressed(self) -> str | None:
        return self.occurrence.suppressed


def current_occurrence(incident: Incident) -> Occurrence:
    """The incident row read as its latest occurrence."""
    return Occurrence(
        incident_id=incident.id,
        n=incident.occurrences,
        key=incident.key,
        ts=incident.active_since if incident.occurrences > 1 else incident.opened_at,
        level=incident.level,
        suppressed=incident.suppressed,
        active_since=incident.active_since,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        arrived_at=incident.arrived_at,
        arrived_by=incident.arrived_by,
        resolved_at=incident.resolved_at,
        resolved_by=incident.resolved_by,
        tier=incident.tier,
        note=None,
    )


def cases_of(data: MonthlyInput, incidents: Sequence[Incident]) -> list[Case]:
    by_id = {i.id: i for i in incidents}
    breached: dict[tuple[int, int], list[Breach]] = {}
    for b in data.breaches:
        breached.setdefault((b.incident_id, b.occurrence), []).append(b)
    asked = {(q.incident_id, q.occurrence): q for q in data.surveys}
    occurrences = data.occurrences or [current_occurrence(i) for i in incidents]
    return [
        Case(
            by_id[o.incident_id],
            o,
            tuple(breached.get((o.incident_id, o.n), ())),
            asked.get((o.incident_id, o.n)),
        )
        for o in occurrences
        if o.incident_id in by_id
    ]
