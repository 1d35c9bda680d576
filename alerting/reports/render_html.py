"""HTML output: one self-contained file — inline CSS and SVG, no script, no external resource
(a Content-Security-Policy forbids any), laid out to print on A4."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from alerting.reports import charts
from alerting.reports.monthly import MonthlyReport
from alerting.reports.tables import Heading, Table
from core.i18n import t

_NUMBER = re.compile(r"^[-+]?\d[\d.,]*$")
_LANG = {"zh": "zh-CN", "en": "en"}

CSS = """
@page { size: A4; margin: 12mm 11mm 14mm 11mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif;
       font-size: 10pt; color: #222; margin: 0 auto; max-width: 188mm; padding: 6mm 0; }
h1 { font-size: 17pt; margin: 0 0 4px; }
h2 { font-size: 12pt; margin: 16px 0 6px; border-bottom: 2px solid #1565c0; padding-bottom: 2px;
     break-after: avoid; page-break-after: avoid; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 1px 12px; margin: 6px 0 10px; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #b0b7c3; padding: 2px 5px; vertical-align: top; }
th { background: #e8eef7; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.normal { background: #e8f5e9; } td.warning { background: #fff3c4; }
td.fault { background: #ffcdd2; font-weight: bold; } td.unknown { color: #777; }
p.note { font-size: 8.5pt; color: #555; margin: 4px 0; }
p.none { color: #555; font-style: italic; margin: 2px 0; }
section { break-inside: auto; }
svg.chart { display: block; max-width: 100%; margin: 4px 0 2px; break-inside: avoid; }
table.sign td { height: 12mm; width: 25%; }
table.sheet td:last-child, table.sheet td:nth-child(3) { white-space: nowrap; }
table.sign th { width: 12%; }
footer { margin-top: 10px; font-size: 8pt; color: #777; }
"""


def _td(value: str, status: str = "") -> str:
    classes = [c for c in (status, "num" if _NUMBER.match(value) else "") if c]
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{escape(value)}</td>"


def table_html(table: Table, lang: str, figure: str = "", css_class: str = "") -> str:
    parts = [f'<section id="{escape(table.key)}"><h2>{escape(table.title)}</h2>{figure}']
    if table.rows:
        parts.append(
            f'<table class="{css_class}"><thead><tr>' if css_class else "<table><thead><tr>"
        )
        parts.extend(f"<th>{escape(h)}</th>" for h in table.headers)
        parts.append("</tr></thead><tbody>")
        for index, row in enumerate(table.rows):
            statuses = table.statuses[index] if index < len(table.statuses) else []
            cells = [
                _td(value, statuses[col] if col < len(statuses) else "")
                for col, value in enumerate(row)
            ]
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
    else:
        parts.append(f'<p class="none">{escape(t("report.none", lang))}</p>')
    if table.note:
        parts.append(f'<p class="note">{escape(table.note)}</p>')
    parts.append("</section>")
    return "".join(parts)


def page(heading: Heading, body: Sequence[str], lang: str) -> str:
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in heading.facts)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_LANG.get(lang, "en")}"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy"'
        " content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(heading.title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{escape(heading.title)}</h1><dl class="facts">{facts}</dl></header>'
        + "".join(body)
        + "<footer>roomwatch</footer></body></html>\n"
    )


def monthly_charts(report: MonthlyReport, lang: str) -> tuple[str, str]:
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
    figures = {"trend": trend_svg, "response": response_svg}
    body = [table_html(table, lang, figures.get(table.key, "")) for table in tables]
    return page(heading, body, lang)


def render_inspection(
    heading: Heading, tables: Sequence[Table], lang: str, signatures: Sequence[str]
) -> str:
    body = [table_html(t, lang, css_class="sheet") for t in tables]
    body.append(f'<p class="note">{escape(t("report.inspection.legend", lang))}</p>')
    sign = "".join(f"<th>{escape(label)}</th><td></td>" for label in signatures[:2])
    sign2 = "".join(f"<th>{escape(label)}</th><td></td>" for label in signatures[2:4])
    body.append(
        f'<section id="signature"><table class="sign"><tr>{sign}</tr><tr>{sign2}</tr></table>'
        "</section>"
    )
    return page(heading, body, lang)
