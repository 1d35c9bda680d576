"""Problems: an incident key that keeps recurring gets a problem record linking its incidents,
with a root-cause note and a known-error workaround that later alerts for that key carry."""

from __future__ import annotations

from alerting.config import ProblemsConfig
from alerting.store import Incident, Problem, TicketStore


async def track(
    store: TicketStore, incident: Incident, config: ProblemsConfig, now: float
) -> Problem | None:
    """Called when an incident opens or reopens (inside its transaction). Links it to the
    problem of its key, opening one when the key recurred often enough in the window."""
    problem = await store.problem_for_key(incident.key)
    recent = await store.occurrences_since(incident.key, now - config.window)
    if problem is None:
        if len(recent) < config.occurrences:
            return None
        problem_id = await store.insert_problem(incident.key, now, len(recent))
        await store.audit(
            None,
            now,
            "system",
            "problem-opened",
            {"key": incident.key, "occurrences": len(recent)},
            problem_id=problem_id,
        )
        # link the earlier incidents of this key too
        for earlier in sorted(set(recent)):
            if earlier != incident.id:
                await store.update_incident(earlier, {"problem_id": problem_id})
                await store.audit(earlier, now, "system", "problem-linked", {"problem": problem_id})
        problem = await store.problem(problem_id)
    else:
        changes: dict[str, object] = {"updated_at": now, "occurrences": problem.occurrences + 1}
        if problem.state != "open":
            changes["state"] = "open"
        await store.update_problem(problem.id, changes)
        problem = await store.problem(problem.id)
    if incident.problem_id != problem.id:
        await store.update_incident(incident.id, {"problem_id": problem.id})
        await store.audit(incident.id, now, "system", "problem-linked", {"problem": problem.id})
    return problem


async def annotate(
    store: TicketStore,
    problem_id: int,
    by: str,
    now: float,
    root_cause: str | None = None,
    workaround: str | None = None,
    state: str | None = None,
) -> Problem:
    changes: dict[str, object] = {"updated_at": now}
    if root_cause is not None:
        changes["root_cause"] = root_cause
    if workaround is not None:
        changes["workaround"] = workaround
    if state is not None:
        changes["state"] = state
    await store.problem(problem_id)  # raises NotFound
    await store.update_problem(problem_id, changes)
    detail = {k: v for k, v in changes.items() if k != "updated_at"}
    await store.audit(None, now, by, "problem-updated", detail, problem_id=problem_id)
    return await store.problem(problem_id)
