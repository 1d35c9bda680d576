"""The ticket store on SQLite and on PostgreSQL side by side: incident changes per second and
messages per second through the whole alert service (incident rows, audit, escalation and
outbox rows, one transaction per fault batch; claiming, sending through the file channel and
recording each message).

    .venv/bin/python bench/bench_store.py [--devices 500] [--batch 10]

PostgreSQL 15 runs on loopback as started by the tests' fixture, but durable (fsync and
synchronous_commit on, as in production); SQLite in WAL mode with synchronous=NORMAL, the
store's own settings. Each fault event is one incident change (opened, then resolved);
each incident's opened message and recovery go out as messages of their own (grouped by
device, no group wait)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting.config import AlertingConfig
from alerting.service import AlertService
from bench.bench_alerting import Clock, storm
from inventory.credentials import Credentials
from inventory.model import Device, Inventory, Site
from rules.fault import FaultState
from tests.fixtures.postgres import PG_PASSWORD, PostgresServer


def inventory(devices: int) -> Inventory:
    inv = Inventory()
    for s in range(5):
        inv.sites[f"dc{s}"] = Site(f"dc{s}", f"Site {s}")
    for i in range(devices):
        inv.devices[f"dev{i:05d}"] = Device(
            f"dev{i:05d}", f"Device {i}", "server", 1, site=f"dc{i % 5}"
        )
    return inv


async def run(
    url: str, password: str | None, tmp: Path, devices: int, batch: int
) -> tuple[float, float]:
    config = AlertingConfig.model_validate(
        {
            "language": "en",
            "group": {"wait": "0s", "by": ["device"]},
            "retry": {"batch": devices * 2},
            "notifiers": [{"type": "file", "path": str(tmp / "alerts.jsonl")}],
        }
    )
    clock = Clock()
    svc = await AlertService.open(
        config, url, inventory(devices), Credentials({}), clock, state_dir=tmp, password=password
    )
    svc.delivery_budget = None
    try:
        changes = 0
        started = time.perf_counter()
        for state in (FaultState.FIRING, FaultState.RESOLVED):
            faults = storm(devices, state, clock.now)
            for start in range(0, devices, batch):
                changes += len(await svc.handle(faults[start : start + batch]))
            clock.now += 1
        changes_per_s = changes / (time.perf_counter() - started)
        started = time.perf_counter()
        sent = 0
        while True:
            n = await svc.tick()
            sent += n
            if n == 0:
                break
        messages_per_s = sent / (time.perf_counter() - started)
        assert changes == 2 * devices, changes
        assert sent == 2 * devices, sent  # each device: opened and resolved
    finally:
        await svc.close()
    return changes_per_s, messages_per_s


async def main(devices: int, batch: int) -> None:
    server = PostgresServer(durable=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            lite = await run(f"sqlite:///{tmp}/t.db", None, Path(tmp), devices, batch)
        with tempfile.TemporaryDirectory() as tmp:
            url = server.url(server.create_database())
            pg = await run(url, PG_PASSWORD, Path(tmp), devices, batch)
    finally:
        server.close()
    print(f"devices={devices} batch={batch} (each: opened + resolved, 2 messages)")
    print(f"{'':<12} {'incident changes/s':>20} {'messages/s':>12}")
    print(f"{'SQLite':<12} {lite[0]:>20,.0f} {lite[1]:>12,.0f}")
    print(f"{'PostgreSQL':<12} {pg[0]:>20,.0f} {pg[1]:>12,.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--batch", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.devices, args.batch))
