"""One report in one format (html, md, csv): the single entry point the CLI and the schedule
use, so a report reads the same whichever way it was asked for."""

from __future__ import annotations

import datetime as dt

from alerting.reports import render_csv, render_html, render_md, tables
from alerting.reports.inspection import InspectionSheet
from alerting.reports.monthly import MonthlyReport
from core.i18n import t

FORMATS = ("html", "md", "csv")


def monthly(report: MonthlyReport, fmt: str, lang: str, generated: float) -> str:
    heading = tables.monthly_heading(report, lang, generated)
    laid_out = tables.monthly_tables(report, lang)
    if fmt == "html":
        return render_html.render_monthly(report, heading, laid_out, lang)
    if fmt == "md":
        return render_md.render(heading, laid_out, lang)
    if fmt == "csv":
        return render_csv.render(heading, laid_out)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def inspection(sheet: InspectionSheet, fmt: str, lang: str, tz: dt.tzinfo) -> str:
    heading = tables.inspection_heading(sheet, lang, tz)
    laid_out = tables.inspection_tables(sheet, lang)
    signatures = tables.signature_fields(lang)
    if fmt == "html":
        return render_html.render_inspection(heading, laid_out, lang, signatures)
    if fmt == "md":
        footer = [
            "",
            f"> {t('report.inspection.legend', lang)}",
            "",
            *render_md.signature_block(signatures),
        ]
        return render_md.render(heading, laid_out, lang, footer)
    if fmt == "csv":
        return render_csv.render(heading, laid_out, signatures)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
