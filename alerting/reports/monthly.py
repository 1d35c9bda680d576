"""The monthly (or quarterly) SLA report as data: `build_monthly` computes a MonthlyReport
from a MonthlyInput of values (incidents, the spans during which each was open, problems,
maintenance windows, the inventory and the SLA targets). Pure: no store, no clock. Laying out
and rendering live in tables.py and the templates.

Its parts, each beside the definitions of what it counts (the README's "Reports" section
repeats them for readers): monthly_input.py what a report is computed from and the
occurrences it counts; sla_figures.py the figures of each level (in time, MTTA, MTTR, …);
availability.py the availability table. This module adds the rest of the report: faults
suppressed, still open, problems, maintenance, the level-by-month trend and the response-time
buckets."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from alerting.reports import intervals
from alerting.reports.availability import (
    DEVICE_METRICS,
    WEBSITE_METRICS,
    AvailabilityRow,
    availability_rows,
)
from alerting.reports.monthly_input import Case, MonthlyInput, cases_of, current_occurrence
from alerting.reports.period import Period, month_start, trailing_months
from alerting.reports.sla_figures import LevelStats, level_stats, median, percentile, ratio
from alerting.store import Incident
from inventory.model import Inventory

# Importable from here as before the report was split into its parts.
__all__ = [
    "DEVICE_METRICS",
    "LEVELS",
    "RESPONSE_BUCKETS",
    "TOP_PROBLEMS",
    "TREND_MONTHS",
    "WEBSITE_METRICS",
    "AvailabilityRow",
    "Case",
    "LevelStats",
    "MaintenanceRow",
    "MonthlyInput",
    "MonthlyReport",
    "OpenRow",
    "ProblemRow",
    "build_monthly",
    "cases_of",
    "current_occurrence",
    "level_stats",
    "median",
    "percentile",
    "ratio",
]

LEVELS = (1, 2, 3)
# response-time buckets, as fractions of the level's respond target (upper bounds)
RESPONSE_BUCKETS = (0.25, 0.5, 1.0, 2.0, math.inf)
TREND_MONTHS = 6
TOP_PROBLEMS = 10


@dataclass(frozen=True)
class ProblemRow:
    id: int
    key: str
    state: str
    occurrences: int  # in the period
    total: int  # since the problem opened
    root_cause: str | None
    workaround: str | None


@dataclass(frozen=True)
class OpenRow:
    id: int
    level: int
    device: str
    rule: str
    state: str
    opened_at: float
    suppressed: str | None
    summary: dict[str, str]
    ticket: str = ""


@dataclass(frozen=True)
class MaintenanceRow:
    id: str
    reason: str
    devices: tuple[str, ...]
    seconds: float  # time in the period


@dataclass(frozen=True)
class MonthlyReport:
    period: Period
    site: str | None
    as_of: float  # the end of the period, or the time of the report if earlier
    levels: tuple[LevelStats, ...]  # 1, 2, 3
    total: LevelStats
    suppressed: dict[str, int]  # reason → incidents opened in the period
    availability: tuple[AvailabilityRow, ...]
    problems: tuple[ProblemRow, ...]
    still_open: tuple[OpenRow, ...]
    maintenance: tuple[MaintenanceRow, ...]
    maintenance_incidents: tuple[OpenRow, ...]
    trend: tuple[tuple[str, dict[int, int]], ...]  # "2026-11" → level → incidents opened
    response_buckets: dict[int, list[int]]  # level → counts per RESPONSE_BUCKETS + unacked
    sla_targets: dict[int, tuple[float, float]] = field(default_factory=dict)


def _in_site(site: str | None, inventory: Inventory, incident: Incident) -> bool:
    if site is None:
        return True
    if incident.site is not None:
        return incident.site == site
    device = inventory.devices.get(incident.device)
    return device is not None and device.site == site


def _open_at(data: MonthlyInput, incident: Incident, at: float) -> bool:
    """Was `incident` open at `at`? Its audit-log spans say so where they were read (a
    reopened incident: its current resolved_at is that of its latest occurrence, so an
    occurrence resolved within the period and reopened after it would look open then)."""
    spans = data.spans.get(incident.id)
    if spans:
        return any(start < at and (end is None or end >= at) for start, end in spans)
    return incident.opened_at < at and (incident.resolved_at is None or incident.resolved_at >= at)


def _open_row(incident: Incident) -> OpenRow:
    return OpenRow(
        id=incident.id,
        level=incident.level,
        device=incident.device,
        rule=incident.rule,
        state=incident.state,
        opened_at=incident.opened_at,
        suppressed=incident.suppressed,
        summary=dict(incident.summary),
        ticket=incident.ticket,
    )


def _month_of(ts: float, months: Sequence[tuple[int, int]], period: Period) -> str | None:
    for year, number in months:
        if month_start(year, number, period.tz) <= ts < month_start(year, number + 1, period.tz):
            return f"{year:04d}-{number:02d}"
    return None


def _bucket(delay: float, target: float) -> int:
    share = delay / target
    for index, bound in enumerate(RESPONSE_BUCKETS):
        if share <= bound:
            return index
    return len(RESPONSE_BUCKETS) - 1


def build_monthly(data: MonthlyInput, period: Period, site: str | None = None) -> MonthlyReport:
    as_of = min(period.end, data.now)
    targets = {level: data.sla(level) for level in LEVELS}
    mine = [i for i in data.incidents if _in_site(site, data.inventory, i)]
    cases = cases_of(data, mine)
    opened = [c for c in cases if period.start <= c.occurrence.ts < as_of]
    counted = [c for c in opened if not c.suppressed]

    levels = tuple(
        level_stats(level, [c for c in counted if c.level == level], targets, as_of)
        for level in LEVELS
    )
    suppressed: dict[str, int] = {}
    for case in opened:
        if case.suppressed:
            suppressed[case.suppressed] = suppressed.get(case.suppressed, 0) + 1

    still_open = [_open_row(i) for i in mine if _open_at(data, i, as_of)]

    devices = [d for d in data.inventory.devices.values() if site is None or d.site == site]
    availability = availability_rows(data, devices, period, as_of)

    occurrence_starts: dict[int, list[float]] = {}
    for incident in mine:
        if incident.problem_id is not None:
            occurrence_starts.setdefault(incident.problem_id, []).extend(
                start for start, _ in data.spans.get(incident.id, ())
            )
    problems = []
    for problem in data.problems:
        count = sum(1 for ts in occurrence_starts.get(problem.id, ()) if period.start <= ts < as_of)
        if count:
            problems.append(
                ProblemRow(
                    problem.id,
                    problem.key,
                    problem.state,
                    count,
                    problem.occurrences,
                    problem.root_cause,
                    problem.workaround,
                )
            )
    problems.sort(key=lambda p: (-p.occurrences, p.id))

    maintenance = []
    for window in data.windows:
        spans = intervals.window_spans(window, period.start, as_of)
        if spans:
            chosen = tuple(sorted(d.id for d in devices if window.selects(d)))
            if site is not None and not chosen:
                continue
            maintenance.append(
                MaintenanceRow(window.id, window.reason, chosen, intervals.total(spans))
            )

    months = trailing_months(period, max(TREND_MONTHS, len(period.months)))
    trend_counts: dict[str, dict[int, int]] = {
        f"{y:04d}-{m:02d}": dict.fromkeys(LEVELS, 0) for y, m in months
    }
    for case in cases:
        if case.suppressed or case.occurrence.ts >= as_of:
            continue
        label = _month_of(case.occurrence.ts, months, period)
        if label is not None and case.level in LEVELS:
            trend_counts[label][case.level] += 1

    buckets = {level: [0] * (len(RESPONSE_BUCKETS) + 1) for level in LEVELS}
    for case in counted:
        occurrence = case.occurrence
        if case.level not in LEVELS:
            continue
        if occurrence.acknowledged_at is None:
            buckets[case.level][-1] += 1
        else:
            delay = occurrence.acknowledged_at - occurrence.active_since
            buckets[case.level][_bucket(delay, targets[case.level].respond)] += 1

    return MonthlyReport(
        period=period,
        site=site,
        as_of=as_of,
        levels=levels,
        total=level_stats(None, counted, targets, as_of),
        suppressed=suppressed,
        availability=tuple(availability),
        problems=tuple(problems[:TOP_PROBLEMS]),
        still_open=tuple(sorted(still_open, key=lambda r: (r.level, r.id))),
        maintenance=tuple(maintenance),
        maintenance_incidents=tuple(
            _open_row(i)
            for i in {
                c.incident.id: c.incident for c in opened if c.suppressed == "maintenance"
            }.values()
        ),
        trend=tuple(trend_counts.items()),
        response_buckets=buckets,
        sla_targets={lv: (t.respond, t.repair) for lv, t in targets.items()},
    )
