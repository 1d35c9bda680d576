"""Benchmark of the rule engine's hot path (issue 6): samples evaluated per second on one core
with 200 rules over 50,000 series, and the time from a sample arriving to its fault event.

    .venv/bin/python bench/bench_rules.py [--devices 5000] [--series-per-device 10] [--rounds 5]

The set-up is a machine room at scale: 5,000 devices of four kinds on five sites, each with
10 series (50 metrics, labelled by port), 200 rules (4 per metric, selecting by kind, site and
id glob, with `for`, `clear` and the default flapping policy), so a sample meets only the rules of
its metric. About 1 % of samples are over a threshold, so faults open and clear as in real life.
Goals: ≥ 100,000 samples/s; < 10 ms from a sample to its fault event (rules without `for`)."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.sample import Sample
from inventory.model import Device, Inventory, Site
from rules.engine import Engine
from rules.loader import load_rules

KINDS = ("server", "switch", "ups", "sensor")
SITES = ("dc1", "dc2", "dc3", "dc4", "dc5")
METRICS = 50


def build_inventory(devices: int) -> Inventory:
    inv = Inventory()
    for site in SITES:
        inv.sites[site] = Site(site, site)
    for i in range(devices):
        kind = KINDS[i % len(KINDS)]
        inv.devices[f"{kind}-{i:05d}"] = Device(
            id=f"{kind}-{i:05d}",
            name=f"{kind} {i}",
            kind=kind,
            criticality=1 + i % 3,
            site=SITES[i % len(SITES)],
        )
    return inv


def rule_file(directory: Path) -> Path:
    lines = ["groups:", "  - name: bench", "    rules:"]
    n = 0
    for m in range(METRICS):
        for variant in range(4):
            n += 1
            select = (
                f"{{kind: {KINDS[variant]}}}",
                f"{{site: {SITES[m % len(SITES)]}}}",
                f'{{id: "{KINDS[variant]}-0*"}}',
                f"{{kind: [{KINDS[variant]}, {KINDS[(variant + 1) % 4]}]}}",
            )[variant]
            for_ = "for: 0s" if variant == 0 else "for: 1m"
            lines += [
                f"      - name: r{n:03d}",
                f"        select: {select}",
                f"        metric: m{m:02d}",
                '        levels: {1: "> 99", 2: "> 95", 3: "> 90"}',
                '        clear: "< 85"',
                f"        {for_}",
                '        summary: {en: "{device.name} {labels.port} {value:.1f}"}',
            ]
    path = directory / "bench.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_samples(inv: Inventory, per_device: int, rng: random.Random) -> list[Sample]:
    samples = []
    for j, device in enumerate(inv.devices):
        for k in range(per_device):
            metric = f"m{(j + k) % METRICS:02d}"
            hot = rng.random() < 0.01
            value = rng.uniform(91, 100) if hot else rng.uniform(10, 80)
            samples.append(Sample(device, metric, value, {"port": str(k)}))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--series-per-device", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500, help="samples per observe() call")
    args = parser.parse_args()
    rng = random.Random(6)
    inv = build_inventory(args.devices)
    with tempfile.TemporaryDirectory() as tmp:
        ruleset = load_rules([rule_file(Path(tmp))], inv)
    engine = Engine(ruleset, inv)
    series = args.devices * args.series_per_device
    print(f"{len(ruleset)} rules, {len(inv.devices)} devices, {series} series")

    now = 1_000_000.0
    rates = []
    cpu_rates = []
    events = 0
    for _ in range(args.rounds):
        samples = build_samples(inv, args.series_per_device, rng)
        batches = [samples[i : i + args.batch] for i in range(0, len(samples), args.batch)]
        start, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            events += len(engine.observe(batch, now))
        events += len(engine.tick(now))
        elapsed = time.perf_counter() - start
        rates.append(len(samples) / elapsed)
        cpu_rates.append(len(samples) / (time.process_time() - cpu))
        now += 30.0
    print(
        f"throughput: {statistics.median(rates):,.0f} samples/s"
        f" (median of {args.rounds} rounds of {series} samples; min {min(rates):,.0f},"
        f" max {max(rates):,.0f}); {events} fault events"
    )
    print(
        f"throughput per CPU-second: {statistics.median(cpu_rates):,.0f} samples/s"
        " (process time, not disturbed by other work on the machine)"
    )

    # Latency: one sample crossing a threshold (rule r001: kind server, no `for`) arrives in a
    # batch of ordinary samples; measure observe() until its event is returned.
    latencies = []
    cpu_latencies = []
    device = next(d for d in inv.devices.values() if d.kind == "server").id
    background = build_samples(inv, args.series_per_device, rng)[: args.batch - 1]
    background = [s for s in background if s.device != device]
    for i in range(200):
        now += 30.0
        port = f"lat{i}"  # a fresh series each time, so flapping damping does not hold it
        engine.observe([Sample(device, "m00", 10.0, {"port": port})], now)
        hot = Sample(device, "m00", 99.5, {"port": port})
        start, cpu = time.perf_counter(), time.process_time()
        out = engine.observe([*background, hot], now + 1)
        took = time.perf_counter() - start
        cpu_latencies.append((time.process_time() - cpu) * 1000)
        assert any(f.device == device and f.labels == {"port": port} for f in out), i
        latencies.append(took * 1000)
    latencies.sort()
    cpu_latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"sample → fault event: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1]:.2f} ms"
        f" wall (observe() of a {args.batch}-sample batch holding the crossing sample);"
        f" CPU p50 {cpu_latencies[len(cpu_latencies) // 2]:.2f} ms,"
        f" p99 {cpu_latencies[int(len(cpu_latencies) * 0.99) - 1]:.2f} ms"
    )
    ok = statistics.median(cpu_rates) >= 100_000 and p99 < 10
    print(
        f"goals (≥ 100,000 samples/s per CPU-second, p99 < 10 ms wall): {'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
