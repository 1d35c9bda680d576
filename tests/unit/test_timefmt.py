"""Times are written one way for people: ISO 8601 with the offset, local time by default."""

from __future__ import annotations

import datetime as dt

from core.timefmt import iso_time

TS = dt.datetime(2026, 12, 1, 14, 28, 5, tzinfo=dt.UTC).timestamp()


def test_a_time_carries_its_offset_in_the_zone_asked_for() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert iso_time(TS, shanghai) == "2026-12-01T22:28:05+08:00"
    assert iso_time(TS, dt.UTC) == "2026-12-01T14:28:05+00:00"


def test_local_time_by_default_and_it_reads_back_as_the_same_moment() -> None:
    text = iso_time(TS)
    assert dt.datetime.fromisoformat(text).timestamp() == TS
    assert text[19] in "+-"  # the offset is always written
