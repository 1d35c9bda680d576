"""The service desk's own steps on the incident lifecycle: tickets that people report (by
phone, mail, the API), accepting a known fault until a time, and looking again at an
incident resolved by hand whose condition may still hold. Like `alerting.incidents`, these
run inside the caller's store transaction and return what changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alerting.incidents import (
    DEFAULT_PREFIX,
    Change,
    IncidentError,
    apply_fault,
    get_incident,
    number_ticket,
    still_failing,
)
from alerting.store import Incident, TicketStore
from rules.fault import Fault

SOURCES = ("phone", "mail", "api", "console")
DESK_RULE = "desk"


async def accept(
    store: TicketStore, incident_id: int, by: str, until: float, now: float, reason: str
) -> Incident:
    """Accept a known fault until `until`: the incident is resolved and does not reopen while
    the acceptance lasts, even though its condition still holds; afterwards it is rechecked."""
    incident = await get_incident(store, incident_id)
    if until <= now:
        raise IncidentError("an acceptance must end in the future (give --until a later time)")
    if incident.from_people:
        raise IncidentError(f"incident {incident_id} is a reported ticket: resolve it instead")
    changes: dict[str, Any] = {
        "accepted_until": until,
        "accepted_by": by,
        "updated_at": now,
        "recheck": True,
    }
    if incident.active:
        changes.update(state="resolved", resolved_at=now, resolved_by=by)
    elif incident.state == "closed":
        raise IncidentError(f"incident {incident_id} is closed")
    await store.update_incident(incident_id, changes)
    if incident.active:
        await store.audit(incident_id, now, by, "resolved", {"accepted": True})
    await store.audit(incident_id, now, by, "accepted", {"until": until, "reason": reason})
    await store.add_note(incident_id, now, by, f"accepted until {_iso(until)}: {reason}")
    return await store.get(incident_id)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


async def recheck(
    store: TicketStore,
    incident: Incident,
    firing: Fault | None,
    now: float,
    reopen_window: float,
    shard: str = "",
    *,
    prefix: str = DEFAULT_PREFIX,
    year: int | None = None,
) -> Change | None:
    """Look again at an incident resolved by hand: its rule's fault as it stands now
    (`firing`, None when the condition is gone). Still failing and neither accepted nor
    silenced by maintenance: it reopens as a new occurrence noting the hand-resolve."""
    if firing is None:
        await store.update_incident(incident.id, {"recheck": False})
        return None
    if incident.accepted_until is not None and incident.accepted_until > now:
        return None  # look again once the acceptance ends
    if firing.suppressed is not None and firing.suppressed.value == "maintenance":
        return None  # planned work: look again when the window ends
    why = still_failing(incident)
    await store.update_incident(incident.id, {"recheck": False, "accepted_until": None})
    return await apply_fault(
        store, firing, now, reopen_window, shard, prefix=prefix, year=year, note=why
    )


async def open_ticket(
    store: TicketStore,
    *,
    title: str,
    level: int,
    by: str,
    now: float,
    source: str = "phone",
    device: str | None = None,
    site: str | None = None,
    reporter: str | None = None,
    contact: str | None = None,
    description: str | None = None,
    shard: str = "",
    prefix: str = DEFAULT_PREFIX,
    year: int | None = None,
) -> Change:
    """Open a ticket that a person reported (by phone, mail, the API). It runs the same SLA
    clocks, escalation and reports as a monitored incident, and is resolved by hand."""
    title = " ".join(title.split())
    if not title:
        raise IncidentError("a ticket needs a title (--title)")
    if level not in (1, 2, 3):
        raise IncidentError(f"level must be 1, 2 or 3, not {level}")
    if source not in SOURCES:
        raise IncidentError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    placeholder = f"{DESK_RULE}|new|{by}|{now}"
    incident_id = await store.insert_incident(
        {
            "key": placeholder,
            "rule": DESK_RULE,
            "grp": DESK_RULE,
            "device": device or "",
            "metric": "",
            "site": site,
            "labels": {},
            "level": level,
            "state": "open",
            "summary": {"en": title, "zh": title},
            "since": now,
            "opened_at": now,
            "active_since": now,
            "level_since": now,
            "updated_at": now,
            "occurrences": 1,
            "source": source,
            "reporter": reporter,
            "contact": contact,
            "description": description,
            "shard": shard,
        }
    )
    ticket = await number_ticket(store, incident_id, prefix, year, now)
    key = f"{DESK_RULE}|{ticket}"
    await store.update_incident(incident_id, {"key": key})
    await store.audit(
        incident_id,
        now,
        by,
        "opened",
        {
            "level": level,
            "suppressed": None,
            "ticket": ticket,
            "source": source,
            "reporter": reporter,
            "key": key,
            "rule": DESK_RULE,
            "device": device or "",
            "site": site,
            "metric": "",
            "summary": {"en": title, "zh": title},
        },
    )
    await store.add_occurrence(key, incident_id, now, level=level)
    if description:
        await store.add_note(incident_id, now, reporter or by, description, public=True)
    return Change("opened", await store.get(incident_id))
