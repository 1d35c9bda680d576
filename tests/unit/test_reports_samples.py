"""docs/samples/ (linked from the README) show what the code writes today: the monthly samples
are the generated month of test_reports_monthly rendered again, byte for byte. When a change to
the reports alters them, regenerate the files in the same commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerting.reports import output
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
