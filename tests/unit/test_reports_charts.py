"""The report charts: axes are round, labels escaped, one bar per value. (The wording's parity
tests moved to test_i18n.py with the catalogue.)"""

from __future__ import annotations

from alerting.reports import charts


def test_axis_maximum_is_round_and_covers_the_data() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 12, 30, 51)] == [1, 1, 5, 10, 20, 50, 100]


def test_chart_escapes_labels_and_draws_one_bar_per_value() -> None:
    svg = charts.grouped_bars("t", ["<a>", "b"], [("L1", "#000", [2, 0]), ("L2", "#111", [1, 3])])
    assert "<a>" not in svg and "&lt;a&gt;" in svg
    assert svg.count("<rect") == 4 + 2  # four bars, two legend swatches
