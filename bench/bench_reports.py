"""Benchmark of the reports: building the monthly SLA report from a real SQLite ticket store
holding a year of incidents, and rendering it.

    .venv/bin/python bench/bench_reports.py [--per-month 2000] [--months 12] [--devices 500]

Measures: reading the store (incidents and the audit logs a report needs), computing the
report, and writing it as HTML, Markdown and CSV. The daemon builds the monthly report once a
month inside its tick, so the whole should stay well under a few seconds for a busy room."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import zoneinfo
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerting.config import AlertingConfig
from alerting.reports import output
from alerting.reports.monthly import MonthlyInput, build_monthly
from alerting.reports.period import month, month_start
from alerting.reports.source import read_incidents
from alerting.store import TicketStore, open_store
from inventory.model import Device, Inventory, Site

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
RULES = [
    ("device-unreachable", "device.up"),
    ("disk-full", "disk.used_percent"),
    ("hot", "ambient.temperature"),
]


async def fill(store: TicketStore, per_month: int, months: int, devices: int) -> None:
    rng = random.Random(1)
    start = month_start(2026, 12 - months, TZ)
    end = month_start(2026, 12, TZ)
    async with store.transaction():
        for n in range(per_month * months):
            opened = rng.uniform(start, end)
            rule, metric = rng.choice(RULES)
            device = f"dev{rng.randrange(devices)}"
            ack = opened + rng.uniform(60, 3600) if rng.random() < 0.8 else None
            resolved = opened + rng.uniform(300, 86400) if rng.random() < 0.95 else None
            incident = await store.insert_incident(
                {
                    "key": f"{rule}|{device}|n={n}",
                    "rule": rule,
                    "device": device,
                    "metric": metric,
                    "site": "dc1",
                    "level": rng.choice([1, 2, 3]),
                    "state": "resolved" if resolved else ("acknowledged" if ack else "open"),
                    "since": opened - 60,
                    "opened_at": opened,
                    "active_since": opened,
                    "level_since": opened,
                    "updated_at": opened,
                    "acknowledged_at": ack,
                    "resolved_at": resolved,
                    "tier": rng.choice([0, 1, 2]),
                }
            )
            await store.audit(incident, opened, "rules", "opened")
            if ack:
                await store.audit(incident, ack, "zhang", "acknowledged")
            if resolved:
                await store.audit(incident, resolved, "rules", "resolved")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-month", type=int, default=2000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--devices", type=int, default=500)
    args = parser.parse_args()
    inventory = Inventory(
        sites={"dc1": Site("dc1", "DC 1")},
        devices={
            f"dev{i}": Device(f"dev{i}", f"Device {i}", "server", 2, site="dc1")
            for i in range(args.devices)
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite:///{tmp}/bench.db")
        await fill(store, args.per_month, args.months, args.devices)
        t0 = time.perf_counter()
        incidents, spans = await read_incidents(store)
        problems = await store.problems()
        t1 = time.perf_counter()
        data = MonthlyInput(
            incidents,
            spans,
            problems,
            [],
            inventory,
            AlertingConfig().sla_for,
            month_start(2026, 12, TZ),
        )
        report = build_monthly(data, month(2026, 11, TZ))
        t2 = time.perf_counter()
        sizes = {fmt: len(output.monthly(report, fmt, "zh", time.time())) for fmt in output.FORMATS}
        t3 = time.perf_counter()
        await store.close()
    print(
        f"store: {len(incidents)} incidents ({args.per_month}/month × {args.months}), {len(spans)} audit logs read, {args.devices} devices"
    )
    print(f"read store      {1000 * (t1 - t0):8.1f} ms")
    print(
        f"compute report  {1000 * (t2 - t1):8.1f} ms  (November: {report.total.opened} incidents)"
    )
    print(f"render 3 formats{1000 * (t3 - t2):8.1f} ms  sizes {sizes}")
    print(f"total           {1000 * (t3 - t0):8.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
