"""The incident lifecycle: `open → acknowledged → resolved → closed`, with reopen.

Fault events from the rule engine open, update (level up or down in place, stale, suppressed)
and resolve incidents; people acknowledge, record arrival on site, add notes, assign and
resolve by hand. Every change writes an audit entry naming who and when. These functions run
inside the caller's store transaction and return a `Change` saying what happened, so the
caller can queue the notifications in that same transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from alerting.store import QUIET_SUPPRESSIONS, Incident, NotFound, TicketStore
from alerting.tickets import ticket_number
from rules.fault import Fault

RULES_ACTOR = "rules"
DEFAULT_PREFIX = "RW"


class IncidentError(Exception):
    """A person asked for something the incident's state does not allow."""


@dataclass(frozen=True)
class Change:
    kind: str  # opened | reopened | level | unsuppressed | suppressed | updated | resolved
    incident: Incident
    previous_level: int | None = None


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN: JSON has none
        return None
    return value


def _identity(fault: Fault) -> dict[str, Any]:
    """What an opening audit entry names, so the audit log alone tells what opened."""
    return {
        "key": fault.key,
        "rule": fault.rule,
        "device": fault.device,
        "site": fault.site,
        "metric": fault.metric,
        "summary": dict(fault.summary),
    }


async def apply_fault(
    store: TicketStore,
    fault: Fault,
    now: float,
    reopen_window: float,
    shard: str = "",
    *,
    prefix: str = DEFAULT_PREFIX,
    year: int | None = None,
    note: str | None = None,
) -> Change | None:
    """Record one fault event of a device in `shard`. Returns what changed (None: nothing to
    record). `prefix` and `year` number a new ticket; `note` says why this occurrence opened
    (e.g. a hand-resolve whose condition still held)."""
    if fault.firing:
        accepted = await store.find_accepted(fault.key, now)
        if accepted is not None and not accepted.active:
            return None  # a person accepted this known fault until later: keep it resolved
        return await _firing(store, fault, now, reopen_window, shard, prefix, year, note)
    active = await store.find_active(fault.key)
    if active is None:
        return None  # already resolved by hand, or never opened
    await store.update_incident(
        active.id,
        {
            "state": "resolved",
            "resolved_at": now,
            "resolved_by": RULES_ACTOR,
            "updated_at": now,
            "value": _json_value(fault.value),
            "stale": False,
        },
    )
    await store.audit(active.id, now, RULES_ACTOR, "resolved", {"value": _json_value(fault.value)})
    return Change("resolved", await store.get(active.id))


