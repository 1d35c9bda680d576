"""Reports laid out as titled tables of text cells, in the reader's language. Every output
format writes these same cells, so HTML, Markdown and CSV never disagree on a number.
(Over 400 lines on purpose: every table of both reports in one place, each cell's format
defined once.)

Cell formats: counts as integers; durations in minutes with one decimal (repair targets in
hours); rates as percentages with two decimals; availability with three; times as
`YYYY-MM-DD HH:MM` in the report's zone; "-" where there is nothing to show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from alerting.reports import inspection as insp
from alerting.reports.monthly import RESPONSE_BUCKETS, LevelStats, MonthlyReport
from core.i18n import lookup, t
from core.sample import Value

DASH = "-"


@dataclass(frozen=True)
class Table:
    key: str  # stable id (CSV section name, HTML id)
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str | None = None
    statuses: list[list[str]] = field(default_factory=list)  # per cell, for colouring


@dataclass(frozen=True)
class Heading:
    title: str
    facts: list[tuple[str, str]]  # label → value, shown under the title


def minutes(seconds: float | None) -> str:
    return DASH if seconds is None else f"{seconds / 60.0:.1f}"


def hours(seconds: float | None) -> str:
    return DASH if seconds is None else f"{seconds / 3600.0:g}"


def percent(share: float | None) -> str:
    return DASH if share is None else f"{100.0 * share:.2f}"


def availability(value: float | None) -> str:
    return DASH if value is None else f"{value:.3f}"


def when(ts: float | None, tz: dt.tzinfo) -> str:
    return DASH if ts is None else dt.datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M")


def value_text(value: Value | None) -> str:
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _state(lang: str, state: str) -> str:
    return lookup(f"report.state.{state}", lang) or state  # a state we have no word for: as stored


def _summary(summary: dict[str, str], lang: str) -> str:
    return summary.get(lang) or next(iter(summary.values()), DASH)


# ------------------------------------------------------------------ monthly


def monthly_heading(report: MonthlyReport, lang: str, generated: float) -> Heading:
    tz = report.period.tz
    title = t(
        "report.quarterly.title" if len(report.period.months) > 1 else "report.monthly.title", lang
    )
    return Heading(
        f"{title} {report.period.label}",
        [
            (
                t("report.period", lang),
                f"{when(report.period.start, tz)} – {when(report.period.end, tz)}",
            ),
            (t("report.site", lang), report.site or t("report.all_sites", lang)),
            (t("report.as_of", lang), when(report.as_of, tz)),
            (t("report.generated", lang), when(generated, tz)),
        ],
    )


SLA_ROWS: tuple[str, ...] = (
    "respond_target",
    "repair_target",
    "opened",
    "acknowledged",
    "responded_in_time",
    "response_rate",
    "repaired_in_time",
    "repair_rate",
    "mtta_median",
    "mtta_p90",
    "mttr_median",
    "mttr_p90",
    "escalated",
    "breaches",
    "reopened",
    "reopen_rate",
    "reported",
    "surveys_asked",
    "survey_rate",
    "satisfaction",
    "resolved",
    "resolution_rate",
)


def repair_in_minutes(columns: list[LevelStats]) -> bool:
    """Repair targets are shown in hours, unless one is under an hour (a 30-minute target
    would read "0.5"): then the whole row is in minutes."""
    return any(s.repair_target is not None and s.repair_target < 3600 for s in columns)


def sla_cell(stats: LevelStats, key: str, repair_minutes: bool = False) -> str:
    if key == "respond_target":
        return minutes(stats.respond_target)
    if key == "repair_target":
        return minutes(stats.repair_target) if repair_minutes else hours(stats.repair_target)
    if key in ("mtta_median", "mtta_p90", "mttr_median", "mttr_p90"):
        return minutes(getattr(stats, key))
    if key.endswith("_rate"):
        return percent(getattr(stats, key))
    if key == "satisfaction":
        return DASH if stats.satisfaction is None else f"{stats.satisfaction:.2f}"
    return str(getattr(stats, key))


def _sla_label(key: str, repair_minutes: bool) -> str:
    return "repair_target_minutes" if key == "repair_target" and repair_minutes else key


def monthly_tables(report: MonthlyReport, lang: str) -> list[Table]:
    tz = report.period.tz
    columns = [*report.levels, report.total]
    level_names = [t(f"report.level.{s.level}", lang) for s in report.levels] + [
        t("report.level.all", lang)
    ]
    in_minutes = repair_in_minutes(columns)
    tables = [
        Table(
            "sla",
            t("report.sla", lang),
            [t("report.measure", lang), *level_names],
            [
                [
                    t(f"report.{_sla_label(key, in_minutes)}", lang),
                    *(sla_cell(s, key, in_minutes) for s in columns),
                ]
                for key in SLA_ROWS
            ],
            note=t("report.definitions", lang),
        ),
        Table(
            "suppressed",
            t("report.suppressed", lang),
            [t("report.reason", lang), t("report.count", lang)],
            [
                [t(f"report.suppressed.{reason}", lang), str(count)]
                for reason, count in sorted(report.suppressed.items())
            ],
        ),
        Table(
            "trend",
            t("report.trend", lang),
            [t("report.month", lang), *level_names[:3]],
            [[label, *(str(counts[lv]) for lv in (1, 2, 3))] for label, counts in report.trend],
        ),
        Table(
            "response",
            t("report.response_dist", lang),
            [t("report.bucket", lang), *level_names[:3]],
            [
                [
                    t(f"report.bucket.{index}", lang),
                    *(str(report.response_buckets[lv][index]) for lv in (1, 2, 3)),
                ]
                for index in range(len(RESPONSE_BUCKETS) + 1)
            ],
        ),
    ]
    for website in (False, True):
        rows = [r for r in report.availability if r.website == website]
        tables.append(
            Table(
                "availability-websites" if website else "availability-devices",
                t(
                    "report.availability.websites" if website else "report.availability.devices",
                    lang,
                ),
                [
                    t("report.device", lang),
                    t("report.name", lang),
                    t("report.site", lang),
                    t("report.availability", lang),
                    t("report.downtime", lang),
                    t("report.outages", lang),
                    t("report.planned", lang),
                    t("report.down_in_maintenance", lang),
                ],
                [
                    [
                        r.device,
                        r.name,
                        r.site or DASH,
                        availability(r.availability),
                        minutes(r.downtime),
                        str(r.outages),
                        minutes(r.planned),
                        minutes(r.downtime_in_maintenance),
                    ]
                    for r in rows
                ],
            )
        )
    tables.append(
        Table(
            "problems",
            t("report.problems", lang),
            [
                t("report.problem", lang),
                t("report.key", lang),
                t("report.state", lang),
                t("report.occurrences", lang),
                t("report.total_occurrences", lang),
                t("report.root_cause", lang),
                t("report.workaround", lang),
            ],
            [
                [
                    f"P{p.id}",
                    p.key,
                    _state(lang, p.state),
                    str(p.occurrences),
                    str(p.total),
                    p.root_cause or DASH,
                    p.workaround or DASH,
                ]
                for p in report.problems
            ],
        )
    )
    tables.append(
        Table(
            "still-open",
            t("report.still_open", lang),
            [
                t("report.id", lang),
                t("report.level", lang),
                t("report.device", lang),
                t("report.rule", lang),
                t("report.state", lang),
                t("report.opened_at", lang),
                t("report.what", lang),
                t("report.note", lang),
            ],
            [
                [
                    r.ticket or f"#{r.id}",
                    t(f"report.level.{r.level}", lang),
                    r.device,
                    r.rule,
                    _state(lang, r.state),
                    when(r.opened_at, tz),
                    _summary(r.summary, lang),
                    t(f"report.suppressed.{r.suppressed}", lang) if r.suppressed else DASH,
                ]
                for r in report.still_open
            ],
        )
    )
    tables.append(
        Table(
            "maintenance",
            t("report.maintenance", lang),
            [
                t("report.window", lang),
                t("report.reason", lang),
                t("report.devices", lang),
                t("report.minutes", lang),
            ],
            [
                [m.id, m.reason or DASH, ", ".join(m.devices) or DASH, minutes(m.seconds)]
                for m in report.maintenance
            ],
        )
    )
    tables.append(
        Table(
            "maintenance-incidents",
            t("report.maintenance_incidents", lang),
            [
                t("report.id", lang),
                t("report.level", lang),
                t("report.device", lang),
                t("report.rule", lang),
                t("report.opened_at", lang),
                t("report.what", lang),
            ],
            [
                [
                    r.ticket or f"#{r.id}",
                    t(f"report.level.{r.level}", lang),
                    r.device,
                    r.rule,
                    when(r.opened_at, tz),
                    _summary(r.summary, lang),
                ]
                for r in report.maintenance_incidents
            ],
        )
    )
    return tables


# ------------------------------------------------------------------ inspection


def inspection_heading(sheet: insp.InspectionSheet, lang: str, tz: dt.tzinfo) -> Heading:
    counts = sheet.counts()
    tally = ", ".join(
        f"{t(f'report.status.{s}', lang)} {counts[s]}"
        for s in (insp.NORMAL, insp.WARNING, insp.FAULT, insp.UNKNOWN)
    )
    return Heading(
        t("report.inspection.title", lang),
        [
            (t("report.inspected_at", lang), when(sheet.at, tz)),
            (t("report.site", lang), sheet.site or t("report.all_sites", lang)),
            (t("report.totals", lang), tally),
        ],
    )


def _reading_text(reading: insp.Reading | None) -> str:
    if reading is None:
        return DASH
    shown = value_text(reading.value)
    where = reading.labels.get("mount") or reading.labels.get("sensor")
    return f"{shown} ({where})" if where else shown


def finding_text(finding: insp.Finding, lang: str) -> str:
    """One reason a device is marked, in the inspector's words."""
    if finding.rule is None:
        reason = finding.condition or t("report.finding.no_answer", lang)
        return t("report.finding.unreachable", lang, reason=reason)
    labels = ",".join(f"{k}={v}" for k, v in sorted(finding.labels.items()))
    reading = finding.metric + (f"{{{labels}}}" if labels else "")
    return t(
        "report.finding.reading",
        lang,
        reading=reading,
        value=value_text(finding.value),
        condition=finding.condition,
        rule=finding.rule,
        level=finding.level if finding.level is not None else DASH,
    )


