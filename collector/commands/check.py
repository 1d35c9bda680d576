"""`roomwatch check -c FILE`: validate the config, credentials, inventory and rules.

Exits 0 when everything loads; otherwise prints every error of the first bad file as
`file:line:col: reason` on stderr and exits 1 (for this command a bad file, a missing one
too, is its finding, not a usage error)."""

from __future__ import annotations

import argparse
import sys

from collector.commands.errors import ExitCode, Finding, config_lines
from collector.config import DEFAULT_CONFIG
from collector.loading import load_all
from inventory import ConfigError
from rules.lint import lint_rules


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("check", help="validate configuration, inventory, credentials and rules")
    p.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    p.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    try:
        loaded = load_all(args.config)
    except ConfigError as exc:
        raise Finding(*config_lines(exc)) from None
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for finding in lint_rules(loaded.ruleset, loaded.inventory, unselected=False):
        print(f"warning: {finding}", file=sys.stderr)
    if not loaded.inventory.devices:
        print(
            f"warning: {loaded.config.inventory}: no devices: nothing will be polled",
            file=sys.stderr,
        )
    devices = len(loaded.inventory.devices)
    probes = sum(len(d.probes) for d in loaded.inventory.devices.values())
    rules = len(getattr(loaded.ruleset, "rules", []))
    print(f"ok: {devices} devices, {probes} probes, {rules} rules ({loaded.config.path})")
    return ExitCode.OK
