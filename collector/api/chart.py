"""A line graph of one series as SVG, drawn on the server: no charting script to download.

The mean is the line; the band behind it spans each point's low and high, so a spike
averaged away at the 7-day scale still shows. Gaps longer than three points' width (the
device did not answer, the daemon was stopped) break the line instead of bridging it.
Pure: points in, markup out; every text placed in the SVG is escaped."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from collector.history import Point

WIDTH, HEIGHT = 420, 200  # a phone shows it near 1:1, so 13 px labels stay readable
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 12, 26


def _label(value: float) -> str:
    if abs(value) >= 1e9:
        return f"{value / 1e9:.1f}G"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def _time(ts: float, span: float) -> str:
    moment = datetime.fromtimestamp(ts).astimezone()
    return moment.strftime("%m-%d %H:%M" if span > 86400 else "%H:%M")


def segments(points: Sequence[Point], gap: float) -> list[list[Point]]:
    """The points split wherever two neighbours are more than `gap` seconds apart."""
    out: list[list[Point]] = []
    for point in points:
        if out and point.ts - out[-1][-1].ts <= gap:
            out[-1].append(point)
        else:
            out.append([point])
    return out


def line_chart(
    points: Sequence[Point], since: float, until: float, unit: str | None, empty_text: str
) -> Markup:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max(until - since, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' class="chart">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafbfc"'
        ' stroke="#d8dee4"/>',
    ]
    if not points:
        parts.append(
            f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT / 2:.0f}" text-anchor="middle" fill="#5f6b76"'
            f' font-size="14">{escape(empty_text)}</text></svg>'
        )
        return Markup("".join(parts))
    low = min(p.low for p in points)
    high = max(p.high for p in points)
    if high - low < 1e-9:
        low, high = low - 1.0, high + 1.0
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad

    def x(ts: float) -> float:
        return LEFT + (ts - since) / span * plot_w

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * plot_h

    for i in range(5):  # grid lines and value labels
        value = low + (high - low) * i / 4
        yy = y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}"'
            ' stroke="#e6eaee"/>'
            f'<text x="{LEFT - 4}" y="{yy + 4:.1f}" text-anchor="end" font-size="13"'
            f' fill="#5f6b76">{escape(_label(value))}</text>'
        )
    for i in range(4):  # time labels
        ts = since + span * i / 3
        anchor = ("start", "middle", "middle", "end")[i]
        parts.append(
            f'<text x="{x(ts):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="13"'
            f' fill="#5f6b76">{escape(_time(ts, span))}</text>'
        )
    step = min((b.ts - a.ts for a, b in itertools.pairwise(points)), default=60.0)
    for seg in segments(points, max(step, 1.0) * 3.5):
        if len(seg) == 1:
            p = seg[0]
            parts.append(
                f'<circle cx="{x(p.ts):.1f}" cy="{y(p.mean):.1f}" r="2.5" fill="#1565c0"/>'
            )
            continue
        band = [f"{x(p.ts):.1f},{y(p.high):.1f}" for p in seg]
        band += [f"{x(p.ts):.1f},{y(p.low):.1f}" for p in reversed(seg)]
        parts.append(f'<polygon points="{" ".join(band)}" fill="#1565c0" fill-opacity=".15"/>')
        line = " ".join(f"{x(p.ts):.1f},{y(p.mean):.1f}" for p in seg)
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="#1565c0" stroke-width="2"'
            ' stroke-linejoin="round"/>'
        )
    last = points[-1]
    shown = f"{_label(last.mean)}{' ' + unit if unit else ''}"
    parts.append(
        f'<text x="{WIDTH - RIGHT - 4}" y="{TOP + 14}" text-anchor="end" font-size="13"'
        f' font-weight="bold" fill="#1b2128">{escape(shown)}</text></svg>'
    )
    return Markup("".join(parts))