def inspection_tables(sheet: insp.InspectionSheet, lang: str) -> list[Table]:
    headers = [
        t("report.device", lang),
        t("report.name", lang),
        t("report.reachable", lang),
        *(t(f"report.{c.key}", lang) for c in insp.COLUMNS),
        t("report.status", lang),
        t("report.findings", lang),
    ]
    tables = []
    for group in sheet.groups:
        site = group.site_name or group.site or t("report.no_site", lang)
        room = group.room or t("report.no_room", lang)
        rows, statuses = [], []
        for row in group.rows:
            reachable = (
                DASH
                if row.reachable is None
                else t("report.yes" if row.reachable else "report.no", lang)
            )
            status = t(f"report.status.{row.status}", lang)
            if row.maintenance:
                status += f" ({t('report.status.maintenance', lang)})"
            rows.append(
                [
                    row.device,
                    row.name,
                    reachable,
                    *(_reading_text(row.readings.get(c.key)) for c in insp.COLUMNS),
                    status,
                    "; ".join(finding_text(f, lang) for f in row.findings) or DASH,
                ]
            )
            statuses.append(
                [
                    "",
                    "",
                    "" if row.reachable is None else (insp.NORMAL if row.reachable else insp.FAULT),
                    *(
                        row.readings[c.key].status if c.key in row.readings else ""
                        for c in insp.COLUMNS
                    ),
                    row.status,
                    row.status if row.findings else "",
                ]
            )
        key = f"room-{group.site or '-'}-{group.room or '-'}"
        tables.append(
            Table(
                key,
                f"{t('report.site', lang)}: {site} · {t('report.room', lang)}: {room}",
                headers,
                rows,
                statuses=statuses,
            )
        )
    return tables


def signature_fields(lang: str) -> list[str]:
    keys = ("sign.inspector", "sign.time", "sign.reviewer", "sign.remarks")
    return [t(f"report.{k}", lang) for k in keys]
