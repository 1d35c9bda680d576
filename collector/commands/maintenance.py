"""`roomwatch maintenance add|list|end`: maintenance windows in the maintenance file.

The file is `maintenance_file` of the config (default `<state_dir>/maintenance.yaml`), or
`--file`; the daemon notices the change and applies it. Times are ISO 8601, local time unless
an offset is given (`2026-11-23T02:00`, `2026-11-23T02:00+08:00`); the start defaults to now.
Exit codes: 1 when the window to end is not there or already over, 2 for a bad option, time or
file."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from collector.commands.errors import ExitCode, Finding, UsageError
from collector.config import DEFAULT_CONFIG, load_config
from core.durations import format_duration, parse_duration
from inventory import ConfigError, Inventory, load_credentials, load_inventory
from inventory.model import KINDS, Selector
from rules.maintenance import PERIODS, MaintenanceWindow, format_time, parse_time, selector_to_yaml
from rules.maintenance_service import (
    MaintenanceService,
    UnknownWindow,
    WindowError,
    WindowOver,
    WindowRequest,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("maintenance", help="add, list and end maintenance windows")
    msub = p.add_subparsers(dest="maintenance_command", metavar="ACTION", required=True)

    def where(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
        parser.add_argument("--file", help="the maintenance file (instead of the config's)")

    add = msub.add_parser("add", help="add a maintenance window")
    add.add_argument("--device", action="append", default=[], metavar="GLOB", help="device id glob")
    add.add_argument("--kind", action="append", default=[], choices=KINDS)
    add.add_argument("--site", action="append", default=[])
    add.add_argument("--tag", action="append", default=[], help="devices carrying this tag")
    add.add_argument("--start", help="ISO time (default: now)")
    end = add.add_mutually_exclusive_group(required=True)
    end.add_argument("--end", help="ISO time")
    end.add_argument("--duration", help="length, e.g. 2h or 30m")
    add.add_argument("--every", choices=sorted(PERIODS), help="repeat daily or weekly")
    add.add_argument("--reason", required=True)
    add.add_argument("--by", help="who asked for it")
    where(add)
    add.set_defaults(func=_add)

    lst = msub.add_parser("list", help="list windows (current and future; --all for past)")
    lst.add_argument("--all", action="store_true", help="include finished windows")
    lst.add_argument("--json", action="store_true")
    where(lst)
    lst.set_defaults(func=_list)

    stop = msub.add_parser("end", help="end a window (or a recurring series) now")
    stop.add_argument("id")
    where(stop)
    stop.set_defaults(func=_end)


def _path(args: argparse.Namespace) -> Path:
    if args.file:
        return Path(args.file)
    return load_config(args.config).maintenance_file


def _fail(message: str) -> UsageError:
    return UsageError(f"roomwatch maintenance: {message}")


def _add(args: argparse.Namespace) -> int:
    selector = Selector(
        kind=tuple(args.kind), site=tuple(args.site), id=tuple(args.device), tags=tuple(args.tag)
    )
    if selector == Selector():
        raise _fail("select devices with --device, --kind, --site or --tag")
    now = time.time()
    try:
        request = WindowRequest(
            selector=selector,
            reason=args.reason,
            start=parse_time(args.start) if args.start else None,
            end=parse_time(args.end) if args.end else None,
            duration=parse_duration(args.duration) if args.duration else None,
            every=args.every,
            created_by=args.by,
        )
    except ValueError as exc:
        raise _fail(str(exc)) from None
    try:
        # a bad config or maintenance file: ConfigError, exit 2
        window = MaintenanceService(_path(args)).add(request, now)
    except WindowError as exc:
        raise _fail(str(exc)) from None
    print(f"added {window.id}: {_describe(window, now)}")
    inventory = _inventory(args)
    if inventory is not None:
        matched = [d.id for d in inventory.select(selector)]
        if matched:
            more = f" … (+{len(matched) - 20})" if len(matched) > 20 else ""
            print(f"  {len(matched)} device(s): {', '.join(matched[:20])}{more}")
        else:
            # a mistyped glob would otherwise silence nothing, and the work would page people
            print(
                f"roomwatch maintenance: warning: {window.id} selects no device of the inventory"
                " (check --device, --kind, --site, --tag)",
                file=sys.stderr,
            )
    return ExitCode.OK


def _inventory(args: argparse.Namespace) -> Inventory | None:
    """The config's inventory, when there is a readable one (None: no check possible)."""
    try:
        config = load_config(args.config)
        credentials, _ = load_credentials(config.credentials)
        return load_inventory(config.inventory, credentials)
    except (ConfigError, OSError):
        return None


def _list(args: argparse.Namespace) -> int:
    now = time.time()
    windows = MaintenanceService(_path(args)).windows()  # a bad file: ConfigError, exit 2
    shown = [w for w in windows if args.all or not w.finished(now)]
    if args.json:
        for w in shown:
            print(
                json.dumps(
                    {
                        "id": w.id,
                        "select": selector_to_yaml(w.selector),
                        "start": w.start,
                        "end": w.end,
                        "every": w.every,
                        "ended": w.ended,
                        "reason": w.reason,
                        "created_by": w.created_by,
                        "active": w.active(now),
                    },
                    ensure_ascii=False,
                )
            )
        return 0
    if not shown:
        print("no maintenance windows")
    for w in shown:
        print(f"{w.id}  {_describe(w, now)}")
    return 0


def _end(args: argparse.Namespace) -> int:
    path = _path(args)
    try:
        MaintenanceService(path).end(args.id, time.time())
    except UnknownWindow:  # as an unknown incident: the answer is no, exit 1
        raise Finding(f"roomwatch maintenance: no window {args.id!r} in {path}") from None
    except WindowOver:  # as acknowledging a resolved incident: refused, exit 1
        raise Finding(f"roomwatch maintenance: window {args.id!r} is already over") from None
    print(f"ended {args.id}")
    return ExitCode.OK


def _describe(w: MaintenanceWindow, now: float) -> str:
    select = " ".join(f"{k}={v}" for k, v in selector_to_yaml(w.selector).items())
    if w.finished(now):
        state = "finished"
    elif w.active(now):
        state = f"ACTIVE until {format_time(w.current_end(now) or w.end)}"
    else:
        state = "scheduled"
    span = f"{format_time(w.start)} for {format_duration(w.end - w.start)}"
    if w.every:
        span += f", {w.every}"
    by = f" (by {w.created_by})" if w.created_by else ""
    return f"[{state}] {select}  {span}  {w.reason}{by}"