async def _firing(
    store: TicketStore,
    fault: Fault,
    now: float,
    reopen_window: float,
    shard: str,
    prefix: str,
    year: int | None,
    note: str | None,
) -> Change | None:
    suppressed = fault.suppressed.value if fault.suppressed else None
    active = await store.find_active(fault.key)
    if active is not None:
        return await _update(store, active, fault, suppressed, now)
    if reopen_window > 0:
        previous = await store.find_reopenable(fault.key, now - reopen_window)
        if previous is not None and previous.recheck and suppressed == "maintenance":
            return None  # resolved by hand, now in planned work: looked at when it ends
        if previous is not None:
            if previous.recheck and note is None:  # an event said so before the recheck did
                note = still_failing(previous)
            n = previous.occurrences + 1
            # the new occurrence's row first: the incident's update below lands on it, and
            # the earlier occurrences keep their acknowledgement, escalation and resolution
            await store.add_occurrence(
                fault.key,
                previous.id,
                now,
                n=n,
                level=fault.level,
                suppressed=suppressed,
                note=note,
            )
            await store.update_incident(
                previous.id,
                {
                    "state": "open",
                    "level": fault.level,
                    "suppressed": suppressed,
                    "stale": fault.stale,
                    "value": _json_value(fault.value),
                    "summary": fault.summary,
                    "runbook": fault.runbook,
                    "since": fault.since,
                    "active_since": now,
                    "level_since": now,
                    "updated_at": now,
                    "acknowledged_at": None,
                    "acknowledged_by": None,
                    "arrived_at": None,
                    "arrived_by": None,
                    "resolved_at": None,
                    "resolved_by": None,
                    "occurrences": n,
                    "tier": 0,
                    "reminders": 0,
                    "last_notified_at": None,
                    "shard": shard,
                    "recheck": False,
                    "accepted_until": None,
                    "accepted_by": None,
                },
            )
            detail: dict[str, Any] = {
                "level": fault.level,
                "occurrence": n,
                "suppressed": suppressed,
            }
            if note:
                detail["note"] = note
            await store.audit(previous.id, now, RULES_ACTOR, "reopened", detail)
            return Change("reopened", await store.get(previous.id), previous.level)
    incident_id = await store.insert_incident(
        {
            "key": fault.key,
            "rule": fault.rule,
            "grp": fault.group,
            "device": fault.device,
            "metric": fault.metric,
            "site": fault.site,
            "labels": dict(fault.labels),
            "level": fault.level,
            "state": "open",
            "suppressed": suppressed,
            "stale": fault.stale,
            "summary": dict(fault.summary),
            "runbook": fault.runbook,
            "value": _json_value(fault.value),
            "since": fault.since,
            "opened_at": now,
            "active_since": now,
            "level_since": now,
            "updated_at": now,
            "occurrences": 1,
            "shard": shard,
        }
    )
    ticket = await number_ticket(store, incident_id, prefix, year, now)
    detail = {
        "level": fault.level,
        "value": _json_value(fault.value),
        "suppressed": suppressed,
        "ticket": ticket,
        **_identity(fault),
    }
    if note:
        detail["note"] = note
    await store.audit(incident_id, now, RULES_ACTOR, "opened", detail)
    await store.add_occurrence(
        fault.key, incident_id, now, level=fault.level, suppressed=suppressed, note=note
    )
    return Change("opened", await store.get(incident_id))


async def number_ticket(
    store: TicketStore, incident_id: int, prefix: str, year: int | None, now: float
) -> str:
    """Give a new incident its ticket number (the id makes it unique; the year reads well)."""
    if year is None:
        year = dt.datetime.fromtimestamp(now, dt.UTC).year
    ticket = ticket_number(prefix, year, incident_id)
    await store.update_incident(incident_id, {"ticket": ticket})
    return ticket


def still_failing(incident: Incident) -> str:
    """Why an incident resolved by hand (or accepted) reopens."""
    if incident.accepted_until is not None:
        return f"still failing after the acceptance by {incident.accepted_by} ended"
    return f"still failing after it was resolved by hand by {incident.resolved_by}"


async def _update(
    store: TicketStore, active: Incident, fault: Fault, suppressed: str | None, now: float
) -> Change:
    changes: dict[str, Any] = {
        "value": _json_value(fault.value),
        "updated_at": now,
        "summary": dict(fault.summary) or active.summary,
    }
    kind = "updated"
    if fault.stale != active.stale:
        changes["stale"] = fault.stale
        await store.audit(active.id, now, RULES_ACTOR, "stale" if fault.stale else "fresh", {})
    if suppressed != active.suppressed:
        changes["suppressed"] = suppressed
        was_quiet = active.suppressed in QUIET_SUPPRESSIONS
        if was_quiet and suppressed not in QUIET_SUPPRESSIONS:
            # the parent came back or the window ended, the fault is still there: tell now
            kind = "unsuppressed"
            changes.update(active_since=now, level_since=now, tier=0, reminders=0)
            await store.audit(active.id, now, RULES_ACTOR, "unsuppressed", {"now": suppressed})
        elif suppressed is None:
            await store.audit(active.id, now, RULES_ACTOR, "unsuppressed", {})
        else:
            kind = "suppressed"
            await store.audit(active.id, now, RULES_ACTOR, "suppressed", {"why": suppressed})
    if fault.level != active.level:
        changes["level"] = fault.level
        changes["level_since"] = now
        await store.audit(
            active.id, now, RULES_ACTOR, "level", {"from": active.level, "to": fault.level}
        )
        if kind == "updated":
            kind = "level"
    await store.update_incident(active.id, changes)
    return Change(kind, await store.get(active.id), active.level)


