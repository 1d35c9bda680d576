"""Report wording and chart helpers: both languages say everything; axes are round."""

from __future__ import annotations

from alerting.reports import charts
from alerting.reports.i18n import keys, text


def test_chinese_and_english_have_the_same_strings() -> None:
    assert keys("zh") == keys("en")


def test_missing_language_falls_back_to_english() -> None:
    assert text("fr", "opened") == "Incidents opened"
    assert text("zh", "opened") == "事件数"


def test_axis_maximum_is_round_and_covers_the_data() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 12, 30, 51)] == [1, 1, 5, 10, 20, 50, 100]


def test_chart_escapes_labels_and_draws_one_bar_per_value() -> None:
    svg = charts.grouped_bars("t", ["<a>", "b"], [("L1", "#000", [2, 0]), ("L2", "#111", [1, 3])])
    assert "<a>" not in svg and "&lt;a&gt;" in svg
    assert svg.count("<rect") == 4 + 2  # four bars, two legend swatches
