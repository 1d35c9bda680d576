"""The incident lifecycle: `open → acknowledged → resolved → closed`, with reopen.

Fault events from the rule engine open, update (level up or down in place, stale, suppressed)
and resolve incidents; people acknowledge, record arrival on site, add notes, assign and
resolve by hand. Every change writes an audit entry naming who and when. These functions run
inside the caller's store transaction and return a `Change` saying what happened, so the
caller can queue the notifications in that same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerting.store import QUIET_SUPPRESSIONS, Incident, NotFound, TicketStore
from rules.fault import Fault

RULES_ACTOR = "rules"


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


async def apply_fault(
    store: TicketStore, fault: Fault, now: float, reopen_window: float, shard: str = ""
) -> Change | None:
    """Record one fault event of a device in `shard`. Returns what changed (None: nothing
    to record)."""
    if fault.firing:
        return await _firing(store, fault, now, reopen_window, shard)
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
    store: TicketStore, fault: Fault, now: float, reopen_window: float, shard: str
) -> Change:
    suppressed = fault.suppressed.value if fault.suppressed else None
    active = await store.find_active(fault.key)
    if active is not None:
        return await _update(store, active, fault, suppressed, now)
    if reopen_window > 0:
        previous = await store.find_reopenable(fault.key, now - reopen_window)
        if previous is not None:
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
                    "occurrences": previous.occurrences + 1,
                    "tier": 0,
                    "reminders": 0,
                    "last_notified_at": None,
                    "shard": shard,
                },
            )
            await store.audit(
                previous.id,
                now,
                RULES_ACTOR,
                "reopened",
                {
                    "level": fault.level,
                    "occurrence": previous.occurrences + 1,
                    "suppressed": suppressed,
                },
            )
            await store.add_occurrence(fault.key, previous.id, now)
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
    await store.audit(
        incident_id,
        now,
        RULES_ACTOR,
        "opened",
        {"level": fault.level, "value": _json_value(fault.value), "suppressed": suppressed},
    )
    await store.add_occurrence(fault.key, incident_id, now)
    return Change("opened", await store.get(incident_id))


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


async def _get(store: TicketStore, incident_id: int) -> Incident:
    try:
        return await store.get(incident_id)
    except NotFound:
        raise IncidentError(f"no incident {incident_id}") from None


async def acknowledge(
    store: TicketStore, incident_id: int, by: str, now: float, note: str | None = None
) -> Incident:
    incident = await _get(store, incident_id)
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
    incident = await _get(store, incident_id)
    if not incident.active:
        raise IncidentError(f"incident {incident_id} is already {incident.state}")
    await store.update_incident(
        incident_id, {"state": "resolved", "resolved_at": now, "resolved_by": by, "updated_at": now}
    )
    await store.audit(incident_id, now, by, "resolved", {"note": note} if note else {})
    if note:
        await store.add_note(incident_id, now, by, note)
    return await store.get(incident_id)


async def arrive(store: TicketStore, incident_id: int, by: str, now: float) -> Incident:
    incident = await _get(store, incident_id)
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


async def add_note(store: TicketStore, incident_id: int, by: str, text: str, now: float) -> None:
    await _get(store, incident_id)
    await store.add_note(incident_id, now, by, text)
    await store.audit(incident_id, now, by, "note", {"text": text})


async def assign(store: TicketStore, incident_id: int, to: str, by: str, now: float) -> Incident:
    incident = await _get(store, incident_id)
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
    """Close incidents resolved longer ago than the reopen window (closed is final)."""
    closed = []
    for incident in await store.resolved_before(now - reopen_window, shards):
        await store.update_incident(
            incident.id, {"state": "closed", "closed_at": now, "updated_at": now}
        )
        await store.audit(incident.id, now, "system", "closed", {})
        closed.append(incident.id)
    return closed
