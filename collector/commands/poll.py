"""`roomwatch poll -c FILE [--device ID] [--json]`: poll the inventory once and print samples.

Exits 0 when every device answered, 3 when one did not (its reason on stderr), 2 for a bad
file or an unknown device."""

from __future__ import annotations

import argparse
import asyncio
import sys

from collector.clock import SystemClock
from collector.commands.errors import ExitCode, UsageError
from collector.commands.output import print_samples
from collector.config import DEFAULT_CONFIG, load_config
from collector.polling import build_probes, poll_all
from inventory import load_credentials, load_inventory


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("poll", help="poll the inventory once and print what each device says")
    p.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    p.add_argument("--device", action="append", help="only this device id (repeatable)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_poll)


def _poll(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # a bad file: ConfigError, exit 2
    credentials, _ = load_credentials(config.credentials)
    inventory = load_inventory(config.inventory, credentials)
    probes = [
        probe
        for (device, _), probe in build_probes(inventory)
        if not args.device or device in args.device
    ]
    if args.device:
        unknown = set(args.device) - set(inventory.devices)
        if unknown:
            raise UsageError(f"unknown device: {', '.join(sorted(unknown))}")
    results = asyncio.run(poll_all(probes, config.collector.concurrency or 64, SystemClock().now))
    samples = [s for r in results for s in r.samples]
    print_samples(samples, args.json)
    for r in results:
        if not r.up:
            print(f"{r.device} ({r.probe_type}): {r.reason}: {r.error}", file=sys.stderr)
    return ExitCode.OK if all(r.up for r in results) else ExitCode.NO_ANSWER
