"""What the reporter sees of their ticket on the follow page: its number, title, state and
level, its history (opened, acknowledged, engineer on site, resolved, reopened — occurrence by
occurrence), the public notes (their own words, and what the desk wrote for them; never an
internal note), and the satisfaction question when one is open. Pure: built from records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alerting.store import Incident, Note, Occurrence, Survey


@dataclass(frozen=True)
class Step:
    ts: float
    what: str  # opened | acknowledged | arrived | resolved | reopened
    who: str | None  # shown for people's steps; the monitoring's own are "desk"


@dataclass(frozen=True)
class ReporterView:
    ticket: str
    title: str
    state: str
    level: int
    opened_at: float
    steps: tuple[Step, ...]
    notes: tuple[Note, ...]
    survey_open: bool
    answered: Survey | None  # the latest answer, if any


def reporter_view(
    incident: Incident,
    occurrences: Sequence[Occurrence],
    notes: Sequence[Note],
    surveys: Sequence[Survey],
) -> ReporterView:
    steps: list[Step] = []
    for o in occurrences:
        steps.append(Step(o.ts, "opened" if o.n == 1 else "reopened", None))
        if o.acknowledged_at is not None:
            steps.append(Step(o.acknowledged_at, "acknowledged", o.acknowledged_by))
        if o.arrived_at is not None:
            steps.append(Step(o.arrived_at, "arrived", o.arrived_by))
        if o.resolved_at is not None:
            by = None if o.resolved_by in ("rules", "system") else o.resolved_by
            steps.append(Step(o.resolved_at, "resolved", by))
    answered = [s for s in surveys if s.answered_at is not None]
    return ReporterView(
        ticket=incident.ticket,
        title=incident.title,
        state="resolved" if incident.state == "closed" else incident.state,
        level=incident.level,
        opened_at=incident.opened_at,
        steps=tuple(sorted(steps, key=lambda s: s.ts)),
        notes=tuple(n for n in notes if n.public),
        survey_open=any(s.answered_at is None for s in surveys),
        answered=answered[-1] if answered else None,
    )
