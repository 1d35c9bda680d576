"""Inline SVG charts for the HTML report (no script, no network): grouped bar charts with
axes, gridlines and a legend, drawn with plain SVG elements so they print sharply on A4.

`bar_layout` does the geometry (pure numbers); the template `templates/chart.svg` draws it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from core.templating import environment

LEVEL_COLOURS = {1: "#c62828", 2: "#ef6c00", 3: "#f9a825"}
_LEFT, _RIGHT, _TOP, _BOTTOM = 40, 10, 18, 48  # margins around the plot, px


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    series: str
    category: str
    value: int


@dataclass(frozen=True)
class Category:
    x: float  # the centre of its label
    label: str
    bars: list[Bar]  # one per series


@dataclass(frozen=True)
class BarChart:
    title: str
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    ticks: list[tuple[float, int]]  # (y, value) of each gridline
    categories: list[Category]
    marker: tuple[float, str] | None  # (x, label) of the dashed line, if any
    legend: list[tuple[int, str, str]]  # (x, colour, series name)


def nice_ceiling(value: float) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^n), at least 1."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def bar_layout(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],  # (name, colour, value per category)
    *,
    width: int = 680,
    height: int = 240,
    marker_after: int | None = None,  # draw a dashed line after this category index
    marker_label: str = "",
) -> BarChart:
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    peak = max((v for _, _, values in series for v in values), default=0)
    ymax = nice_ceiling(peak)
    slot = plot_w / max(1, len(categories))
    bar = min(22.0, slot * 0.8 / max(1, len(series)))
    groups = []
    for index, category in enumerate(categories):
        x0 = _LEFT + slot * index + (slot - bar * len(series)) / 2
        bars = []
        for number, (name, colour, values) in enumerate(series):
            h = plot_h * values[index] / ymax
            x = x0 + bar * number
            bars.append(
                Bar(x, _TOP + plot_h - h, bar - 2, h, colour, name, category, values[index])
            )
        groups.append(Category(_LEFT + slot * index + slot / 2, category, bars))
    legend, lx = [], _LEFT
    for name, colour, _ in series:
        legend.append((lx, colour, name))
        lx += 34 + round(text_width(name))
    return BarChart(
        title=title,
        width=width,
        height=height,
        left=_LEFT,
        top=_TOP,
        plot_width=plot_w,
        plot_height=plot_h,
        ticks=[(_TOP + plot_h - plot_h * tick / ymax, tick) for tick in _ticks(ymax)],
        categories=groups,
        marker=None if marker_after is None else (_LEFT + slot * (marker_after + 1), marker_label),
        legend=legend,
    )


def grouped_bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
    *,
    width: int = 680,
    height: int = 240,
    marker_after: int | None = None,
    marker_label: str = "",
) -> Markup:
    """The chart as an inline <svg> element (markup, to be placed in a page as it is); the
    arguments are bar_layout's."""
    chart = bar_layout(
        title,
        categories,
        series,
        width=width,
        height=height,
        marker_after=marker_after,
        marker_label=marker_label,
    )
    return Markup(_ENV.get_template("chart.svg").render(chart=chart))


def text_width(label: str, size: float = 11.0) -> float:
    """Rough width of `label` in px: CJK characters are square, Latin ones about half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in label)


def _ticks(ymax: int) -> list[int]:
    step = max(1, nice_ceiling(ymax / 5))
    while ymax / step > 6:
        step *= 2
    return list(range(0, ymax + 1, step))


_ENV = environment("alerting.reports")
