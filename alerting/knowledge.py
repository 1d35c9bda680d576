"""The knowledge base's part in the incident lifecycle: which entry best answers an incident,
and entries made from what the desk already wrote (a resolution note, a problem's workaround).

Best match for an incident: an entry about its rule and its device's kind, else about its
rule, else about its device's kind; among equals the most recently updated. An entry about
neither is found by search only (it would match everything)."""

from __future__ import annotations

from alerting.store import Incident, KbEntry, Problem, TicketStore
from inventory.model import Inventory


def _rank(entry: KbEntry, rule: str, kind: str | None) -> tuple[int, float]:
    score = (2 if entry.rule == rule else 0) + (1 if kind and entry.device_kind == kind else 0)
    return score, entry.updated_at


async def best_match(
    store: TicketStore, incident: Incident, inventory: Inventory
) -> KbEntry | None:
    device = inventory.devices.get(incident.device)
    kind = device.kind if device else None
    found = await store.kb_candidates(incident.rule, kind)
    return max(found, key=lambda e: _rank(e, incident.rule, kind), default=None)


async def from_resolution(
    store: TicketStore,
    incident: Incident,
    inventory: Inventory,
    by: str,
    now: float,
    title: str | None = None,
) -> int:
    """An entry from how an incident was resolved: its last note (the resolution note) as the
    workaround, its rule and its device's kind as what it is about."""
    notes = await store.notes(incident.id)
    if not notes:
        raise ValueError(f"incident {incident.id} has no note to take the workaround from")
    device = inventory.devices.get(incident.device)
    return await store.add_kb(
        {
            "title": title or incident.title,
            "symptom": incident.title,
            "workaround": notes[-1].text,
            "rule": None if incident.from_people else incident.rule,
            "device_kind": device.kind if device else None,
        },
        "resolution",
        incident.id,
        by,
        now,
    )


async def from_problem(
    store: TicketStore, problem: Problem, inventory: Inventory, by: str, now: float
) -> int | None:
    """Keep the problem's workaround in the knowledge base (one entry per problem, updated
    when the workaround changes). None when the problem has no workaround."""
    if not problem.workaround:
        return None
    incidents = await store.incidents_of_problem(problem.id)
    sample = incidents[-1] if incidents else None
    device = inventory.devices.get(sample.device) if sample else None
    values = {
        "title": problem.root_cause or (sample.title if sample else problem.key),
        "symptom": sample.title if sample else problem.key,
        "workaround": problem.workaround,
        "rule": sample.rule if sample else None,
        "device_kind": device.kind if device else None,
    }
    existing = await store.kb_from("problem", problem.id)
    if existing is not None:
        await store.update_kb(existing.id, values, now)
        return existing.id
    return await store.add_kb(values, "problem", problem.id, by, now)
