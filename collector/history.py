"""The daemon's own recent history of readings, for the console's graphs: bounded, in its own
SQLite file (`<state_dir>/readings.db`), apart from the ticket store.

    history:                  # roomwatch.yaml (all optional; these are the defaults)
      enabled: true
      keep: 7d                # points older than this are deleted (hourly)
      resolution: 1m          # one point per series per minute: mean, min, max, count
      max_series: 1000        # series beyond this are not kept (counted, logged once)
      max_series_per_device: 200   # so one switch's port counters leave room for the rest

Size: a point is one row of (series, minute, mean, min, max, count) in a WITHOUT ROWID table;
docs/console.md gives the measured bytes per point, so `max_series × keep / resolution`
points bound the file. Only numeric readings are kept (booleans as 0/1); text and
non-finite values are not graphs.

Samples are summed in memory for the minute they fall in; `flush` writes every finished
minute in one transaction in a worker thread (the event loop never waits on the disk), and a
minute written twice (a restart within it) is merged, not duplicated. Time is the samples'
own `ts` and the injected clock's `now`."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from core.durations import Duration
from core.sample import Sample

log = logging.getLogger("roomwatch.history")

PRUNE_EVERY = 3600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    metric TEXT NOT NULL,
    labels TEXT NOT NULL,
    unit TEXT,
    UNIQUE (device, metric, labels)
);
CREATE TABLE IF NOT EXISTS points (
    series INTEGER NOT NULL,
    slot INTEGER NOT NULL,            -- start of the point's interval, epoch seconds
    mean REAL NOT NULL,
    low REAL NOT NULL,
    high REAL NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (series, slot)
) WITHOUT ROWID;
"""

UPSERT = """
INSERT INTO points (series, slot, mean, low, high, n) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (series, slot) DO UPDATE SET
    mean = (mean * n + excluded.mean * excluded.n) / (n + excluded.n),
    low = MIN(low, excluded.low),
    high = MAX(high, excluded.high),
    n = n + excluded.n
"""


