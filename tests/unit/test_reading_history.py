"""The daemon's recent history of readings (collector.history) on a real SQLite file, on the
samples' own time: one point per series per minute (mean, low, high), a minute written twice
is merged, points older than `keep` go, and the number of series is bounded."""

from __future__ import annotations

import math
from pathlib import Path

from collector.history import HistorySettings, ReadingHistory
from core.sample import Sample

T0 = 1_764_000_000.0 // 60 * 60  # on a minute boundary


def temp(value: float, ts: float, sensor: str = "inlet") -> Sample:
    return Sample("env1", "ambient.temperature", value, {"sensor": sensor}, "°C", ts)


async def test_samples_become_one_point_per_minute_with_mean_low_and_high(tmp_path: Path) -> None:
    history = ReadingHistory(tmp_path / "readings.db", HistorySettings())
    history.record([temp(20.0, T0 + 5), temp(22.0, T0 + 25), temp(27.0, T0 + 55)])
    history.record([temp(30.0, T0 + 65), Sample("env1", "ups.status", "OL", {}, None, T0 + 5)])
    assert await history.flush(T0 + 61) == 1  # the second minute is not over yet
    points = await history.points(
        "env1", "ambient.temperature", {"sensor": "inlet"}, T0, T0 + 120, buckets=120
    )
    assert [(p.ts, p.mean, p.low, p.high) for p in points] == [
        (T0, 23.0, 20.0, 27.0),
        (T0 + 60, 30.0, 30.0, 30.0),  # still in memory, shown all the same
    ]
    assert [s.metric for s in history.series_of("env1")] == ["ambient.temperature"]  # no text
    history.close()


async def test_a_minute_written_twice_is_merged_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "readings.db"
    first = ReadingHistory(path, HistorySettings())
    first.record([temp(10.0, T0 + 1)])
    await first.flush(T0 + 30, everything=True)  # stopping mid-minute
    first.close()
    second = ReadingHistory(path, HistorySettings())
    second.record([temp(20.0, T0 + 40), temp(30.0, T0 + 50)])
    await second.flush(T0 + 61)
    (point,) = await second.points(
        "env1", "ambient.temperature", {"sensor": "inlet"}, T0, T0 + 60, buckets=1
    )
    assert (point.mean, point.low, point.high) == (20.0, 10.0, 30.0)
    second.close()


async def test_old_points_are_pruned_and_series_are_bounded(tmp_path: Path) -> None:
    settings = HistorySettings(keep=3600.0, max_series=2)
    history = ReadingHistory(tmp_path / "readings.db", settings)
    history.record([temp(1.0, T0), temp(2.0, T0, "outlet"), temp(3.0, T0, "third")])
    assert history.dropped_series == 1
    await history.flush(T0 + 60)
    for minute in range(1, 120):
        history.record([temp(float(minute), T0 + minute * 60)])
    await history.flush(T0 + 121 * 60)  # an hour after the first prune: prunes again
    points = await history.points(
        "env1", "ambient.temperature", {"sensor": "inlet"}, T0, T0 + 7200, buckets=7200
    )
    assert points[0].ts >= T0 + 121 * 60 - 3600
    assert len(points) <= 61
    assert {s.labels["sensor"] for s in history.series_of("env1")} == {"inlet", "outlet"}
    history.close()


async def test_one_device_cannot_take_every_place(tmp_path: Path) -> None:
    """A switch's hundreds of port counters come first; the room's sensor still gets in."""
    settings = HistorySettings(max_series=10, max_series_per_device=4)
    history = ReadingHistory(tmp_path / "readings.db", settings)
    ports = [
        Sample("sw1", "ifInOctets", float(i), {"ifIndex": str(i)}, None, T0) for i in range(50)
    ]
    history.record(ports)
    history.record([temp(21.0, T0)])
    await history.flush(T0 + 60)
    assert len(history.series_of("sw1")) == 4
    assert [s.metric for s in history.series_of("env1")] == ["ambient.temperature"]
    assert history.dropped_series == 46
    history.close()


