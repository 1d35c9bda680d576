"""CPU of one /metrics/devices scrape for a room of DEVICES switches (24 ports each: ifHCInOctets
and ifOperStatus per port, plus device.up): the families roomwatch builds, then
prometheus_client's text. Prints CPU seconds of each step and the page size.

    .venv/bin/python bench/bench_metrics_devices.py [--devices 5000] [--repeat 3]"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.api.metrics import exposition
from collector.api.reading_metrics import reading_families
from core.sample import Sample
from inventory.model import Device, Inventory


def room(devices: int, now: float) -> tuple[Inventory, list[Sample]]:
    inventory = Inventory(
        devices={
            f"sw{i}": Device(f"sw{i}", f"sw{i}", "switch", 2, site="dc1", room=f"hall-{i % 4}")
            for i in range(devices)
        }
    )
    latest = []
    for i in range(devices):
        for port in range(1, 25):
            labels = {"ifName": f"Gi1/0/{port}", "ifIndex": str(port)}
            latest.append(Sample(f"sw{i}", "ifHCInOctets", 10**9 + port, labels, "B", now))
            latest.append(Sample(f"sw{i}", "ifOperStatus", 1, labels, None, now))
        latest.append(Sample(f"sw{i}", "device.up", 1, {}, None, now))
    return inventory, latest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    now = 1_800_000_000.0
    inventory, latest = room(args.devices, now)
    for _ in range(args.repeat):
        t0 = time.process_time()
        families = reading_families(latest, inventory, now, 600.0)
        t1 = time.process_time()
        body = exposition(families)
        t2 = time.process_time()
        print(
            f"{len(latest)} readings: families {t1 - t0:.2f} s, text {t2 - t1:.2f} s CPU,"
            f" {len(body) / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
