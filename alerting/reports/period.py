"""Report periods: a calendar month ("2026-11") or quarter ("2026Q4") in the report's time
zone, as a half-open span of POSIX seconds [start, end)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")


@dataclass(frozen=True)
class Period:
    label: str  # "2026-11" or "2026Q4"
    start: float
    end: float
    months: tuple[tuple[int, int], ...]  # (year, month) covered, in order
    tz: dt.tzinfo

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def contains(self, ts: float | None) -> bool:
        return ts is not None and self.start <= ts < self.end


def timezone(name: str | None) -> dt.tzinfo:
    """The named IANA zone, or the host's local zone when `name` is None."""
    if name:
        return zoneinfo.ZoneInfo(name)
    local = dt.datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def month_start(year: int, month: int, tz: dt.tzinfo) -> float:
    while month > 12:
        year, month = year + 1, month - 12
    while month < 1:
        year, month = year - 1, month + 12
    return dt.datetime(year, month, 1, tzinfo=tz).timestamp()


def month(year: int, number: int, tz: dt.tzinfo) -> Period:
    return Period(
        f"{year:04d}-{number:02d}",
        month_start(year, number, tz),
        month_start(year, number + 1, tz),
        ((year, number),),
        tz,
    )


def quarter(year: int, number: int, tz: dt.tzinfo) -> Period:
    first = 3 * (number - 1) + 1
    months = tuple((year, m) for m in range(first, first + 3))
    return Period(
        f"{year:04d}Q{number}",
        month_start(year, first, tz),
        month_start(year, first + 3, tz),
        months,
        tz,
    )


def parse_period(text: str, tz: dt.tzinfo) -> Period:
    """ "2026-11" → that month, "2026Q4" → that quarter. Raises ValueError."""
    text = text.strip()
    found = _MONTH.match(text)
    if found and 1 <= int(found.group(2)) <= 12:
        return month(int(found.group(1)), int(found.group(2)), tz)
    found = _QUARTER.match(text)
    if found:
        return quarter(int(found.group(1)), int(found.group(2)), tz)
    raise ValueError(f"not a month or quarter: {text!r} (write 2026-11 or 2026Q4)")


def previous_month(local_now: dt.datetime) -> Period:
    assert local_now.tzinfo is not None
    year, number = local_now.year, local_now.month - 1
    if number == 0:
        year, number = year - 1, 12
    return month(year, number, local_now.tzinfo)


def previous_quarter(local_now: dt.datetime) -> Period:
    assert local_now.tzinfo is not None
    number = (local_now.month - 1) // 3  # the current quarter's number minus one
    year = local_now.year
    if number == 0:
        year, number = year - 1, 4
    return quarter(year, number, local_now.tzinfo)


def trailing_months(period: Period, count: int) -> list[tuple[int, int]]:
    """The `count` months ending with the period's last month (for the level-by-month chart)."""
    year, number = period.months[-1]
    out = []
    for back in range(count - 1, -1, -1):
        y, m = year, number - back
        while m < 1:
            y, m = y - 1, m + 12
        out.append((y, m))
    return out
