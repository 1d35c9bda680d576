"""`roomwatch incidents …`: read and work incidents in the ticket store, daemon running or not.

    roomwatch incidents list [--state open] [--json]
    roomwatch incidents show ID|TICKET [--json]
    roomwatch incidents open --title TEXT --level N [--device ID] [--reporter NAME]
                             [--contact PHONE-OR-MAIL] [--description TEXT] [--by NAME]
    roomwatch incidents accept ID --until TIME --by NAME --reason TEXT
    roomwatch incidents ack ID --by NAME [--note TEXT]
    roomwatch incidents arrive ID --by NAME
    roomwatch incidents resolve ID [--by NAME] [--note TEXT]
    roomwatch incidents note ID --by NAME TEXT
    roomwatch incidents assign ID --to NAME --by NAME
    roomwatch incidents problems [--json]
    roomwatch incidents problem ID --by NAME [--root-cause TEXT] [--workaround TEXT] [--close]

Every command takes `-c CONFIG` (to find the store) or `--store URL`. A hand resolution queues
the recovery notice in the outbox; the daemon sends it on its next tick. Exit codes: 1 when the
incident or problem is not there or its state refuses the change (acknowledging a resolved
one), 2 for a bad config or store URL, 3 when the ticket store is missing or unreadable."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from alerting import incidents as lifecycle
from alerting import knowledge, problems
from alerting.config import AlertingConfig
from alerting.messages import level_name, summary_of
from alerting.store import (
    STATES,
    Incident,
    StoreError,
    check_url,
    is_postgres_url,
    sqlite_path,
    store_exists,
)
from collector.commands import desk
from collector.commands.errors import ExitCode, NoAnswer, UsageError
from collector.commands.incident_context import (
    Action,
    IncidentContext,
    find_incident,
    incident_ref,
    when,
)
from collector.commands.incident_view import show_incident
from collector.config import DEFAULT_CONFIG, Config, load_config
from collector.storeconn import open_configured
from core.wording import did_you_mean
from inventory import ConfigError
from inventory.credentials import Credentials, load_credentials
from inventory.loader import load_inventory
from inventory.model import Inventory


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    common.add_argument("--store", help="ticket store URL (default: from the config)")

    p = sub.add_parser("incidents", help="list, show, acknowledge and resolve incidents")
    cmds = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    c = cmds.add_parser("list", parents=[common], help="list incidents, newest first")
    c.add_argument("--state", choices=[*STATES, "active"], help="only this state")
    c.add_argument("--limit", type=int, default=200)
    c.add_argument("--json", action="store_true", help="one JSON object per line")
    c.set_defaults(func=lambda a: _run(a, _list))

    c = cmds.add_parser(
        "show", parents=[common], help="one incident with its occurrences and audit log"
    )
    c.add_argument("id", type=incident_ref, help="incident id or ticket number (RW-2026-000123)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=lambda a: _run(a, show_incident))

    desk.register(cmds, common, _run)

    c = cmds.add_parser("ack", parents=[common], help="acknowledge (stops escalation)")
    c.add_argument("id", type=int)
    c.add_argument("--by", required=True, help="who acknowledges")
    c.add_argument("--note")
    c.set_defaults(func=lambda a: _run(a, _ack))

    c = cmds.add_parser("arrive", parents=[common], help="record an engineer on site")
    c.add_argument("id", type=int)
    c.add_argument("--by", required=True)
    c.set_defaults(func=lambda a: _run(a, _arrive))

    c = cmds.add_parser("resolve", parents=[common], help="resolve by hand")
    c.add_argument("id", type=int)
    c.add_argument("--by", default="cli")
    c.add_argument("--note")
    c.set_defaults(func=lambda a: _run(a, _resolve))

    c = cmds.add_parser("note", parents=[common], help="add a note")
    c.add_argument("id", type=int)
    c.add_argument("--by", required=True)
    c.add_argument("--public", action="store_true", help="the reporter sees it (follow page)")
    c.add_argument("text")
    c.set_defaults(func=lambda a: _run(a, _note))

    c = cmds.add_parser("assign", parents=[common], help="assign to someone")
    c.add_argument("id", type=int)
    c.add_argument("--to", required=True)
    c.add_argument("--by", required=True)
    c.set_defaults(func=lambda a: _run(a, _assign))

    c = cmds.add_parser("problems", parents=[common], help="list recurring problems")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=lambda a: _run(a, _problems))

    c = cmds.add_parser("problem", parents=[common], help="root cause and workaround")
    c.add_argument("id", type=int)
    c.add_argument("--by", required=True)
    c.add_argument("--root-cause")
    c.add_argument("--workaround", help="carried by later alerts of this problem")
    c.add_argument("--close", action="store_true")
    c.set_defaults(func=lambda a: _run(a, _problem))


def _run(args: argparse.Namespace, action: Action) -> int:
    alerting = AlertingConfig()
    inventory = Inventory()
    credentials = Credentials({})
    store_url = args.store
    config = None
    needs_config = action in _NEEDS_CONFIG or getattr(action, "needs_config", False)
    if store_url is None or needs_config:
        try:
            config = load_config(args.config)
        except ConfigError:
            if store_url is None:
                raise  # no store without the config: exit 2
            config = None  # --store given: work without the alerting section
    if config is not None:
        store_url = store_url or config.store
        alerting = config.alerting or alerting
        if needs_config:
            # device names and ack links in the notices this action queues; optional
            try:
                credentials, _ = load_credentials(config.credentials)
                inventory = load_inventory(config.inventory, credentials)
            except (ConfigError, OSError):
                pass
    try:
        if is_postgres_url(store_url):
            check_url(store_url)
        # opening a missing SQLite store would create it (and its directories) at a mistyped
        # path, and "no incidents" would be the answer while the real store holds open ones
        exists = store_exists(store_url)
    except StoreError as exc:  # not a store URL roomwatch can use
        raise UsageError(f"error: {exc}") from None
    if not exists:
        where = sqlite_path(store_url)
        if action is _list:
            # nothing recorded yet (the daemon has not run): no incidents, no store made
            print(
                f"note: no ticket store at {where} yet (check -c / --store if incidents"
                " were expected)",
                file=sys.stderr,
            )
            return ExitCode.OK
        raise NoAnswer(
            f"error: no ticket store at {where} (check -c / --store; the daemon creates it when"
            " it first runs)"
        )
    # an incident not found or a refused change (IncidentError) exits 1, a store that
    # fails 3: collector/commands/errors.py
    return asyncio.run(
        _with_store(config, store_url, alerting, inventory, credentials, args, action)
    )


def run_action(args: argparse.Namespace, action: Action) -> int:
    """Run `action` against the store of `-c` / `--store` (for `roomwatch kb` too)."""
    return _run(args, action)


async def _with_store(
    config: Config | None,
    url: str,
    alerting: AlertingConfig,
    inventory: Inventory,
    credentials: Credentials,
    args: argparse.Namespace,
    action: Action,
) -> int:
    store = await open_configured(config, url)
    try:
        return await action(args, IncidentContext(store, alerting, inventory, credentials))
    finally:
        await store.close()


def _line(incident: Incident, language: str) -> str:
    summary = summary_of(
        {"summary": incident.summary, "rule": incident.rule, "device": incident.device}, language
    )
    flags = []
    if incident.suppressed:
        flags.append(f"suppressed:{incident.suppressed}")
    if incident.stale:
        flags.append("stale")
    flag_text = f" [{' '.join(flags)}]" if flags else ""
    return (
        f"{incident.id:>5}  {incident.ticket:<15} {level_name(incident.level, language):<4}"
        f" {incident.state:<12}"
        f" {when(incident.active_since):<25}  {incident.device:<16} {summary}{flag_text}"
    )


async def _list(args: argparse.Namespace, ctx: IncidentContext) -> int:
    states: list[str] | None = None
    if args.state == "active":
        states = ["open", "acknowledged"]
    elif args.state:
        states = [args.state]
    found = await ctx.store.list_incidents(states, limit=args.limit)
    if args.json:
        for incident in found:
            print(json.dumps(incident.to_json(), ensure_ascii=False, sort_keys=True))
        return 0
    if not found:
        print("no incidents")
        return 0
    print(
        f"{'ID':>5}  {'TICKET':<15} {'LVL':<4} {'STATE':<12} {'SINCE':<25}  {'DEVICE':<16} SUMMARY"
    )
    for incident in found:
        print(_line(incident, ctx.alerting.language))
    return 0


def _check_on_roster(ctx: IncidentContext, *names: str) -> None:
    """A name given with --by or --to that is not on the duty roster is recorded as written,
    with a note: a typo would otherwise put the ack under a person nobody knows."""
    people = ctx.alerting.duty.people
    if not people:
        return  # no roster: any name goes
    known = {key: person.name or key for key, person in people.items()}
    for name in names:
        if name in known or name in known.values():
            continue
        print(
            f"note: {name!r} is not on the duty roster{did_you_mean(name, [*known, *known.values()])};"
            f" recorded as written (people: {', '.join(sorted(known))})",
            file=sys.stderr,
        )


async def _ack(args: argparse.Namespace, ctx: IncidentContext) -> int:
    now = ctx.clock()
    _check_on_roster(ctx, args.by)
    async with ctx.store.transaction():
        current = await find_incident(ctx.store, args.id)
        if current.state == "acknowledged":
            # asked twice (two people on one alert, a retried script): nothing to do, not a failure
            print(
                f"incident {current.id} was already acknowledged by {current.acknowledged_by}"
                f" at {when(current.acknowledged_at)}; nothing changed"
            )
            return 0
        incident = await lifecycle.acknowledge(ctx.store, current.id, args.by, now, args.note)
        await ctx.dispatch.check_sla(incident, now)
    print(f"incident {incident.id} acknowledged by {args.by}")
    return 0


async def _arrive(args: argparse.Namespace, ctx: IncidentContext) -> int:
    now = ctx.clock()
    _check_on_roster(ctx, args.by)
    async with ctx.store.transaction():
        incident = await lifecycle.arrive(ctx.store, args.id, args.by, now)
        await ctx.dispatch.check_sla(incident, now)
    print(f"incident {incident.id}: {args.by} on site")
    return 0


async def _resolve(args: argparse.Namespace, ctx: IncidentContext) -> int:
    now = ctx.clock()
    async with ctx.store.transaction():
        incident = await lifecycle.resolve(ctx.store, args.id, args.by, now, args.note)
        await ctx.dispatch.check_sla(incident, now)
        await ctx.dispatch.recovered(incident, now, args.by)
    print(f"incident {incident.id} resolved by {args.by}")
    return 0


async def _note(args: argparse.Namespace, ctx: IncidentContext) -> int:
    _check_on_roster(ctx, args.by)
    async with ctx.store.transaction():
        await lifecycle.add_note(ctx.store, args.id, args.by, args.text, ctx.clock(), args.public)
    print(f"incident {args.id}: note added")
    return 0


async def _assign(args: argparse.Namespace, ctx: IncidentContext) -> int:
    _check_on_roster(ctx, args.to, args.by)
    async with ctx.store.transaction():
        await lifecycle.assign(ctx.store, args.id, args.to, args.by, ctx.clock())
    print(f"incident {args.id} assigned to {args.to}")
    return 0


async def _problems(args: argparse.Namespace, ctx: IncidentContext) -> int:
    found = await ctx.store.problems()
    if args.json:
        for p in found:
            print(json.dumps(p.__dict__, ensure_ascii=False, sort_keys=True))
        return 0
    if not found:
        print("no problems")
        return 0
    for p in found:
        print(f"{p.id:>5}  {p.state:<7} {p.occurrences:>3}x  {p.key}")
        if p.root_cause:
            print(f"         root cause: {p.root_cause}")
        if p.workaround:
            print(f"         workaround: {p.workaround}")
    return 0


async def _problem(args: argparse.Namespace, ctx: IncidentContext) -> int:
    async with ctx.store.transaction():
        problem = await problems.annotate(
            ctx.store,
            args.id,
            args.by,
            ctx.clock(),
            root_cause=args.root_cause,
            workaround=args.workaround,
            state="closed" if args.close else None,
        )
        # a problem's workaround is a known error: keep it in the knowledge base
        await knowledge.from_problem(
            ctx.store, problem, ctx.dispatch.inventory, args.by, ctx.clock()
        )
    print(f"problem {problem.id} updated")
    return 0


# actions that queue notices need the alerting section and the inventory
_NEEDS_CONFIG: tuple[Action, ...] = (_resolve, _problem, show_incident, *desk.NEEDS_CONFIG)
