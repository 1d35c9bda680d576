"""`roomwatch incidents open` and `accept`: the service desk's own steps.

    roomwatch incidents open --title "Printer in room 3 offline" --level 3 \
        [--device ID] [--reporter NAME] [--contact PHONE-OR-MAIL] [--description TEXT] \
        [--source phone|mail|api|console] [--by NAME]
    roomwatch incidents accept ID --until "2026-12-05 18:00" --by NAME --reason TEXT

`open` records a ticket someone reported by phone (or any other way): it gets a ticket number
and runs the same SLA clocks, escalation, duty schedule and reports as a monitored incident.
`accept` resolves a monitored incident whose fault is known and tolerated for now: it does
not reopen until `--until`, and is looked at again then."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

from alerting import desk
from alerting.incidents import IncidentError
from collector.commands.errors import UsageError
from collector.commands.incident_context import (
    Action,
    IncidentContext,
    find_incident,
    incident_ref,
)


def register(
    cmds: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace, Action], int],
) -> None:
    c = cmds.add_parser("open", parents=[common], help="open a ticket someone reported")
    c.add_argument("--title", required=True, help="what is wrong, in one line")
    c.add_argument("--level", type=int, required=True, choices=(1, 2, 3))
    c.add_argument("--device", help="inventory id of the device concerned")
    c.add_argument("--reporter", help="who reported it")
    c.add_argument("--contact", help="the reporter's phone number or mail address")
    c.add_argument("--description")
    c.add_argument("--source", default="phone", choices=desk.SOURCES)
    c.add_argument("--by", default="desk", help="who records it")
    c.set_defaults(func=lambda a: run(a, open_ticket))

    c = cmds.add_parser("accept", parents=[common], help="accept a known fault until a time")
    c.add_argument("id", type=incident_ref, help="incident id or ticket number")
    c.add_argument("--until", required=True, help="YYYY-MM-DD HH:MM (local time) or ISO 8601")
    c.add_argument("--by", required=True)
    c.add_argument("--reason", required=True)
    c.set_defaults(func=lambda a: run(a, accept))


def parse_until(text: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"error: --until {text!r} is not a time: write it as 2026-12-05 18:00"
            " or 2026-12-05T18:00+08:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.timestamp()


async def open_ticket(args: argparse.Namespace, ctx: IncidentContext) -> int:
    now = ctx.clock()
    site = None
    if args.device:
        device = ctx.dispatch.inventory.devices.get(args.device)
        if device is None and ctx.dispatch.inventory.devices:
            raise IncidentError(f"no device {args.device!r} in the inventory")
        site = device.site if device else None
    fields: dict[str, Any] = {
        "title": args.title,
        "level": args.level,
        "device": args.device,
        "site": site,
        "reporter": args.reporter,
        "contact": args.contact,
        "description": args.description,
        "source": args.source,
        "shard": ctx.dispatch.inventory.shard_of(args.device) if args.device else "*",
    }
    year = dt.datetime.fromtimestamp(now, ctx.dispatch.tz()).year
    async with ctx.store.transaction():
        change = await desk.open_ticket(
            ctx.store,
            by=args.by,
            now=now,
            prefix=ctx.alerting.desk.ticket_prefix,
            year=year,
            **fields,
        )
        await ctx.dispatch.after_change(change, now)
    incident = change.incident
    print(f"ticket {incident.ticket} opened (incident {incident.id}, level {incident.level})")
    return 0


async def accept(args: argparse.Namespace, ctx: IncidentContext) -> int:
    now = ctx.clock()
    until = parse_until(args.until)
    incident = await find_incident(ctx.store, args.id)
    async with ctx.store.transaction():
        incident = await desk.accept(ctx.store, incident.id, args.by, until, now, args.reason)
        await ctx.dispatch.check_sla(incident, now)
        await ctx.dispatch.recovered(incident, now, args.by)
    print(f"incident {incident.id} ({incident.ticket}) accepted by {args.by} until {args.until}")
    return 0


NEEDS_CONFIG: tuple[Action, ...] = (open_ticket, accept)
