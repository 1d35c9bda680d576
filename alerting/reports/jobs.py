"""Building a report from the running system's parts: the ticket store, the inventory, the
rules, the maintenance windows and the latest samples. Shared by `roomwatch report` and the
schedule, so a mailed report and one asked for by hand are built the same way."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path

from alerting.config import AlertingConfig
from alerting.reports.inspection import InspectionSheet, build_inspection
from alerting.reports.monthly import MonthlyInput, MonthlyReport, build_monthly
from alerting.reports.period import Period, timezone
from alerting.reports.source import read_history, read_incidents, read_surveys
from alerting.store import TicketStore
from core.sample import Sample
from inventory.model import Inventory
from rules.maintenance import MaintenanceWindow, load_windows
from rules.model import Rule


def report_timezone(config: AlertingConfig) -> dt.tzinfo:
    return timezone(config.reports.timezone or config.duty.timezone)


def windows_in(path: Path) -> list[MaintenanceWindow]:
    """The maintenance windows of `path` ([] when there is no file). Raises ConfigError."""
    return load_windows(path) if path.exists() else []


def report_language(config: AlertingConfig) -> str:
    return config.reports.language or config.language


async def monthly_report(
    store: TicketStore,
    config: AlertingConfig,
    inventory: Inventory,
    windows: Sequence[MaintenanceWindow],
    period: Period,
    now: float,
    site: str | None = None,
) -> MonthlyReport:
    found, spans = await read_incidents(store)
    occurrences, breaches = await read_history(store)
    data = MonthlyInput(
        occurrences=occurrences,
        breaches=breaches,
        surveys=await read_surveys(store),
        incidents=found,
        spans=spans,
        problems=await store.problems(),
        windows=windows,
        inventory=inventory,
        sla=config.sla_for,
        now=now,
    )
    # a busy year is a few hundred ms of arithmetic: keep it off the daemon's event loop
    return await asyncio.to_thread(build_monthly, data, period, site)


def inspection_sheet(
    inventory: Inventory,
    rules: Iterable[Rule],
    samples: Iterable[Sample],
    windows: Sequence[MaintenanceWindow],
    at: float,
    site: str | None = None,
) -> InspectionSheet:
    return build_inspection(inventory, list(rules), samples, at, windows, site)
