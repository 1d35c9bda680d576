"""docs/samples/ (linked from the README) show what the code writes today: the monthly samples
are the generated month of test_reports_monthly rendered again, byte for byte, and the HTML
inspection sheets are rendered again from their own cells. When a change to the reports alters
them, regenerate the files in the same commit."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from alerting.reports import output, render_html
from alerting.reports.tables import Heading, Table
from tests.unit.test_reports_monthly import REPORT_TIME, Month, build_month

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


@pytest.fixture(scope="module")
def generated() -> Month:
    import asyncio

    return asyncio.run(build_month())


@pytest.mark.parametrize(
    ("fmt", "lang", "name"),
    [
        ("md", "en", "monthly-2026-11.en.md"),
        ("md", "zh", "monthly-2026-11.zh.md"),
        ("csv", "en", "monthly-2026-11.en.csv"),
        ("html", "en", "monthly-2026-11.en.html"),
        ("html", "zh", "monthly-2026-11.zh.html"),
    ],
)
def test_the_monthly_samples_are_what_the_code_writes(
    generated: Month, fmt: str, lang: str, name: str
) -> None:
    written = output.monthly(generated.report, fmt, lang, REPORT_TIME)
    assert written == (SAMPLES / name).read_text(encoding="utf-8-sig")


class SheetReader(HTMLParser):
    """Reads an HTML inspection sheet back into what rendered it: the heading, each room's
    table (cells with their status classes) and the signature labels."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.title = ""
        self.facts: list[tuple[str, str]] = []
        self.tables: list[Table] = []
        self.signatures: list[str] = []
        self.text: list[str] | None = None
        self.classes = ""
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.statuses: list[list[str]] = []
        self.key = ""
        self.h2 = ""
        self.in_body = False  # of a table: <tbody>, where the rows of cells are

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.lang = "zh" if attributes.get("lang") == "zh-CN" else "en"
        elif tag == "section":
            self.key, self.headers, self.rows, self.statuses = attributes["id"] or "", [], [], []
            self.in_body = False
        elif tag in ("tbody", "thead"):
            self.in_body = tag == "tbody"
        elif tag == "tr" and self.in_body:
            self.rows.append([])
            self.statuses.append([])
        elif tag in ("h1", "h2", "dt", "dd", "th", "td"):
            self.text, self.classes = [], attributes.get("class") or ""

    def handle_endtag(self, tag: str) -> None:
        if self.text is None and tag != "section":
            return
        value = "".join(self.text or [])
        if tag == "h1":
            self.title = value
        elif tag == "dt":
            self.facts.append((value, ""))
        elif tag == "dd":
            self.facts[-1] = (self.facts[-1][0], value)
        elif tag == "h2":
            self.h2 = value
        elif tag == "th" and self.key == "signature":
            self.signatures.append(value)
        elif tag == "th":
            self.headers.append(value)
        elif tag == "td" and self.in_body:
            self.rows[-1].append(value)
            self.statuses[-1].append(" ".join(c for c in self.classes.split() if c != "num"))
        elif tag == "section" and self.key != "signature":
            table = Table(self.key, self.h2, self.headers, self.rows, statuses=self.statuses)
            self.tables.append(table)
        self.text = None

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)


@pytest.mark.parametrize("name", ["inspection.en.html", "inspection.zh.html"])
def test_the_inspection_samples_are_what_the_renderer_writes(name: str) -> None:
    """The sheets came from a real poll that cannot be replayed here: read their cells back
    and render them again, which must give the committed file byte for byte."""
    sample = (SAMPLES / name).read_text(encoding="utf-8")
    reader = SheetReader()
    reader.feed(sample)
    assert len(reader.tables) >= 2 and all(t.rows for t in reader.tables)
    heading = Heading(reader.title, reader.facts)
    written = render_html.render_inspection(heading, reader.tables, reader.lang, reader.signatures)
    assert written == sample
