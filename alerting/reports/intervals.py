"""Interval arithmetic on half-open spans of POSIX seconds, for availability: merge, clip,
subtract, and the occurrences of (possibly recurring) maintenance windows. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rules.maintenance import PERIODS, MaintenanceWindow

Span = tuple[float, float]


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans covering the same time; empty spans dropped."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def clip(spans: Iterable[Span], start: float, end: float) -> list[Span]:
    return merge((max(s, start), min(e, end)) for s, e in spans)


def total(spans: Iterable[Span]) -> float:
    return sum(e - s for s, e in merge(spans))


def subtract(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """`spans` with the time of `holes` taken out."""
    out: list[Span] = []
    holes = merge(holes)
    for start, end in merge(spans):
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                out.append((cursor, h_start))
            cursor = max(cursor, h_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def window_spans(window: MaintenanceWindow, start: float, end: float) -> list[Span]:
    """The occurrences of `window` that overlap [start, end), clipped to it."""
    length = window.end - window.start
    stop = end if window.ended is None else min(end, window.ended)
    if window.every is None:
        return clip([(window.start, min(window.end, stop))], start, stop)
    period = PERIODS[window.every]
    first = window.start
    if first + length < start:
        first += ((start - first - length) // period) * period
    spans = []
    occurrence = first
    while occurrence < stop:
        spans.append((occurrence, min(occurrence + length, stop)))
        occurrence += period
    return clip(spans, start, stop)