class RemoteSource(BaseModel):
    """Where the graphs read instead (collector.history_remote): a store answering the
    Prometheus query API over what the InfluxDB sink wrote (VictoriaMetrics)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    timeout: float = Field(default=5.0, gt=0, le=60)


class HistorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    keep: Duration = 7 * 86400.0
    resolution: Duration = 60.0
    max_series: int = Field(default=1000, ge=1, le=1_000_000)
    # one switch's hundreds of port counters must not take every place of the room's sensors
    max_series_per_device: int = Field(default=200, ge=1, le=1_000_000)
    source: RemoteSource | None = None  # graphs from the sink's store instead


@dataclass(frozen=True)
class Series:
    id: int
    device: str
    metric: str
    labels: dict[str, str]
    unit: str | None


@dataclass(frozen=True)
class Point:
    ts: float
    mean: float
    low: float
    high: float


class GraphSource(Protocol):
    """What the device pages ask of a history (this module's, or history_remote's)."""

    def series_of(self, device: str) -> list[Series]: ...

    async def points(
        self,
        device: str,
        metric: str,
        labels: dict[str, str],
        since: float,
        until: float,
        buckets: int = 240,
    ) -> list[Point]: ...


def numeric(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def numeric_count(values: Iterable[object]) -> int:
    """How many of `values` `numeric` would keep (booleans and integers, finite floats)."""
    count = 0
    for value in values:
        if isinstance(value, float):
            count += math.isfinite(value)
        elif isinstance(value, int):  # bool too
            count += 1
    return count


_device, _value = attrgetter("device"), attrgetter("value")


class ReadingHistory:
    def __init__(self, path: Path, settings: HistorySettings) -> None:
        self.path = path
        self.settings = settings
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()  # one thread at a time on the connection
        self._series: dict[tuple[str, str, str], Series] = {}
        for row in self._db.execute("SELECT id, device, metric, labels, unit FROM series"):
            labels = json.loads(row[3])
            self._series[(row[1], row[2], row[3])] = Series(row[0], row[1], row[2], labels, row[4])
        # (series key) → slot → [sum, low, high, n]; only this process's unwritten minutes
        self._pending: dict[tuple[str, str, str], dict[int, list[float]]] = {}
        # the earliest interval in _pending: the daemon flushes every second, and until that
        # interval is over there is nothing to write (so `flush` need not walk 1,000 series)
        self._oldest_slot: int | None = None
        self._units: dict[tuple[str, str, str], str | None] = {}
        self.dropped_series = 0
        self.points_written = 0
        self._last_prune = 0.0
        self._told_full = False
        self._per_device: dict[str, int] = {}
        for series in self._series.values():
            self._per_device[series.device] = self._per_device.get(series.device, 0) + 1

    def record(self, samples: Iterable[Sample]) -> None:
        """Keep the numeric readings of a poll (in memory until the next flush)."""
        if isinstance(samples, Sequence) and samples and self._shut_out_poll(samples):
            # Once the history is full, most polls at 1,000 switches are of a device that
            # can gain no series: only counted (the loop below spent 0.2 us a sample on them).
            self.dropped_series += numeric_count(map(_value, samples))
            return
        step = max(1, int(self.settings.resolution))
        # A table row's samples share one labels dict (probes build one per row): its JSON is
        # made once per row, not once per sample (that was 6 % of the daemon's CPU at 1,000
        # switches). By identity within this call, while the samples keep the dicts alive.
        labels_json: dict[int, str] = {}
        # Once the history is full, a device with no series in it can gain none: its
        # readings are counted and passed by without making their keys (at 1,000 switches
        # nearly every poll is such a device's).
        device: str | None = None
        shut_out = False
        for sample in samples:
            if sample.device != device:
                device = sample.device
                shut_out = self._shut_out(device)
            value = numeric(sample.value)
            if value is None:
                continue
            if shut_out:
                self.dropped_series += 1
                continue
            labels = labels_json.get(id(sample.labels))
            if labels is None:
                labels = labels_json[id(sample.labels)] = json.dumps(sample.labels, sort_keys=True)
            key = (sample.device, sample.metric, labels)
            known = key in self._series or key in self._pending
            if not known:
                if self._per_device.get(sample.device, 0) >= self.settings.max_series_per_device:
                    self.dropped_series += 1
                    continue
                if len(self._series) + len(self._pending) >= self.settings.max_series:
                    self.dropped_series += 1
                    if not self._told_full:
                        self._told_full = True
                        log.warning(
                            "reading history full (%d series, history.max_series): new series"
                            " are not kept",
                            self.settings.max_series,
                        )
                    continue
                self._per_device[sample.device] = self._per_device.get(sample.device, 0) + 1
            slot = int(sample.ts) // step * step
            acc = self._pending.setdefault(key, {}).get(slot)
            if acc is None:
                self._pending[key][slot] = [value, value, value, 1.0]
                if self._oldest_slot is None or slot < self._oldest_slot:
                    self._oldest_slot = slot
            else:
                acc[0] += value
                acc[1] = min(acc[1], value)
                acc[2] = max(acc[2], value)
                acc[3] += 1
            self._units[key] = sample.unit

    def _shut_out(self, device: str) -> bool:
        """Whether the history is full and `device` has no series in it: none of its
        readings can be kept."""
        return not self._per_device.get(device) and (
            len(self._series) + len(self._pending) >= self.settings.max_series
        )

    def _shut_out_poll(self, samples: Sequence[Sample]) -> bool:
        """Whether these are one device's samples, a device `_shut_out`."""
        device = samples[0].device
        return self._shut_out(device) and list(map(_device, samples)).count(device) == len(samples)

    async def flush(self, now: float, everything: bool = False) -> int:
        """Write the finished intervals (all of them with `everything`, at shutdown) and
        prune old points once an hour. Returns points written."""
        step = max(1, int(self.settings.resolution))
        current = int(now) // step * step
        prune = now - self._last_prune >= PRUNE_EVERY
        finished = self._oldest_slot is not None and (everything or self._oldest_slot < current)
        if not finished and not prune:
            return 0
        batch: list[tuple[tuple[str, str, str], int, list[float]]] = []
        oldest: int | None = None
        for key, slots in list(self._pending.items()):
            for slot in [s for s in slots if everything or s < current]:
                batch.append((key, slot, slots.pop(slot)))
            if slots:
                first = min(slots)
                oldest = first if oldest is None or first < oldest else oldest
            else:
                del self._pending[key]
        self._oldest_slot = oldest
        if prune:
            self._last_prune = now
        if not batch and not prune:
            return 0
        written = await asyncio.to_thread(self._write, batch, now - self.settings.keep, prune)
        self.points_written += written
        return written

    def _write(
        self,
        batch: Sequence[tuple[tuple[str, str, str], int, list[float]]],
        cutoff: float,
        prune: bool,
    ) -> int:
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                rows = []
                for key, slot, (total, low, high, n) in batch:
                    series = self._series.get(key)
                    if series is None:
                        cur = db.execute(
                            "INSERT INTO series (device, metric, labels, unit) VALUES (?,?,?,?)"
                            " ON CONFLICT DO NOTHING RETURNING id",
                            (*key, self._units.get(key)),
                        )
                        found = cur.fetchone()
                        if found is None:
                            found = db.execute(
                                "SELECT id FROM series WHERE device=? AND metric=? AND labels=?",
                                key,
                            ).fetchone()
                        series = Series(found[0], key[0], key[1], json.loads(key[2]), None)
                        self._series[key] = series
                    rows.append((series.id, slot, total / n, low, high, int(n)))
                db.executemany(UPSERT, rows)
                if prune:
                    db.execute("DELETE FROM points WHERE slot < ?", (int(cutoff),))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(rows)

    def series_of(self, device: str) -> list[Series]:
        found = [s for s in self._series.values() if s.device == device]
        known = {(s.device, s.metric, json.dumps(s.labels, sort_keys=True)) for s in found}
        for key in self._pending:  # seen, not yet written: shown as soon as it has a point
            if key[0] == device and key not in known:
                found.append(Series(-1, key[0], key[1], json.loads(key[2]), self._units.get(key)))
        return sorted(found, key=lambda s: (s.metric, sorted(s.labels.items())))

    async def points(
        self,
        device: str,
        metric: str,
        labels: dict[str, str],
        since: float,
        until: float,
        buckets: int = 240,
    ) -> list[Point]:
        """The series' points from `since` to `until`, averaged into about `buckets` (a graph
        needs no more points than it has pixels)."""
        key = (device, metric, json.dumps(labels, sort_keys=True))
        series = self._series.get(key)
        out: list[Point] = []
        if series is not None:
            width = max(int(self.settings.resolution), math.ceil((until - since) / buckets))
            out = await asyncio.to_thread(self._read, series.id, since, width)
        for slot, (total, low, high, n) in sorted(self._pending.get(key, {}).items()):
            if slot >= since:
                out.append(Point(float(slot), total / n, low, high))
        return out

    def _read(self, series: int, since: float, width: int) -> list[Point]:
        with self._lock:
            rows = self._db.execute(
                "SELECT (slot / ?) * ? AS b, SUM(mean * n) / SUM(n), MIN(low), MAX(high)"
                " FROM points WHERE series = ? AND slot >= ? GROUP BY b ORDER BY b",
                (width, width, series, int(since)),
            ).fetchall()
        return [Point(float(r[0]), r[1], r[2], r[3]) for r in rows]

    def stats(self) -> dict[str, float]:
        return {
            "history_series": float(len(self._series)),
            "history_series_dropped": float(self.dropped_series),
            "history_points_written": float(self.points_written),
        }

    def close(self) -> None:
        with self._lock:
            self._db.close()
