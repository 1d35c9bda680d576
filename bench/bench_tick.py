"""Benchmark of the daemon's once-a-second tick: what it costs in CPU when nothing happens.

    .venv/bin/python bench/bench_tick.py [--devices 1000] [--ticks 600] [--incidents 0,5,50]
                                         [--postgres]

The real `Daemon.tick` (collector/daemon_tick.py) in this process, on a virtual clock that moves one
second a tick: the bench daemon's files (bench/daemon_parts.py: N switches, the example rules,
a SQLite ticket store, the reading history, a log channel), its rule engine fed one round of
poll-like samples every 60 virtual seconds (outside the timing, and so is a garbage collection
after it: that garbage is the polls' cost), no poller, no HTTP API, the daemon's
garbage-collector settings. For each number of open incidents (opened before the timing, then
left alone: their SLA clocks and escalation tiers run out during it as they would) it prints the CPU per tick of the whole process (user + kernel, every thread:
aiosqlite's worker thread runs the ticket store's queries, another thread writes the
history), of its main thread, and of each part of the tick in the main thread
(`time.thread_time` around the daemon's own calls: the other threads' share cannot be told
apart by part); then, in a second run, the same for only what the tick asks of alerting
(AlertService.tick and .recheck). With --postgres, that again on a PostgreSQL 15 store
(tests/fixtures/postgres.py, durable), with the server's CPU beside it (its postmaster and
backends, from /proc, in 10 ms steps)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting.reports.schedule import ReportScheduler
from alerting.service import AlertService
from bench.daemon_parts import write_daemon_config
from collector import gctune
from collector.daemon import Daemon
from collector.history import ReadingHistory
from collector.loading import add_self_device, files_signature, load_all, watched_files
from core.sample import Sample
from rules.engine import Engine
from rules.fault import Fault, FaultState, fault_key

T0 = 1_764_648_000.0  # 2025-12-02 04:00 UTC, a Tuesday
PORTS = 24
POLL_EVERY = 60  # virtual seconds between two rounds of samples
Store = tuple[str, str | None]  # a ticket store's URL and password


class VirtualClock:
    def __init__(self) -> None:
        self.t = T0

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t - T0 + 1000.0

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


def poll_round(devices: int, ts: float) -> list[Sample]:
    """What one poll of every switch gives the rules: up, and each port's status."""
    out = []
    for i in range(devices):
        device = f"sw{i:05d}"
        out.append(Sample(device, "device.up", 1, ts=ts))
        for port in range(1, PORTS + 1):
            labels = {"ifName": f"Gi1/0/{port}", "ifIndex": str(port)}
            out.append(Sample(device, "ifOperStatus", 1, labels, ts=ts))
    return out


def faults(count: int, ts: float) -> list[Fault]:
    return [
        Fault(
            key=fault_key("device-unreachable", f"sw{i:05d}", {}),
            rule="device-unreachable",
            group="reachability",
            device=f"sw{i:05d}",
            metric="device.up",
            level=1 + i % 3,
            state=FaultState.FIRING,
            value=0,
            since=ts,
            ts=ts,
            site="bench",
            summary={"en": "device unreachable"},
        )
        for i in range(count)
    ]


async def prepared(
    work: Path, devices: int, clock: VirtualClock, store: Store | None = None
) -> Daemon:
    """A daemon with what its tick uses (Daemon.run's start, without poller, API or signals);
    its ticket store is `store`'s URL and password when given, else the config's SQLite."""
    addresses = [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(devices)]
    path = write_daemon_config(work, addresses, 60, 0, None, None, api=False)
    daemon = Daemon(path, clock)
    loaded = load_all(path)
    add_self_device(loaded.inventory)
    daemon.loaded = loaded
    config = loaded.config
    config.state_dir.mkdir(parents=True, exist_ok=True)
    daemon._files_seen = files_signature(watched_files(config))
    daemon.engine = Engine(loaded.ruleset, loaded.inventory)
    daemon._load_maintenance()
    url, password = store if store is not None else (config.store, None)
    daemon.alerts = await AlertService.open(
        config.alerting, url, loaded.inventory, loaded.credentials, clock.now, password=password
    )
    daemon.reports = ReportScheduler(config.state_dir / "reports")
    if config.history.enabled:
        daemon.history = ReadingHistory(config.state_dir / "readings.db", config.history)
    gctune.freeze_startup()  # as Daemon.run does once its services run
    mono = clock.monotonic()
    daemon._last_save = daemon._last_watch = daemon._last_watchdog = mono
    return daemon


