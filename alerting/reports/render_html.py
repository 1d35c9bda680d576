"""HTML output: one self-contained file — inline CSS and SVG, no script, no external resource
(a Content-Security-Policy forbids any), laid out to print on A4. The pages are Jinja2
templates (`templates/*.html`, autoescaped: see core/templating.py); this module hands them
the laid-out tables and says which cells are numbers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources

from markupsafe import Markup

from alerting.reports import charts
from alerting.reports.monthly import MonthlyReport
from alerting.reports.tables import Heading, Table
from core.i18n import t
from core.templating import environment

_NUMBER = re.compile(r"^[-+]?\d[\d.,]*$")
CSS = Markup(
    resources.files("alerting.reports").joinpath("templates", "report.css").read_text("utf-8")
)


def cell_classes(value: str, status: str) -> str:
    """The classes of one cell: its status (normal, warning, fault…) and `num` for a number
    (right-aligned)."""
    return " ".join(c for c in (status, "num" if _NUMBER.match(value) else "") if c)


def cells(table: Table) -> list[list[tuple[str, str]]]:
    """The table's rows as (text, classes) per cell."""
    out = []
    for index, row in enumerate(table.rows):
        statuses = table.statuses[index] if index < len(table.statuses) else []
        out.append(
            [
                (value, cell_classes(value, statuses[col] if col < len(statuses) else ""))
                for col, value in enumerate(row)
            ]
        )
    return out


_ENV = environment("alerting.reports", cells=cells)


def monthly_charts(report: MonthlyReport, lang: str) -> tuple[Markup, Markup]:
    levels = [(t(f"report.level.{lv}", lang), charts.LEVEL_COLOURS[lv], lv) for lv in (1, 2, 3)]
    trend = charts.grouped_bars(
        t("report.trend", lang),
        [label for label, _ in report.trend],
        [(name, colour, [counts[lv] for _, counts in report.trend]) for name, colour, lv in levels],
    )
    buckets = [t(f"report.bucket.{i}", lang) for i in range(len(report.response_buckets[1]))]
    response = charts.grouped_bars(
        t("report.response_dist", lang),
        buckets,
        [(name, colour, report.response_buckets[lv]) for name, colour, lv in levels],
        marker_after=2,
        marker_label=t("report.target", lang),
        height=250,
    )
    return trend, response


def render_monthly(
    report: MonthlyReport, heading: Heading, tables: Sequence[Table], lang: str
) -> str:
    trend_svg, response_svg = monthly_charts(report, lang)
    return _ENV.get_template("monthly.html").render(
        heading=heading,
        tables=tables,
        lang=lang,
        css=CSS,
        figures={"trend": trend_svg, "response": response_svg},
    )


def render_inspection(
    heading: Heading, tables: Sequence[Table], lang: str, signatures: Sequence[str]
) -> str:
    return _ENV.get_template("inspection.html").render(
        heading=heading, tables=tables, lang=lang, css=CSS, signatures=signatures
    )
