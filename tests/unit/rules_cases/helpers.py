"""Shared helpers for the rule-engine unit tests: an inventory, rules from YAML text."""

from __future__ import annotations

import textwrap
from pathlib import Path

from core.sample import Sample, Value
from inventory.model import Device, Inventory, Site
from rules.engine import Engine
from rules.fault import Fault
from rules.loader import load_rules
from rules.model import RuleSet


def inventory() -> Inventory:
    inv = Inventory()
    inv.sites["dc1"] = Site("dc1", "Data centre 1")
    for dev in (
        Device("core-sw1", "Core switch 1", "switch", 1, site="dc1"),
        Device("sensor1", "Room sensor 1", "sensor", 2, site="dc1", parent="core-sw1"),
        Device("sensor2", "Room sensor 2", "sensor", 3, site="dc1", parent="core-sw1"),
        Device("ups1", "UPS 1", "ups", 1, site="dc1", parent="core-sw1", tags=frozenset({"power"})),
        Device("web1", "Intranet", "website", 2, site="dc1"),
    ):
        inv.devices[dev.id] = dev
    return inv


def rules_from(tmp_path: Path, text: str, name: str = "rules.yaml") -> RuleSet:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_rules([path])


def engine_for(tmp_path: Path, text: str) -> Engine:
    return Engine(rules_from(tmp_path, text), inventory())


def s(device: str, metric: str, value: Value, **labels: str) -> Sample:
    return Sample(device, metric, value, labels=labels)


def feed(engine: Engine, t: float, *samples: Sample) -> list[Fault]:
    """Observe the samples at t, then tick at t (as the daemon does)."""
    return engine.observe(samples, t) + engine.tick(t)