class Parts:
    """Main-thread CPU spent in each part of the tick (wrapped around the daemon's calls)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.untimed: list[str] = []

    def wrap_async(self, owner: Any, name: str, label: str) -> None:
        inner: Callable[..., Awaitable[Any]] = getattr(owner, name)

        async def timed(*args: Any, **kw: Any) -> Any:
            started = time.thread_time()
            try:
                return await inner(*args, **kw)
            finally:
                self.cpu[label] += time.thread_time() - started

        setattr(owner, name, timed)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kw: Any) -> Any:
            started = time.thread_time()
            try:
                return inner(*args, **kw)
            finally:
                self.cpu[label] += time.thread_time() - started

        try:
            setattr(owner, name, timed)
        except AttributeError:  # a class compiled by mypyc (rules/engine.py): not timed apart
            self.untimed.append(label)


async def run(
    devices: int,
    ticks: int,
    incidents: int,
    alone: bool,
    store: Store | None = None,
    server: int | None = None,
) -> tuple[float, float, float]:
    """CPU per tick of the whole process and of its main thread, over `ticks` ticks of the
    daemon (or, `alone`, of only what its tick asks of alerting: the alert service's tick and
    its recheck of hand-resolved incidents), with the parts of the daemon's tick printed; and
    of the PostgreSQL server whose postmaster is `server`, if given."""
    clock = VirtualClock()
    with tempfile.TemporaryDirectory() as tmp:
        daemon = await prepared(Path(tmp), devices, clock, store)
        assert daemon.alerts is not None and daemon.engine is not None
        try:
            parts, statements, cpu, thread, served = await timed_ticks(
                daemon, clock, devices, ticks, incidents, alone, server
            )
        finally:  # also after an error: aiosqlite's thread would keep the process alive
            await daemon.alerts.close()
            if daemon.history is not None:
                daemon.history.close()
    for label, seconds in sorted(parts.cpu.items(), key=lambda kv: -kv[1]):
        print(f"    {label:18s} {seconds / ticks * 1e3:7.3f} ms (main thread)")
    for label in parts.untimed:
        print(f"    {label:18s} compiled (mypyc): in the tick's total, not timed apart")
    if statements:
        print(f"    ticket store: {len(statements) / ticks:.2f} SQL statements per tick")
    return cpu / ticks, thread / ticks, served / ticks


def count_statements(store: object) -> list[str]:
    """Every statement a SQLite ticket store sends to SQLite from now on, BEGIN and COMMIT
    included (each is a round trip to aiosqlite's thread); nothing for PostgreSQL."""
    seen: list[str] = []
    db = getattr(store, "_db", None)
    if db is None:
        return seen
    inner = db.execute

    def counted(sql: str, *args: Any) -> Any:
        seen.append(sql)
        return inner(sql, *args)

    db.execute = counted
    return seen


async def timed_ticks(
    daemon: Daemon,
    clock: VirtualClock,
    devices: int,
    ticks: int,
    incidents: int,
    alone: bool,
    server: int | None,
) -> tuple[Parts, list[str], float, float, float]:
    """The set-up and the timing of `run`: (parts, statements, process, main thread and
    server CPU seconds over the timed ticks)."""
    assert daemon.alerts is not None and daemon.engine is not None
    engine, alerts = daemon.engine, daemon.alerts
    daemon._evaluate(poll_round(devices, clock.now()), clock.now())
    if incidents:
        await alerts.handle(faults(incidents, clock.now()))
    for _ in range(30):  # escalation's first tier, the outbox, the first state save
        clock.t += 1
        await daemon.tick()
    parts = Parts()
    if not alone:
        for name, label in (("tick", "alerts.tick"), ("recheck", "alerts.recheck")):
            parts.wrap_async(alerts, name, label)
        for name in ("_run_reports", "_flush_history"):
            parts.wrap_async(daemon, name, name)
        for name in ("_save_state", "_files_changed", "_load_maintenance"):
            parts.wrap(daemon, name, name)
        parts.wrap(engine, "tick", "engine.tick")
    statements = count_statements(alerts.store)
    cpu = thread = 0.0
    server_started = server_cpu(server) if server is not None else 0.0
    for n in range(ticks):
        clock.t += 1
        if n % POLL_EVERY == 0:
            daemon._evaluate(poll_round(devices, clock.now()), clock.now())
            gc.collect()  # the round's garbage is the polls' cost, not the tick's
        started, started_thread = time.process_time(), time.thread_time()
        if alone:
            await alerts.tick()
            await alerts.recheck(lambda: engine.firing(clock.t))
        else:
            await daemon.tick()
        cpu += time.process_time() - started
        thread += time.thread_time() - started_thread
    served = server_cpu(server) - server_started if server is not None else 0.0
    return parts, statements, cpu, thread, served


def server_cpu(postmaster: int) -> float:
    """CPU seconds so far of a PostgreSQL server: the postmaster and its children (the
    backends serving the pool's connections, which stay open)."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        if int(entry) == postmaster or int(fields[1]) == postmaster:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def main(devices: int, ticks: int, incidents: list[int], postgres: bool) -> None:
    print(f"devices={devices} ticks={ticks} (virtual seconds)")
    for count in incidents:
        print(f"incidents open: {count}")
        cpu, thread, _ = await run(devices, ticks, count, alone=False)
        print(f"  daemon tick: {cpu * 1e3:.3f} ms CPU ({thread * 1e3:.3f} ms main thread)")
        cpu, thread, _ = await run(devices, ticks, count, alone=True)
        print(f"  alerting alone: {cpu * 1e3:.3f} ms CPU ({thread * 1e3:.3f} ms main thread)")
    if not postgres:
        return
    from tests.fixtures.postgres import PG_PASSWORD, PostgresServer

    server = PostgresServer(durable=True)
    try:
        assert server.proc is not None
        for count in incidents:
            store = (server.url(server.create_database()), PG_PASSWORD)
            cpu, _, spent = await run(devices, ticks, count, True, store, server.proc.pid)
            print(
                f"PostgreSQL, incidents open: {count}: alerting alone {cpu * 1e3:.3f} ms CPU"
                f" per tick in the daemon, {spent * 1e3:.3f} ms in the server"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=600)
    parser.add_argument("--incidents", default="0,5,50", help="comma-separated counts")
    parser.add_argument(
        "--postgres", action="store_true", help="also alerting alone on a PostgreSQL store"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    gctune.tune()  # the daemon's garbage-collector settings
    counts = [int(n) for n in args.incidents.split(",")]
    asyncio.run(main(args.devices, args.ticks, counts, args.postgres))
