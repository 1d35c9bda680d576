"""What the monthly report needs from the ticket store: every incident, the spans during
which each was open (from its audit log: opened/reopened → resolved), and the problems.

Read-only; uses the store's public API. A month holds hundreds of incidents, so reading the
audit log of each is cheap; incidents are read whole because a report also looks back (the
level-by-month trend, incidents opened earlier and still open)."""

from __future__ import annotations

from collections.abc import Sequence

from alerting.reports.availability import WEBSITE_METRICS
from alerting.store import AuditEntry, Breach, Incident, Occurrence, Survey, TicketStore

OPENING = frozenset({"opened", "reopened"})
CLOSING = frozenset({"resolved"})
ALL = 10**9


def open_spans(entries: Sequence[AuditEntry]) -> list[tuple[float, float | None]]:
    """(start, end) for each time the incident was open; end None while it still is."""
    spans: list[tuple[float, float | None]] = []
    start: float | None = None
    for entry in sorted(entries, key=lambda e: (e.ts, e.id)):
        if entry.action in OPENING and start is None:
            start = entry.ts
        elif entry.action in CLOSING and start is not None:
            spans.append((start, entry.ts))
            start = None
    if start is not None:
        spans.append((start, None))
    return spans


async def read_incidents(
    store: TicketStore,
) -> tuple[list[Incident], dict[int, list[tuple[float, float | None]]]]:
    incidents = sorted(await store.list_incidents(limit=ALL), key=lambda i: i.id)
    # spans matter for availability, for counting a problem's occurrences and for whether a
    # reopened incident was open at the end of a period; other incidents need none, which
    # spares one audit query each
    spans = {
        i.id: open_spans(await store.audit_log(i.id))
        for i in incidents
        if i.metric in WEBSITE_METRICS or i.problem_id is not None or i.occurrences > 1
    }
    return incidents, spans


async def read_history(store: TicketStore) -> tuple[list[Occurrence], list[Breach]]:
    """Every occurrence and every recorded SLA breach: what the SLA figures count."""
    return await store.occurrences(), await store.breaches()


async def read_surveys(store: TicketStore) -> list[Survey]:
    return await store.surveys()
