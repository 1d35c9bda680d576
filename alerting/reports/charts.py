"""Inline SVG charts for the HTML report (no script, no network): grouped bar charts with
axes, gridlines and a legend, drawn with plain SVG elements so they print sharply on A4."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

LEVEL_COLOURS = {1: "#c62828", 2: "#ef6c00", 3: "#f9a825"}
_FONT = 'font-family="inherit" font-size="11"'


def nice_ceiling(value: float) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^n), at least 1."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return int(step * power)
    return int(10 * power)


def grouped_bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],  # (name, colour, value per category)
    *,
    width: int = 680,
    height: int = 240,
    marker_after: int | None = None,  # draw a dashed line after this category index
    marker_label: str = "",
) -> str:
    left, right, top, bottom = 40, 10, 18, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for _, _, values in series for v in values), default=0)
    ymax = nice_ceiling(peak)
    ticks = _ticks(ymax)
    slot = plot_w / max(1, len(categories))
    bar = min(22.0, slot * 0.8 / max(1, len(series)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}"'
        f' width="100%" role="img" aria-label="{escape(title)}">',
    ]
    for tick in ticks:
        y = top + plot_h - plot_h * tick / ymax
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" {_FONT} text-anchor="end">{tick}</text>'
        )
    for index, category in enumerate(categories):
        x0 = left + slot * index + (slot - bar * len(series)) / 2
        for number, (name, colour, values) in enumerate(series):
            value = values[index]
            h = plot_h * value / ymax
            x = x0 + bar * number
            y = top + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}"'
                f' fill="{colour}"><title>{escape(name)} {escape(category)}: {value}</title></rect>'
            )
            if value:
                parts.append(
                    f'<text x="{x + (bar - 2) / 2:.1f}" y="{y - 3:.1f}" font-size="9"'
                    f' text-anchor="middle">{value}</text>'
                )
        cx = left + slot * index + slot / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 14}" {_FONT} text-anchor="middle">'
            f"{escape(category)}</text>"
        )
    if marker_after is not None:
        mx = left + slot * (marker_after + 1)
        parts.append(
            f'<line x1="{mx:.1f}" y1="{top - 4}" x2="{mx:.1f}" y2="{top + plot_h}"'
            f' stroke="#333" stroke-dasharray="4 3"/>'
            f'<text x="{mx + 4:.1f}" y="{top + 6}" {_FONT}>{escape(marker_label)}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"'
        ' stroke="#333"/>'
    )
    lx = left
    for name, colour, _ in series:
        parts.append(
            f'<rect x="{lx}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{height - 5}" {_FONT}>{escape(name)}</text>'
        )
        lx += 34 + round(text_width(name))
    parts.append("</svg>")
    return "".join(parts)


def text_width(label: str, size: float = 11.0) -> float:
    """Rough width of `label` in px: CJK characters are square, Latin ones about half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in label)


def _ticks(ymax: int) -> list[int]:
    step = max(1, nice_ceiling(ymax / 5))
    while ymax / step > 6:
        step *= 2
    return list(range(0, ymax + 1, step))
