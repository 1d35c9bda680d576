"""`roomwatch kb …`: the knowledge base (知识库) of known errors and their workarounds.

    roomwatch kb list [--json]
    roomwatch kb show KB-12
    roomwatch kb add --title TEXT --workaround TEXT [--symptom TEXT] [--rule NAME]
                     [--kind KIND] --by NAME
    roomwatch kb add --from-incident ID [--title TEXT] --by NAME   # its resolution note
    roomwatch kb add --from-problem ID --by NAME                   # its workaround
    roomwatch kb edit KB-12 [--title …] [--symptom …] [--workaround …] [--rule …] [--kind …]
    roomwatch kb search WORD…

A new incident whose rule and device kind match an entry carries the best one in its alert
and on its page (alerting/knowledge.py). A problem's workaround is kept here by itself."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re

from alerting import knowledge
from alerting.store import KbEntry
from collector.commands.errors import UsageError
from collector.commands.incident_context import IncidentContext, find_incident
from collector.config import DEFAULT_CONFIG

_NUMBER = re.compile(r"^(?:KB-)?(\d+)$", re.IGNORECASE)


def entry_ref(text: str) -> int:
    match = _NUMBER.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a knowledge-base entry: {text!r} (write KB-12)")
    return int(match.group(1))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from collector.commands.incidents import run_action

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    common.add_argument("--store", help="ticket store URL (default: from the config)")
    p = sub.add_parser("kb", help="the knowledge base of known errors and workarounds")
    cmds = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    c = cmds.add_parser("list", parents=[common], help="every entry")
    c.add_argument("--json", action="store_true", help="one JSON object per line")
    c.set_defaults(func=lambda a: run_action(a, _list))

    c = cmds.add_parser("show", parents=[common], help="one entry")
    c.add_argument("id", type=entry_ref)
    c.set_defaults(func=lambda a: run_action(a, _show))

    c = cmds.add_parser("add", parents=[common], help="a new entry (or from an incident/problem)")
    c.add_argument("--title")
    c.add_argument("--workaround")
    c.add_argument("--symptom", default="")
    c.add_argument("--rule", help="the rule it is about")
    c.add_argument("--kind", help="the kind of device it is about (server, ups, switch …)")
    c.add_argument("--from-incident", help="take the incident's resolution note")
    c.add_argument("--from-problem", type=int, help="take the problem's workaround")
    c.add_argument("--by", required=True)
    c.set_defaults(func=lambda a: run_action(a, _add))

    c = cmds.add_parser("edit", parents=[common], help="change an entry")
    c.add_argument("id", type=entry_ref)
    for name in ("title", "symptom", "workaround", "rule", "kind"):
        c.add_argument(f"--{name}")
    c.add_argument("--by", required=True)
    c.set_defaults(func=lambda a: run_action(a, _edit))

    c = cmds.add_parser("search", parents=[common], help="entries holding every word")
    c.add_argument("words", nargs="+")
    c.set_defaults(func=lambda a: run_action(a, _search))


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M")


def _line(entry: KbEntry) -> str:
    about = " ".join(
        x
        for x in (
            entry.rule and f"rule:{entry.rule}",
            entry.device_kind and f"kind:{entry.device_kind}",
        )
        if x
    )
    return f"{entry.number:<7} {entry.title}" + (f"  [{about}]" if about else "")


async def _list(args: argparse.Namespace, ctx: IncidentContext) -> int:
    entries = await ctx.store.kb_entries()
    if args.json:
        for e in entries:
            print(
                json.dumps({"number": e.number, **e.__dict__}, ensure_ascii=False, sort_keys=True)
            )
        return 0
    if not entries:
        print("no knowledge-base entries")
    for e in entries:
        print(_line(e))
    return 0


async def _show(args: argparse.Namespace, ctx: IncidentContext) -> int:
    e = await ctx.store.kb_entry(args.id)
    print(f"{e.number}: {e.title}")
    for name, value in (
        ("symptom", e.symptom or "-"),
        ("workaround", e.workaround),
        ("rule", e.rule or "any"),
        ("device kind", e.device_kind or "any"),
        ("from", f"{e.source}" + (f" #{e.source_id}" if e.source_id is not None else "")),
        ("written", f"{_when(e.created_at)} by {e.author}, updated {_when(e.updated_at)}"),
    ):
        print(f"  {name:<12} {value}")
    return 0


async def _add(args: argparse.Namespace, ctx: IncidentContext) -> int:
    now = ctx.clock()
    inventory = ctx.dispatch.inventory
    async with ctx.store.transaction():
        if args.from_incident:
            incident = await find_incident(ctx.store, args.from_incident)
            try:
                entry_id = await knowledge.from_resolution(
                    ctx.store, incident, inventory, args.by, now, args.title
                )
            except ValueError as exc:
                raise UsageError(f"error: {exc}") from None
        elif args.from_problem is not None:
            problem = await ctx.store.problem(args.from_problem)
            found = await knowledge.from_problem(ctx.store, problem, inventory, args.by, now)
            if found is None:
                raise UsageError(
                    f"error: problem {problem.id} has no workaround yet (roomwatch incidents"
                    " problem ID --workaround TEXT)"
                )
            entry_id = found
        else:
            if not (args.title and args.workaround):
                raise UsageError("error: kb add needs --title and --workaround (or --from-…)")
            entry_id = await ctx.store.add_kb(
                {
                    "title": args.title,
                    "symptom": args.symptom,
                    "workaround": args.workaround,
                    "rule": args.rule,
                    "device_kind": args.kind,
                },
                "manual",
                None,
                args.by,
                now,
            )
    print(f"KB-{entry_id} saved")
    return 0


async def _edit(args: argparse.Namespace, ctx: IncidentContext) -> int:
    changes = {
        field: value
        for field, value in (
            ("title", args.title),
            ("symptom", args.symptom),
            ("workaround", args.workaround),
            ("rule", args.rule),
            ("device_kind", args.kind),
        )
        if value is not None
    }
    if not changes:
        raise UsageError("error: say what to change (--title, --workaround, …)")
    async with ctx.store.transaction():
        await ctx.store.update_kb(args.id, changes, ctx.clock())
    print(f"KB-{args.id} updated")
    return 0


async def _search(args: argparse.Namespace, ctx: IncidentContext) -> int:
    found = await ctx.store.kb_search(args.words)
    if not found:
        print("nothing found")
        return 1
    for e in found:
        print(_line(e))
        print(f"        {e.workaround}")
    return 0


for _action in (_add,):
    _action.needs_config = True  # type: ignore[attr-defined]