async def get_incident(store: TicketStore, incident_id: int) -> Incident:
    try:
        return await store.get(incident_id)
    except NotFound:
        raise IncidentError(f"no incident {incident_id}") from None


async def acknowledge(
    store: TicketStore, incident_id: int, by: str, now: float, note: str | None = None
) -> Incident:
    incident = await get_incident(store, incident_id)
    if incident.state != "open":
        raise IncidentError(f"incident {incident_id} is {incident.state}, not open")
    await store.update_incident(
        incident_id,
        {"state": "acknowledged", "acknowledged_at": now, "acknowledged_by": by, "updated_at": now},
    )
    await store.audit(incident_id, now, by, "acknowledged", {"note": note} if note else {})
    if note:
        await store.add_note(incident_id, now, by, note)
    return await store.get(incident_id)


async def resolve(
    store: TicketStore, incident_id: int, by: str, now: float, note: str | None = None
) -> Incident:
    """Resolve by hand. A monitored incident is then rechecked: if its rule still finds the
    fault at the next evaluation, it reopens as a new occurrence that says so (`recheck`)."""
    incident = await get_incident(store, incident_id)
    if not incident.active:
        raise IncidentError(f"incident {incident_id} is already {incident.state}")
    await store.update_incident(
        incident_id,
        {
            "state": "resolved",
            "resolved_at": now,
            "resolved_by": by,
            "updated_at": now,
            "recheck": not incident.from_people,
        },
    )
    await store.audit(incident_id, now, by, "resolved", {"note": note} if note else {})
    if note:
        await store.add_note(incident_id, now, by, note)
    return await store.get(incident_id)


async def arrive(store: TicketStore, incident_id: int, by: str, now: float) -> Incident:
    incident = await get_incident(store, incident_id)
    if not incident.active:
        raise IncidentError(f"incident {incident_id} is {incident.state}")
    if incident.arrived_at is not None:
        raise IncidentError(
            f"incident {incident_id}: {incident.arrived_by} already recorded on site"
        )
    await store.update_incident(
        incident_id, {"arrived_at": now, "arrived_by": by, "updated_at": now}
    )
    await store.audit(incident_id, now, by, "arrived", {})
    return await store.get(incident_id)


async def add_note(
    store: TicketStore, incident_id: int, by: str, text: str, now: float, public: bool = False
) -> None:
    """A note; `public` ones the reporter sees on the follow page (internal by default)."""
    await get_incident(store, incident_id)
    await store.add_note(incident_id, now, by, text, public)
    await store.audit(incident_id, now, by, "note", {"text": text, "public": public})


async def assign(store: TicketStore, incident_id: int, to: str, by: str, now: float) -> Incident:
    incident = await get_incident(store, incident_id)
    await store.update_incident(incident_id, {"assignee": to, "updated_at": now})
    await store.audit(incident_id, now, by, "assigned", {"from": incident.assignee, "to": to})
    return await store.get(incident_id)


async def set_level(
    store: TicketStore, incident: Incident, level: int, now: float, by: str, reason: str
) -> Incident:
    await store.update_incident(
        incident.id, {"level": level, "level_since": now, "updated_at": now}
    )
    await store.audit(
        incident.id, now, by, "level", {"from": incident.level, "to": level, "reason": reason}
    )
    return await store.get(incident.id)


async def close_resolved(
    store: TicketStore, now: float, reopen_window: float, shards: list[str] | None = None
) -> list[int]:
    """Close incidents resolved longer ago than the reopen window (closed is final). One
    still being rechecked or accepted stays resolved until that is settled."""
    closed = []
    for incident in await store.resolved_before(now - reopen_window, shards):
        if incident.recheck:
            continue
        await store.update_incident(
            incident.id, {"state": "closed", "closed_at": now, "updated_at": now}
        )
        await store.audit(incident.id, now, "system", "closed", {})
        closed.append(incident.id)
    return closed
