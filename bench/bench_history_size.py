"""Bytes per point of the console's readings history (collector.history) on disk.

    .venv/bin/python bench/history_size.py SERIES MINUTES     e.g. 100 10080 (7 days)

Writes SERIES temperature series for MINUTES one-minute points into a fresh readings.db in a
temporary directory, flushing once an hour of data as the daemon does every minute, and
prints the file's size (WAL included) per point. docs/console.md quotes its output."""

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from collector.history import HistorySettings, ReadingHistory
from core.sample import Sample


async def main() -> None:
    series, minutes = int(sys.argv[1]), int(sys.argv[2])
    d = Path(tempfile.mkdtemp())
    h = ReadingHistory(d / "readings.db", HistorySettings(max_series=series))
    t0 = 1_764_000_000
    start = time.perf_counter()
    for m in range(minutes):
        h.record(
            [
                Sample(
                    f"dev{i // 10}",
                    "ambient.temperature",
                    20.0 + (m % 50) / 10,
                    {"sensor": f"s{i % 10}"},
                    "°C",
                    t0 + 60 * m,
                )
                for i in range(series)
            ]
        )
        if m % 60 == 59:
            await h.flush(t0 + 60 * (m + 1))
    await h.flush(t0 + 60 * minutes, everything=True)
    took = time.perf_counter() - start
    h.close()
    size = await asyncio.to_thread(lambda: sum(f.stat().st_size for f in d.iterdir()))
    points = series * minutes
    print(
        f"{series} series x {minutes} minutes = {points} points: {size} bytes, {size / points:.1f} bytes/point, written in {took:.1f} s"
    )


asyncio.run(main())
