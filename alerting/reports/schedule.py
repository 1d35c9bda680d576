"""When reports are built and mailed: the monthly report on the first day of each month for
the month before (and the quarterly one on the first day of a quarter), the inspection sheet
every day, each at its configured local time.

`due_reports` is pure: what is due at a local time. `ReportScheduler.tick` is what the
daemon's once-a-second tick calls: it builds each due report that has not been built yet,
keeps it in `<state_dir>/reports/` (the file is the record that it was done, so a restart
neither loses nor repeats one) and queues it in the outbox on the configured channels. A
report missed while the daemon was down is caught up: a monthly one until the 7th, a daily
sheet until the end of its day. A failure is logged once and retried after `RETRY_SECONDS`."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from alerting.config import AlertingConfig
from alerting.reports import jobs, mailing, output, period, tables
from alerting.reports.config import ReportsConfig, ScheduledReport
from alerting.store import TicketStore
from core.atomic import write_atomic
from core.sample import Sample
from inventory.model import Inventory
from rules.maintenance import MaintenanceWindow
from rules.model import Rule

log = logging.getLogger("roomwatch.reports")

CATCH_UP_DAYS = 7  # a monthly report missed on the 1st is still built until the 7th
RETRY_SECONDS = 300.0
FIRST_POLL_GRACE = 120.0  # how long a due sheet waits for every device to have answered once


@dataclass(frozen=True)
class Due:
    report: str  # monthly | quarterly | inspection
    label: str  # the period ("2026-11", "2026Q4") or the day ("2026-11-23")
    schedule: ScheduledReport
    period: period.Period | None = None

    @property
    def name(self) -> str:
        return f"{self.report}-{self.label}"


def _reached(local_now: dt.datetime, minutes: int) -> bool:
    return local_now.hour * 60 + local_now.minute >= minutes


def due_reports(config: ReportsConfig, local_now: dt.datetime) -> list[Due]:
    """The reports due at `local_now` (whether or not they were built already)."""
    out: list[Due] = []
    monthly = config.monthly
    if monthly is not None and monthly.enabled:
        first_day_passed = local_now.day > 1 or _reached(local_now, monthly.minutes)
        if first_day_passed and local_now.day <= CATCH_UP_DAYS:
            last = period.previous_month(local_now)
            out.append(Due("monthly", last.label, monthly, last))
            if monthly.quarterly and local_now.month in (1, 4, 7, 10):
                quarter = period.previous_quarter(local_now)
                out.append(Due("quarterly", quarter.label, monthly, quarter))
    daily = config.inspection
    if daily is not None and daily.enabled and _reached(local_now, daily.minutes):
        out.append(Due("inspection", local_now.date().isoformat(), daily))
    return out


def _summary(subject: str, facts: Sequence[tuple[str, str]], path: Path) -> str:
    lines = [f"**{subject}**", "", *(f"- {k}: {v}" for k, v in facts), "", f"`{path}`"]
    return "\n".join(lines)


class ReportScheduler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._done: set[str] = set()
        self._failed: dict[str, float] = {}  # report name → when it last failed
        self._waiting: dict[str, float] = {}  # report name → when it first waited for readings

    def path_of(self, due: Due) -> Path:
        return self.directory / f"{due.name}.{due.schedule.format}"

    def pending(self, config: ReportsConfig, local_now: dt.datetime, now: float) -> list[Due]:
        out = []
        for due in due_reports(config, local_now):
            if due.name in self._done:
                continue
            if self.path_of(due).exists():
                self._done.add(due.name)
                continue
            failed = self._failed.get(due.name)
            if failed is not None and now - failed < RETRY_SECONDS:
                continue
            out.append(due)
        return out

    async def tick(
        self,
        now: float,
        *,
        store: TicketStore,
        config: AlertingConfig,
        inventory: Inventory,
        rules: Iterable[Rule],
        samples: Callable[[], Iterable[Sample]],
        windows: Callable[[], Sequence[MaintenanceWindow]],
    ) -> list[Path]:
        """Build and queue the reports due at `now`; returns the files written. `samples` and
        `windows` are called only when a report is built."""
        tz = jobs.report_timezone(config)
        local_now = dt.datetime.fromtimestamp(now, tz)
        written = []
        for due in self.pending(config.reports, local_now, now):
            try:
                path = await self._run(
                    due, now, tz, store, config, inventory, rules, samples, windows
                )
            except Exception:
                if due.name not in self._failed:
                    log.exception("report %s could not be built; will retry", due.name)
                self._failed[due.name] = now
                continue
            if path is None:
                continue
            self._failed.pop(due.name, None)
            self._done.add(due.name)
            written.append(path)
        return written

    def _readings_ready(
        self, due: Due, inventory: Inventory, readings: Sequence[Sample], now: float
    ) -> bool:
        polled = {s.device for s in readings if s.metric == "device.up"}
        expected = {d.id for d in inventory.devices.values() if d.probes}
        if readings and expected <= polled:
            return True
        since = self._waiting.setdefault(due.name, now)
        return bool(readings) and now - since >= FIRST_POLL_GRACE

    async def _run(
        self,
        due: Due,
        now: float,
        tz: dt.tzinfo,
        store: TicketStore,
        config: AlertingConfig,
        inventory: Inventory,
        rules: Iterable[Rule],
        samples: Callable[[], Iterable[Sample]],
        windows: Callable[[], Sequence[MaintenanceWindow]],
    ) -> Path | None:
        lang = jobs.report_language(config)
        fmt = due.schedule.format
        if due.period is not None:
            report = await jobs.monthly_report(store, config, inventory, windows(), due.period, now)
            document = await asyncio.to_thread(output.monthly, report, fmt, lang, now)
            mail_text = await asyncio.to_thread(output.monthly, report, "md", lang, now)
            heading = tables.monthly_heading(report, lang, now)
        else:
            readings = list(samples())
            if not self._readings_ready(due, inventory, readings, now):
                return None  # the daemon just started: give every device a first poll
            sheet = jobs.inspection_sheet(inventory, rules, readings, windows(), now)
            document = output.inspection(sheet, fmt, lang, tz)
            mail_text = output.inspection(sheet, "md", lang, tz)
            heading = tables.inspection_heading(sheet, lang, tz)
        path = self.path_of(due)
        write_atomic(path, document)
        subject = f"[roomwatch] {heading.title}" + (f" {due.label}" if due.period is None else "")
        message = mailing.payload(
            due.report,
            due.label,
            subject,
            mail_text,
            _summary(subject, heading.facts, path),
            lang,
            now,
        )
        if due.schedule.notifiers:
            await mailing.queue(store, config, due.schedule, message, now)
        log.info("report %s written to %s", due.name, path)
        return path
