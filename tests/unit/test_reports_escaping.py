"""Whatever the inventory, the incidents or the rules call things, an HTML report shows it as
text: a device named `<script>` never becomes markup, in any cell, heading or chart label.
(The status page has its own such test in test_ops_status_page.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import zoneinfo

import pytest

from alerting.reports import charts, output
from alerting.reports.inspection import build_inspection
from alerting.reports.monthly import MonthlyReport
from core.sample import Sample
from core.templating import environment
from inventory.model import Device, Inventory, Site
from tests.unit.test_reports_monthly import REPORT_TIME, build_month

EVIL = '<script>alert("it\'s & <b>")</script>'
SHOWN = html.escape(
    EVIL
)  # &lt;script&gt;alert(&quot;it&#x27;s &amp; &lt;b&gt;&quot;)&lt;/script&gt;
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def _assert_only_text(doc: str, times: int) -> None:
    assert "<script" not in doc.lower() and "<b>" not in doc
    assert doc.count(SHOWN) == times  # each place the name is shown, shown escaped


@pytest.fixture(scope="module")
def evil_month() -> MonthlyReport:
    """The generated month with every name a person or a device chose replaced by EVIL."""
    report = asyncio.run(build_month()).report
    swap = dataclasses.replace
    return swap(
        report,
        site=EVIL,
        availability=tuple(swap(r, device=EVIL, name=EVIL) for r in report.availability),
        problems=tuple(
            swap(p, key=EVIL, root_cause=EVIL, workaround=EVIL) for p in report.problems
        ),
        still_open=tuple(
            swap(r, device=EVIL, rule=EVIL, summary={"zh": EVIL, "en": EVIL})
            for r in report.still_open
        ),
        maintenance=tuple(
            swap(m, id=EVIL, reason=EVIL, devices=(EVIL,)) for m in report.maintenance
        ),
        trend=tuple((EVIL, counts) for _, counts in report.trend),  # the chart's labels
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_monthly_report_shows_every_chosen_name_as_text(
    evil_month: MonthlyReport, lang: str
) -> None:
    doc = output.monthly(evil_month, "html", lang, REPORT_TIME)
    rows = (
        2 * len(evil_month.availability)
        + 3 * len(evil_month.problems)
        + 3 * len(evil_month.still_open)
        + 3 * len(evil_month.maintenance)
    )
    assert rows > 10  # the month has rows in every table that carries a name
    # and the site in the heading; each month's label in the trend table, under its bars and
    # in the tooltips of its three bars
    _assert_only_text(doc, times=rows + 1 + 5 * len(evil_month.trend))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_inspection_sheet_shows_device_site_and_room_names_as_text(lang: str) -> None:
    inventory = Inventory(
        sites={EVIL: Site(EVIL, EVIL)},
        devices={EVIL: Device(EVIL, EVIL, "sensor", 2, site=EVIL, room=EVIL)},
    )
    reading = Sample(EVIL, "ambient.temperature", 24.0, {"sensor": EVIL}, None, 1_795_400_000.0)
    sheet = build_inspection(inventory, [], [reading], 1_795_400_060.0, site=EVIL)
    doc = output.inspection(sheet, "html", lang, TZ)
    # the heading's site; site and room in the room's section id and title; the device's id
    # and name; the reading's sensor label
    _assert_only_text(doc, times=8)


def test_chart_labels_and_title_are_text() -> None:
    svg = charts.grouped_bars(EVIL, [EVIL], [(EVIL, "#000", [1])])
    _assert_only_text(svg, times=5)  # title, tooltip (series and category), label, legend


def test_templates_escape_as_the_standard_library_does() -> None:
    """Same bytes as the f-string pages had (html.escape), so samples and sent reports hold."""
    template = environment("alerting.reports").from_string('<p title="{{ v }}">{{ v }}</p>')
    assert template.render(v=EVIL) == f'<p title="{SHOWN}">{SHOWN}</p>'
