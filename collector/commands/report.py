"""`roomwatch report …`: write the monthly SLA report or the daily inspection sheet.

    roomwatch report monthly --month 2026-11 [--site S] [--format html|md|csv] [--lang zh|en] [-o FILE]
    roomwatch report monthly --quarter 2026Q4 …
    roomwatch report inspection [--at TIME] [--site S] [--format html|md|csv] [--lang zh|en] [-o FILE]

The monthly report reads the ticket store named by the config (`--store` overrides it) and
the maintenance windows file; the inspection sheet polls every device of the inventory once,
as `roomwatch poll` does, and grades the readings with the rules. Without `-o` (or with
`-o -`) the report goes to standard output. CSV files get a byte-order mark so spreadsheet
programs read Chinese text correctly. `--at` is the inspection time written on the sheet (and
used for maintenance windows; default: now). Exit codes: 2 for a bad option, period, time,
config or output file, 3 when the ticket store is missing or unreadable; the inspection sheet
is written (exit 0) with the devices that did not answer marked on it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from alerting.config import AlertingConfig
from alerting.reports import jobs, output
from alerting.reports.period import parse_period
from alerting.store import StoreError, sqlite_path, store_exists
from collector.clock import SystemClock
from collector.commands.errors import ExitCode, NoAnswer, UsageError
from collector.config import DEFAULT_CONFIG, Config, load_config
from collector.loading import load_all
from collector.polling import build_probes, poll_all
from collector.storeconn import open_configured
from inventory import load_credentials, load_inventory
from rules.maintenance import MaintenanceWindow, parse_time


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    common.add_argument("--site", help="only this site")
    common.add_argument("--format", choices=output.FORMATS, default="html")
    common.add_argument("--lang", choices=("zh", "en"), help="default: alerting.reports.language")
    common.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")

    p = sub.add_parser("report", help="write the monthly SLA report or the inspection sheet")
    kinds = p.add_subparsers(dest="report", metavar="REPORT", required=True)

    m = kinds.add_parser("monthly", parents=[common], help="monthly (or quarterly) SLA report")
    which = m.add_mutually_exclusive_group(required=True)
    which.add_argument("--month", help="the month, e.g. 2026-11")
    which.add_argument("--quarter", help="the quarter, e.g. 2026Q4")
    m.add_argument("--store", help="ticket store URL (default: from the config)")
    m.set_defaults(func=_monthly)

    i = kinds.add_parser("inspection", parents=[common], help="the daily inspection sheet")
    i.add_argument("--at", help="inspection time, e.g. '2026-11-23 08:30' (default: now)")
    i.set_defaults(func=_inspection)


def _fail(message: str) -> UsageError:
    return UsageError(f"error: {message}")


def _write(args: argparse.Namespace, document: str) -> int:
    if args.output == "-":
        sys.stdout.write(document)
        return ExitCode.OK
    encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
    try:
        Path(args.output).write_text(document, encoding=encoding)
    except OSError as exc:
        raise _fail(f"cannot write {args.output}: {exc.strerror or exc}") from None
    return ExitCode.OK


def _windows(config: Config) -> list[MaintenanceWindow]:
    return jobs.windows_in(config.maintenance_file)


def _alerting(config: Config) -> AlertingConfig:
    return config.alerting if isinstance(config.alerting, AlertingConfig) else AlertingConfig()


def _monthly(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # a bad file: ConfigError, exit 2
    credentials, _ = load_credentials(config.credentials)
    inventory = load_inventory(config.inventory, credentials)
    windows = _windows(config)
    alerting = _alerting(config)
    tz = jobs.report_timezone(alerting)
    try:
        period = parse_period(args.month or args.quarter, tz)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    now = SystemClock().now()
    if period.start > now:
        # There are no figures yet; a report "as of" before its own period would show every
        # device 0 minutes observed and every rate empty, which reads like a broken report.
        raise _fail(f"{period.label} has not begun yet")
    if args.site and args.site not in inventory.sites:
        raise _fail(f"unknown site {args.site!r}; known: {', '.join(sorted(inventory.sites))}")
    url = args.store or config.store
    try:
        exists = store_exists(url)
    except StoreError as exc:  # not a store URL at all
        raise _fail(str(exc)) from None
    if not exists:
        raise NoAnswer(f"error: no ticket store at {sqlite_path(url)} (has the daemon run yet?)")

    async def build() -> str:
        store = await open_configured(config, url, credentials=credentials)
        try:
            report = await jobs.monthly_report(
                store, alerting, inventory, windows, period, now, args.site
            )
        finally:
            await store.close()
        return output.monthly(report, args.format, args.lang or jobs.report_language(alerting), now)

    document = asyncio.run(build())  # a store that fails: StoreError, exit 3
    return _write(args, document)


def _inspection(args: argparse.Namespace) -> int:
    loaded = load_all(args.config)  # a bad file: ConfigError, exit 2
    windows = _windows(loaded.config)
    inventory = loaded.inventory
    if args.site and args.site not in inventory.sites:
        raise _fail(f"unknown site {args.site!r}; known: {', '.join(sorted(inventory.sites))}")
    clock = SystemClock()
    try:
        at = parse_time(args.at) if args.at else clock.now()
    except ValueError as exc:
        raise _fail(str(exc)) from None
    probes = [
        probe
        for (device, _), probe in build_probes(inventory)
        if not args.site or inventory.devices[device].site == args.site
    ]
    results = asyncio.run(poll_all(probes, loaded.config.collector.concurrency or 64, clock.now))
    samples = [s for r in results for s in r.samples]
    for r in results:
        if not r.up:
            print(f"{r.device} ({r.probe_type}): {r.reason}: {r.error}", file=sys.stderr)
    alerting = _alerting(loaded.config)
    sheet = jobs.inspection_sheet(inventory, loaded.ruleset, samples, windows, at, args.site)
    lang = args.lang or jobs.report_language(alerting)
    return _write(args, output.inspection(sheet, args.format, lang, jobs.report_timezone(alerting)))
