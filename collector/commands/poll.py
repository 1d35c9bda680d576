"""`roomwatch poll -c FILE [--device ID] [--json]`: poll the inventory once and print samples."""

from __future__ import annotations

import argparse
import asyncio
import sys

from collector.clock import SystemClock
from collector.commands.output import print_samples
from collector.config import DEFAULT_CONFIG, load_config
from collector.polling import build_probes, poll_all
from inventory import ConfigError, load_credentials, load_inventory


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("poll", help="poll the inventory once and print what each device says")
    p.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    p.add_argument("--device", action="append", help="only this device id (repeatable)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_poll)


def _poll(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        credentials, _ = load_credentials(config.credentials)
        inventory = load_inventory(config.inventory, credentials)
    except ConfigError as exc:
        for item in exc.errors:
            print(item, file=sys.stderr)
        return 1
    probes = [
        probe
        for (device, _), probe in build_probes(inventory)
        if not args.device or device in args.device
    ]
    if args.device:
        unknown = set(args.device) - set(inventory.devices)
        if unknown:
            print(f"unknown device: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 1
    results = asyncio.run(poll_all(probes, config.collector.concurrency, SystemClock().now))
    samples = [s for r in results for s in r.samples]
    print_samples(samples, args.json)
    for r in results:
        if not r.up:
            print(f"{r.device} ({r.probe_type}): {r.reason}: {r.error}", file=sys.stderr)
    return 0 if all(r.up for r in results) else 3
