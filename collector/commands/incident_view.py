"""`roomwatch incidents show ID|TICKET`: one incident as a person reads it — what it is, where
it stands now, each of its occurrences with its own acknowledgement, arrival, escalation,
breaches and resolution, the notes and the audit log."""

from __future__ import annotations

import argparse
import json
from typing import Any

from alerting import knowledge
from alerting.messages import level_name, summary_of
from alerting.store import Breach, Occurrence
from collector.commands.incident_context import IncidentContext, find_incident, when


def _step(ts: float | None, by: str | None) -> str:
    return f"{when(ts)} {by or ''}".strip()


def occurrence_lines(occurrences: list[Occurrence], breaches: list[Breach]) -> list[str]:
    """One block per occurrence (the history a reopen must never wipe)."""
    lines = []
    for o in occurrences:
        missed = [f"{b.clock} (level {b.level})" for b in breaches if b.occurrence == o.n]
        head = f"  #{o.n}  opened {when(o.ts)}  level {o.level}"
        if o.suppressed:
            head += f"  suppressed: {o.suppressed}"
        lines.append(head)
        if o.note:
            lines.append(f"      why           {o.note}")
        lines.append(f"      acknowledged  {_step(o.acknowledged_at, o.acknowledged_by)}")
        lines.append(f"      on site       {_step(o.arrived_at, o.arrived_by)}")
        lines.append(f"      escalations   {o.escalations} (tiers run: {o.tier})")
        lines.append(f"      SLA breaches  {', '.join(missed) if missed else '-'}")
        lines.append(f"      resolved      {_step(o.resolved_at, o.resolved_by)}")
    return lines


async def show_incident(args: argparse.Namespace, ctx: IncidentContext) -> int:
    incident = await find_incident(ctx.store, args.id)
    audit = await ctx.store.audit_log(incident.id)
    notes = await ctx.store.notes(incident.id)
    breaches = await ctx.store.breaches(incident.id)
    occurrences = await ctx.store.occurrences(incident.id)
    problem = await ctx.store.problem(incident.problem_id) if incident.problem_id else None
    if args.json:
        doc: dict[str, Any] = incident.to_json()
        doc["occurrence_history"] = [o.__dict__ for o in occurrences]
        doc["audit"] = [a.__dict__ for a in audit]
        doc["notes"] = [n.__dict__ for n in notes]
        doc["breaches"] = [b.__dict__ for b in breaches]
        doc["problem"] = problem.__dict__ if problem else None
        print(json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2))
        return 0
    lang = ctx.alerting.language
    summary = summary_of(
        {"summary": incident.summary, "rule": incident.rule, "device": incident.device}, lang
    )
    print(f"incident {incident.id} ({incident.ticket or '-'}): {summary}")
    state = incident.state + (
        f" (suppressed: {incident.suppressed})" if incident.suppressed else ""
    )
    rows = [
        ("ticket", incident.ticket or "-"),
        ("key", incident.key),
        ("level", f"{incident.level} ({level_name(incident.level, lang)})"),
        ("state", state),
        ("device", incident.device or "-"),
        ("site", incident.site or "-"),
    ]
    if incident.from_people:
        rows += [
            ("source", incident.source),
            ("reporter", incident.reporter or "-"),
            ("contact", incident.contact or "-"),
            ("description", incident.description or "-"),
        ]
    else:
        rows += [
            ("value", json.dumps(incident.value, ensure_ascii=False)),
            ("fault since", when(incident.since)),
        ]
    rows += [
        ("opened", when(incident.opened_at)),
        ("acknowledged", _step(incident.acknowledged_at, incident.acknowledged_by)),
        ("on site", _step(incident.arrived_at, incident.arrived_by)),
        ("resolved", _step(incident.resolved_at, incident.resolved_by)),
        ("closed", when(incident.closed_at)),
        ("assignee", incident.assignee or "-"),
        ("occurrences", str(incident.occurrences)),
        ("runbook", incident.runbook or "-"),
    ]
    if incident.accepted_until is not None:
        rows.append(
            ("accepted", f"until {when(incident.accepted_until)} by {incident.accepted_by}")
        )
    if incident.recheck:
        rows.append(("recheck", "resolved by hand: reopens if its condition still holds"))
    known = await knowledge.best_match(ctx.store, incident, ctx.dispatch.inventory)
    if known is not None:
        rows.append(("known error", f"{known.number} {known.title}: {known.workaround}"))
    if problem:
        rows.append(("problem", f"#{problem.id} ({problem.occurrences} occurrences)"))
        if problem.workaround:
            rows.append(("workaround", problem.workaround))
    for name, value in rows:
        print(f"  {name:<13} {value}")
    print("occurrences:")
    for line in occurrence_lines(occurrences, breaches):
        print(line)
    if breaches:
        print("SLA breaches:")
        for b in breaches:
            print(
                f"  #{b.occurrence} {b.clock} (level {b.level}) due {when(b.due)},"
                f" recorded {when(b.recorded_at)}"
            )
    if notes:
        print("notes:")
        for n in notes:
            print(f"  {when(n.ts)}  {n.author}: {n.text}")
    print("audit log:")
    for a in audit:
        detail = json.dumps(a.detail, ensure_ascii=False, sort_keys=True) if a.detail else ""
        print(f"  {when(a.ts)}  {a.actor:<12} {a.action:<14} {detail}")
    return 0
