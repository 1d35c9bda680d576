"""`roomwatch report …`: write the monthly SLA report or the daily inspection sheet.

    roomwatch report monthly [--month 2026-11] [--site S] [--format html|md|csv] [--lang zh|en] [-o FILE]
    roomwatch report monthly --quarter 2026Q4 …
    roomwatch report inspection [--at TIME] [--site S] [--format html|md|csv] [--lang zh|en] [-o FILE]

The monthly report reads the ticket store named by the config (`--store` overrides it) and
the maintenance windows file; without `--month` or `--quarter` it is the last whole month.
The inspection sheet polls every device of the inventory once, as `roomwatch poll` does, and
grades the readings with the rules. Without `-o` the report is written to a file in the current
folder named for its period, language and format (`monthly-2026-11.zh.html`,
`inspection-2026-12-01.en.csv`), and its name is printed; `-o -` writes to standard output. CSV files get a byte-order mark so spreadsheet
programs read Chinese text correctly. `--at` is the inspection time written on the sheet (and
used for maintenance windows; default: now). Exit codes: 2 for a bad option, period, time,
config or output file, 3 when the ticket store is missing or unreadable; the inspection sheet
is written (exit 0) with the devices that did not answer marked on it."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
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
    common.add_argument(
        "-o",
        "--output",
        help="file to write, - for standard output (default: a file named for the period)",
    )

    p = sub.add_parser("report", help="write the monthly SLA report or the inspection sheet")
    kinds = p.add_subparsers(dest="report", metavar="REPORT", required=True)

    m = kinds.add_parser("monthly", parents=[common], help="monthly (or quarterly) SLA report")
    which = m.add_mutually_exclusive_group()
    which.add_argument("--month", help="the month, e.g. 2026-11 (default: the last whole month)")
    which.add_argument("--quarter", help="the quarter, e.g. 2026Q4")
    m.add_argument("--store", help="ticket store URL (default: from the config)")
    m.set_defaults(func=_monthly)

    i = kinds.add_parser("inspection", parents=[common], help="the daily inspection sheet")
    i.add_argument("--at", help="inspection time, e.g. '2026-11-23 08:30' (default: now)")
    i.set_defaults(func=_inspection)


def _fail(message: str) -> UsageError:
    return UsageError(f"error: {message}")


def _write(args: argparse.Namespace, document: str, default_name: str) -> int:
    if args.output == "-":
        sys.stdout.write(document)
        return ExitCode.OK
    target = Path(args.output or default_name)
    encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
    try:
        target.write_text(document, encoding=encoding)
    except OSError as exc:
        raise _fail(f"cannot write {target}: {exc.strerror or exc}") from None
    if args.output is None:
        print(f"wrote {target}")
    return ExitCode.OK


def _file_name(kind: str, label: str, site: str | None, lang: str, fmt: str) -> str:
    where = f".{site}" if site else ""
    return f"{kind}-{label}{where}.{lang}.{fmt}"


def last_whole_month(now: float, tz: dt.tzinfo) -> str:
    """The month before the one `now` falls in, in the report's zone: "2026-11" on 2026-12-01."""
    first = dt.datetime.fromtimestamp(now, tz).date().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


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
    now = SystemClock().now()
    try:
        period = parse_period(args.month or args.quarter or last_whole_month(now, tz), tz)
    except ValueError as exc:
        raise _fail(str(exc)) from None
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
    kind = "quarterly" if args.quarter else "monthly"
    lang = args.lang or jobs.report_language(alerting)
    return _write(args, document, _file_name(kind, period.label, args.site, lang, args.format))


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
    tz = jobs.report_timezone(alerting)
    day = dt.datetime.fromtimestamp(at, tz).date().isoformat()
    name = _file_name("inspection", day, args.site, lang, args.format)
    return _write(args, output.inspection(sheet, args.format, lang, tz), name)
