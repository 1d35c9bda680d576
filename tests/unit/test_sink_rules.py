"""A stuck sink raises a fault: the sink's `roomwatch.*` samples through the real rule engine,
as the daemon feeds them each tick (device `roomwatch` declared in the inventory)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from collector.sinks.store import StoreError
from inventory.model import Device, Inventory
from rules.engine import Engine
from rules.fault import FaultState
from rules.loader import load_rules
from tests.fixtures.clock import VirtualClock
from tests.unit.test_sink_influx import TS, FakeStore, make_sink, samples, wait_for

RULES = """
groups:
  - name: roomwatch
    rules:
      - name: sink-stuck
        select: {id: roomwatch}
        metric: roomwatch.spool.age_seconds
        levels: {2: "> 3600", 3: "> 300"}
        for: 1m
        summary:
          en: "sink {labels.sink}: oldest unsent sample {value:.0f} s old"
          zh: "数据输出 {labels.sink} 积压 {value:.0f} 秒"
"""


def engine(tmp_path: Path) -> Engine:
    path = tmp_path / "roomwatch.yaml"
    path.write_text(textwrap.dedent(RULES), encoding="utf-8")
    inventory = Inventory()
    inventory.devices["roomwatch"] = Device("roomwatch", "roomwatch itself", "server", 3)
    return Engine(load_rules([path]), inventory)


async def test_spool_age_over_threshold_for_a_minute_fires_a_level_3_fault(
    tmp_path: Path,
) -> None:
    store = FakeStore()
    store.failure = StoreError("refused", "cannot connect")
    clock = VirtualClock(wall_start=TS)
    sink = make_sink(tmp_path, clock, store)  # its clock says TS: samples are accepted at TS
    rules = engine(tmp_path)
    await sink.start()
    sink.submit(samples(0, 10))
    await wait_for(clock, lambda: not sink.up)
    events = []
    for t in (TS + 100, TS + 400, TS + 430, TS + 461):
        own = sink.own_samples(t)
        events += rules.observe(own, t) + rules.tick(t)
    await sink.stop()
    firing = [e for e in events if e.state == FaultState.FIRING]
    assert len(firing) == 1
    assert (firing[0].level, firing[0].device) == (3, "roomwatch")
    assert firing[0].summary["en"] == "sink test: oldest unsent sample 461 s old"
