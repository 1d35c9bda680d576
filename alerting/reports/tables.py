"""Reports laid out as titled tables of text cells, in the reader's language. Every output
format writes these same cells, so HTML, Markdown and CSV never disagree on a number.

Cell formats: counts as integers; durations in minutes with one decimal (repair targets in
hours); rates as percentages with two decimals; availability with three; times as
`YYYY-MM-DD HH:MM` in the report's zone; "-" where there is nothing to show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from alerting.reports import inspection as insp
from alerting.reports.i18n import text
from alerting.reports.monthly import RESPONSE_BUCKETS, LevelStats, MonthlyReport
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
    key = f"state.{state}"
    shown = text(lang, key)
    return state if shown == key else shown  # a state we have no word for: as stored


def _summary(summary: dict[str, str], lang: str) -> str:
    return summary.get(lang) or next(iter(summary.values()), DASH)


# ------------------------------------------------------------------ monthly


def monthly_heading(report: MonthlyReport, lang: str, generated: float) -> Heading:
    tz = report.period.tz
    title = text(lang, "quarterly.title" if len(report.period.months) > 1 else "monthly.title")
    return Heading(
        f"{title} {report.period.label}",
        [
            (
                text(lang, "period"),
                f"{when(report.period.start, tz)} – {when(report.period.end, tz)}",
            ),
            (text(lang, "site"), report.site or text(lang, "all_sites")),
            (text(lang, "as_of"), when(report.as_of, tz)),
            (text(lang, "generated"), when(generated, tz)),
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
    "reopened",
    "reopen_rate",
    "resolved",
    "resolution_rate",
)


def sla_cell(stats: LevelStats, key: str) -> str:
    if key == "respond_target":
        return minutes(stats.respond_target)
    if key == "repair_target":
        return hours(stats.repair_target)
    if key in ("mtta_median", "mtta_p90", "mttr_median", "mttr_p90"):
        return minutes(getattr(stats, key))
    if key.endswith("_rate"):
        return percent(getattr(stats, key))
    return str(getattr(stats, key))


def monthly_tables(report: MonthlyReport, lang: str) -> list[Table]:
    tz = report.period.tz
    columns = [*report.levels, report.total]
    level_names = [text(lang, f"level.{s.level}") for s in report.levels] + [
        text(lang, "level.all")
    ]
    tables = [
        Table(
            "sla",
            text(lang, "sla"),
            [text(lang, "measure"), *level_names],
            [[text(lang, key), *(sla_cell(s, key) for s in columns)] for key in SLA_ROWS],
            note=text(lang, "definitions"),
        ),
        Table(
            "suppressed",
            text(lang, "suppressed"),
            [text(lang, "reason"), text(lang, "count")],
            [
                [text(lang, f"suppressed.{reason}"), str(count)]
                for reason, count in sorted(report.suppressed.items())
            ],
        ),
        Table(
            "trend",
            text(lang, "trend"),
            [text(lang, "month"), *level_names[:3]],
            [[label, *(str(counts[lv]) for lv in (1, 2, 3))] for label, counts in report.trend],
        ),
        Table(
            "response",
            text(lang, "response_dist"),
            [text(lang, "bucket"), *level_names[:3]],
            [
                [
                    text(lang, f"bucket.{index}"),
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
                text(lang, "availability.websites" if website else "availability.devices"),
                [
                    text(lang, "device"),
                    text(lang, "name"),
                    text(lang, "site"),
                    text(lang, "availability"),
                    text(lang, "downtime"),
                    text(lang, "outages"),
                    text(lang, "planned"),
                    text(lang, "down_in_maintenance"),
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
            text(lang, "problems"),
            [
                text(lang, "problem"),
                text(lang, "key"),
                text(lang, "state"),
                text(lang, "occurrences"),
                text(lang, "total_occurrences"),
                text(lang, "root_cause"),
                text(lang, "workaround"),
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
            text(lang, "still_open"),
            [
                text(lang, "id"),
                text(lang, "level"),
                text(lang, "device"),
                text(lang, "rule"),
                text(lang, "state"),
                text(lang, "opened_at"),
                text(lang, "what"),
                text(lang, "note"),
            ],
            [
                [
                    f"#{r.id}",
                    text(lang, f"level.{r.level}"),
                    r.device,
                    r.rule,
                    _state(lang, r.state),
                    when(r.opened_at, tz),
                    _summary(r.summary, lang),
                    text(lang, f"suppressed.{r.suppressed}") if r.suppressed else DASH,
                ]
                for r in report.still_open
            ],
        )
    )
    tables.append(
        Table(
            "maintenance",
            text(lang, "maintenance"),
            [
                text(lang, "window"),
                text(lang, "reason"),
                text(lang, "devices"),
                text(lang, "minutes"),
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
            text(lang, "maintenance_incidents"),
            [
                text(lang, "id"),
                text(lang, "level"),
                text(lang, "device"),
                text(lang, "rule"),
                text(lang, "opened_at"),
                text(lang, "what"),
            ],
            [
                [
                    f"#{r.id}",
                    text(lang, f"level.{r.level}"),
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
        f"{text(lang, f'status.{s}')} {counts[s]}"
        for s in (insp.NORMAL, insp.WARNING, insp.FAULT, insp.UNKNOWN)
    )
    return Heading(
        text(lang, "inspection.title"),
        [
            (text(lang, "inspected_at"), when(sheet.at, tz)),
            (text(lang, "site"), sheet.site or text(lang, "all_sites")),
            (text(lang, "totals"), tally),
        ],
    )


def _reading_text(reading: insp.Reading | None) -> str:
    if reading is None:
        return DASH
    shown = value_text(reading.value)
    where = reading.labels.get("mount") or reading.labels.get("sensor")
    return f"{shown} ({where})" if where else shown


def inspection_tables(sheet: insp.InspectionSheet, lang: str) -> list[Table]:
    headers = [
        text(lang, "device"),
        text(lang, "name"),
        text(lang, "reachable"),
        *(text(lang, c.key) for c in insp.COLUMNS),
        text(lang, "status"),
    ]
    tables = []
    for group in sheet.groups:
        site = group.site_name or group.site or text(lang, "no_site")
        room = group.room or text(lang, "no_room")
        rows, statuses = [], []
        for row in group.rows:
            reachable = (
                DASH if row.reachable is None else text(lang, "yes" if row.reachable else "no")
            )
            status = text(lang, f"status.{row.status}")
            if row.maintenance:
                status += f" ({text(lang, 'status.maintenance')})"
            rows.append(
                [
                    row.device,
                    row.name,
                    reachable,
                    *(_reading_text(row.readings.get(c.key)) for c in insp.COLUMNS),
                    status,
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
                ]
            )
        key = f"room-{group.site or '-'}-{group.room or '-'}"
        tables.append(
            Table(
                key,
                f"{text(lang, 'site')}: {site} · {text(lang, 'room')}: {room}",
                headers,
                rows,
                statuses=statuses,
            )
        )
    return tables


def signature_fields(lang: str) -> list[str]:
    return [text(lang, k) for k in ("sign.inspector", "sign.time", "sign.reviewer", "sign.remarks")]