async def test_a_rows_shared_labels_and_equal_copies_are_one_series(tmp_path: Path) -> None:
    """A table row's samples share one labels dict; a later poll brings an equal new one:
    each metric stays one series, and two rows stay two."""
    history = ReadingHistory(tmp_path / "readings.db", HistorySettings())
    row1, row2 = {"ifName": "Gi1/0/1", "ifIndex": "1"}, {"ifName": "Gi1/0/2", "ifIndex": "2"}
    history.record(
        [Sample("sw1", m, 1.0, row, None, T0 + 5) for row in (row1, row2) for m in ("a", "b")]
    )
    history.record([Sample("sw1", "a", 3.0, {"ifIndex": "1", "ifName": "Gi1/0/1"}, None, T0 + 9)])
    await history.flush(T0 + 61)
    assert sorted((s.metric, s.labels["ifName"]) for s in history.series_of("sw1")) == [
        ("a", "Gi1/0/1"), ("a", "Gi1/0/2"), ("b", "Gi1/0/1"), ("b", "Gi1/0/2"),
    ]  # fmt: skip
    (point,) = await history.points("sw1", "a", row1, T0, T0 + 60, buckets=1)
    assert (point.mean, point.low, point.high) == (2.0, 1.0, 3.0)
    history.close()


async def test_a_full_history_counts_every_reading_it_cannot_keep(tmp_path: Path) -> None:
    """Full: devices with series keep theirs, others are counted poll after poll."""
    history = ReadingHistory(tmp_path / "readings.db", HistorySettings(max_series=2))
    history.record([temp(1.0, T0), temp(2.0, T0, "outlet")])
    others = [
        Sample("sw9", "ifInOctets", float(i), {"ifIndex": str(i)}, None, T0) for i in range(5)
    ]
    others[1:3] = [Sample("sw9", "a", 3, {}, None, T0), Sample("sw9", "b", True, {}, None, T0)]
    others += [
        Sample("sw9", "c", math.nan, {}, None, T0),
        Sample("sw9", "d", math.inf, {}, None, T0),
    ]
    for _ in range(3):
        history.record([*others, Sample("sw9", "sysDescr", "text", {}, None, T0)])
    history.record([temp(3.0, T0 + 1)])  # a known series still gets its points
    assert history.dropped_series == 15  # numeric readings only, every time
    await history.flush(T0 + 61)
    (point,) = await history.points(
        "env1", "ambient.temperature", {"sensor": "inlet"}, T0, T0 + 60, buckets=1
    )
    assert (point.mean, point.low, point.high) == (2.0, 1.0, 3.0)
    assert history.series_of("sw9") == []
    history.close()


async def test_a_shut_out_poll_is_counted_as_the_reading_by_reading_path_counts(
    tmp_path: Path,
) -> None:
    """A full history counts a whole poll of a device without series at once; the same
    readings in a batch that also holds a kept series go one by one: the same count."""
    history = ReadingHistory(tmp_path / "readings.db", HistorySettings(max_series=1))
    history.record([temp(1.0, T0)])
    values: list[float | int | bool | str] = [1, True, 2.5, math.nan, -math.inf, "up", 0.0, False]
    poll = [Sample("sw1", f"m{i}", v, {}, None, T0) for i, v in enumerate(values)]
    history.record(poll)
    assert history.dropped_series == 5
    history.record([*poll, temp(2.0, T0 + 1)])
    assert history.dropped_series == 10
    assert [s.device for s in history.series_of("sw1")] == []
    history.close()


async def test_flushed_every_second_each_minute_is_written_once_it_is_over(tmp_path: Path) -> None:
    history = ReadingHistory(tmp_path / "readings.db", HistorySettings())
    history.record([temp(20.0, T0 + 5, "inlet")])
    history.record([temp(25.0, T0 + 65, "outlet")])  # another series, one minute later
    written = {}
    for second in range(1, 181):  # the daemon's tick
        if second == 70:
            history.record([temp(21.0, T0 + 70, "inlet")])
        count = await history.flush(T0 + second)
        if count:
            written[second] = count
    # the inlet's first minute at 1:00; the outlet's and the inlet's second minute at 2:00
    assert written == {60: 1, 120: 2}
    history.close()
