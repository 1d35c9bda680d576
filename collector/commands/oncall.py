"""`roomwatch oncall now [--at TIME] [--json]`: who is on duty, by the configured schedule."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from alerting.config import AlertingConfig
from alerting.duty import local_time, on_duty, person, resolve_targets
from collector.clock import SystemClock
from collector.commands.errors import UsageError
from collector.config import DEFAULT_CONFIG, load_config
from core.timefmt import iso_time


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("oncall", help="the duty schedule")
    cmds = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = cmds.add_parser("now", help="who is on duty now (or at --at)")
    c.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    c.add_argument("--at", help='a local time instead of now, e.g. "2026-11-23 20:00"')
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_now)


def _now(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # a bad file: ConfigError, exit 2
    alerting: AlertingConfig = config.alerting or AlertingConfig()
    duty = alerting.duty
    ts = SystemClock().now()
    if args.at:
        try:
            moment = dt.datetime.fromisoformat(args.at)
        except ValueError:
            raise UsageError(
                f"error: --at {args.at!r}: expected a time like 2026-11-23 20:00"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=local_time(duty, ts).tzinfo)
        ts = moment.timestamp()
    current = on_duty(duty, ts)
    people = [
        {
            "id": p,
            "name": person(duty, p).name or p,
            "phone": person(duty, p).phone,
            "email": person(duty, p).email,
        }
        for p in current.people
    ]
    leads = resolve_targets(duty, ["role:team-lead"], ts)
    managers = resolve_targets(duty, ["role:manager"], ts)
    if args.json:
        print(
            json.dumps(
                {
                    "time": local_time(duty, ts).isoformat(timespec="minutes"),
                    "shift": current.shift,
                    "mode": current.mode,
                    "starts": current.starts.isoformat(timespec="minutes")
                    if current.starts
                    else None,
                    "ends": current.ends.isoformat(timespec="minutes") if current.ends else None,
                    "people": people,
                    "team_lead": list(leads),
                    "manager": list(managers),
                },
                ensure_ascii=False,
            )
        )
        return 0
    moment = local_time(duty, ts)
    when = iso_time(ts, moment.tzinfo)
    if current.shift is None:
        print(f"{when}: no shift covers this time")
    else:
        span = ""
        if current.starts and current.ends:
            span = f" {current.starts:%H:%M}–{current.ends:%H:%M}"
        print(f"{when}: shift {current.shift} ({current.mode}){span}")
    if not people:
        print("  nobody on duty (no rotation or override names anyone)")
    for p in people:
        contact = ", ".join(x for x in (p["phone"], p["email"]) if x)
        print(f"  {p['name']} ({p['id']}){'  ' + contact if contact else ''}")
    if leads:
        print(f"  team lead: {', '.join(person(duty, p).name or p for p in leads)}")
    if managers:
        print(f"  manager: {', '.join(person(duty, p).name or p for p in managers)}")
    return 0
