"""Benchmark of the InfluxDB sink on one core: samples per second (1) through the sink to a
local server (Debian's VictoriaMetrics, InfluxDB v2 write API) and (2) into the spool while the
server is down. Goals (issue 8): >= 50,000/s to the server, >= 20,000/s into the spool.

    .venv/bin/python bench/bench_sink.py [--samples 300000] [--batch-size 5000]

This process (event loop + worker threads) is pinned to one CPU; the server runs on the other.
Samples look like an SNMP interface walk: 1,000 per submit (one poll), 5 labels-worth of tags.
The replay rate limit is lifted (it exists to spare a recovering store, not to measure us)."""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.sinks.config import SinkConfig
from collector.sinks.influx import InfluxSink
from core.sample import Sample
from tests.fixtures.peers import free_port
from tests.fixtures.victoria_peer import VictoriaMetrics

POLL = 1000  # samples per submit


def polls(total: int, base: float) -> list[list[Sample]]:
    out = []
    for start in range(0, total, POLL):
        device = f"sw-{start // POLL % 200:03d}"
        out.append(
            [
                Sample(
                    device,
                    ("ifHCInOctets", "ifHCOutOctets", "ifOperStatus", "ifInErrors")[i % 4],
                    float(i * 1234567),
                    {"ifName": f"Gi1/0/{i % 48 + 1}", "ifIndex": str(i % 48 + 1)},
                    ts=base + (start + i) / 1000,
                )
                for i in range(start, min(start + POLL, total))
            ]
        )
    return out


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(
    url: str, spool: Path, total: int, batch_size: int, counter: str
) -> tuple[float, float, InfluxSink]:
    config = SinkConfig(
        name="bench",
        url=url,
        org="bench",
        bucket="bench",
        credentials="influx",
        batch_size=batch_size,
        flush_interval=0.2,
        timeout=10,
        spool={"replay_rate": 1e9},  # type: ignore[arg-type]
    )
    sink = InfluxSink(config, "bench-token", spool, lambda d: {"site": "bj-1", "kind": "switch"})
    await sink.start()
    work = polls(total, time.time() - 600)
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    for poll in work:
        sink.submit(poll)
        await asyncio.sleep(0)  # the collector yields between polls
        # Sustained rate, not a burst: a burst beyond `max_pending` is dropped by design.
        for _ in range(10_000):
            if sink.stats()["pending"] < 20 * POLL:
                break
            await asyncio.sleep(0.001)
    for _ in range(1_000_000):
        if sink.counters[counter] + sink.counters["dropped_total"] >= total:
            break
        await asyncio.sleep(0.005)
    if sink.counters["dropped_total"]:
        raise SystemExit(f"samples dropped: {sink.stats()}")
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    await sink.stop()
    return elapsed, cpu, sink


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=300_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    work = Path(tempfile.mkdtemp(prefix="bench-sink-"))
    server = VictoriaMetrics(work / "vm").start()
    assert server.proc is not None
    if len(cpus) > 1:
        os.sched_setaffinity(server.proc.pid, set(cpus[1:]))
    print(
        f"python {sys.version.split()[0]}, sink pinned to CPU {cpus[0]}, "
        f"VictoriaMetrics on CPU(s) {cpus[1:] or cpus}, {args.samples} samples, "
        f"batch {args.batch_size}"
    )
    try:
        elapsed, cpu, sink = asyncio.run(
            run(
                server.url,
                work / "to-server.sqlite",
                args.samples,
                args.batch_size,
                "written_total",
            )
        )
        stored = len(server.wait_for_points('{__name__=~"if.*_value"}', args.samples, timeout=60))
        print(
            f"to the server : {args.samples / elapsed:>9,.0f} samples/s  "
            f"({elapsed:.2f} s wall, {cpu:.2f} s CPU, {args.samples / cpu:,.0f} samples per CPU-second; "
            f"read back {stored} points)  goal >= 50,000"
        )
    finally:
        server.stop()
    dead = f"http://127.0.0.1:{free_port()}"
    elapsed, cpu, sink = asyncio.run(
        run(dead, work / "server-down.sqlite", args.samples, args.batch_size, "spooled_total")
    )
    print(
        f"into the spool: {args.samples / elapsed:>9,.0f} samples/s  "
        f"({elapsed:.2f} s wall, {cpu:.2f} s CPU; server down, spool depth "
        f"{sink.stats()['spool_depth']:.0f}, {(work / 'server-down.sqlite').stat().st_size / 1e6:.1f} MB)"
        f"  goal >= 20,000"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
