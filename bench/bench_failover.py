"""Failover of edge collectors on one PostgreSQL store: how long after `kill -9` of the active
collector its standby holds the shard (median and worst of N kills), and what standing by
costs (CPU of the standby process while the active one polls).

    .venv/bin/python bench/bench_failover.py [--kills 5] [--failover 5s] [--idle 30]

Two real collector processes (`roomwatch run`) share one real PostgreSQL 15 on loopback and
watch one website (a real HTTP server, polled every second) in one shard. Each round kills the
lease holder, times until the other one holds the lease (the leases table read every 50 ms),
then starts the killed one again as the new standby. A lease lives 0.6 × failover and is
renewed every 0.2 × failover, so the bound is 0.8 × failover plus one round."""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.durations import parse_duration
from tests.fixtures.cluster import (
    Desk,
    WebhookReceiver,
    eventually,
    start_collector,
    stop_collector,
    wait_started,
    write_collector,
    write_desk,
)
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.website import Website


def main(kills: int, failover: str, idle: float) -> None:
    server = PostgresServer()
    site, hook = Website(), WebhookReceiver()
    tmp = Path(tempfile.mkdtemp(prefix="rw-failover-"))
    procs = {}
    try:
        url = server.url(server.create_database())
        write_desk(tmp, url, site.port, hook.port)
        configs = {n: write_collector(tmp, n, failover=failover) for n in ("c1", "c2")}
        procs = {n: start_collector(c) for n, c in configs.items()}
        wait_started(*configs.values())
        desk = Desk(url)
        eventually(lambda: desk.holder("hall-a") is not None, "a holder")

        # the cost of standing by: CPU of each process over `idle` seconds
        active = desk.holder("hall-a")
        assert active is not None
        standby = next(n for n in procs if n != active)
        ps = {n: psutil.Process(p.pid) for n, p in procs.items()}
        before = {n: sum(p.cpu_times()[:2]) for n, p in ps.items()}
        time.sleep(idle)
        cpu = {n: (sum(p.cpu_times()[:2]) - before[n]) / idle * 100 for n, p in ps.items()}

        times = []
        for _ in range(kills):
            active = desk.holder("hall-a")
            assert active is not None
            other = next(n for n in procs if n != active)
            procs[active].send_signal(signal.SIGKILL)
            killed = time.time()
            procs[active].wait(timeout=10)
            taken = eventually(lambda o=other: desk.holder("hall-a") == o, "takeover", 60)
            times.append(taken - killed)
            (tmp / f"{active}.log").unlink()
            procs[active] = start_collector(configs[active])
            wait_started(configs[active])
            time.sleep(2)
    finally:
        for proc in procs.values():
            stop_collector(proc)
        site.close()
        hook.close()
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)
    bound = parse_duration(failover) * 0.8
    print(f"failover={failover} (bound 0.8 x failover = {bound:.1f} s + one round), kills={kills}")
    print("takeover after kill -9: " + ", ".join(f"{t:.2f}" for t in times) + " s")
    print(f"median {statistics.median(times):.2f} s, worst {max(times):.2f} s")
    polling = next(n for n in cpu if n != standby)
    print(
        f"CPU over {idle:.0f} s: active {cpu[polling]:.1f} %, standby {cpu[standby]:.1f} %"
        " of one core"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--failover", default="5s")
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()
    main(args.kills, args.failover, args.idle)
