"""Shared helpers for the alerting unit tests: a virtual clock, fault events, a service whose
channel is a JSON-lines file in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alerting.config import AlertingConfig
from alerting.service import AlertService
from inventory.credentials import Credentials
from inventory.model import Device, Inventory, Site
from rules.fault import Fault, FaultState, Suppression, fault_key

T0 = 1_763_870_400.0  # 2025-11-23 04:00:00 UTC, a Sunday; Asia/Shanghai 12:00


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def inventory() -> Inventory:
    inv = Inventory()
    inv.sites["dc1"] = Site("dc1", "机房一")
    for i in range(1, 51):
        inv.devices[f"srv{i}"] = Device(f"srv{i}", f"Server {i}", "server", 2, site="dc1")
    inv.devices["ups1"] = Device("ups1", "UPS A", "ups", 1, site="dc1")
    return inv


def fault(
    device: str = "srv1",
    level: int = 2,
    state: str = "firing",
    *,
    rule: str = "cpu-high",
    ts: float = T0,
    value: Any = 97.0,
    suppressed: Suppression | None = None,
    stale: bool = False,
) -> Fault:
    return Fault(
        key=fault_key(rule, device, {}),
        rule=rule,
        group="hosts",
        device=device,
        metric="cpu.usage",
        level=level,
        state=FaultState(state),
        value=value,
        since=ts,
        ts=ts,
        site="dc1",
        summary={"zh": f"{device} CPU 过高", "en": f"{device} CPU high"},
        runbook="Check the top processes",
        suppressed=suppressed,
        stale=stale,
    )


def config(tmp_path: Path, **overrides: Any) -> AlertingConfig:
    data: dict[str, Any] = {
        "language": "en",
        "notifiers": [{"type": "file", "path": str(tmp_path / "alerts.jsonl")}],
        "group": {"wait": "0s"},
    }
    data.update(overrides)
    return AlertingConfig.model_validate(data)


async def service(
    tmp_path: Path, clock: Clock, cfg: AlertingConfig | None = None, **kw: Any
) -> AlertService:
    svc = await AlertService.open(
        cfg or config(tmp_path),
        f"sqlite:///{tmp_path / 'tickets.db'}",
        kw.get("inv") or inventory(),
        kw.get("credentials") or Credentials({}),
        clock,
        state_dir=tmp_path,
    )
    svc.delivery_budget = None  # each tick finishes its delivery: timelines stay exact
    return svc


def sent(tmp_path: Path, name: str = "alerts.jsonl") -> list[dict[str, Any]]:
    path = tmp_path / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
