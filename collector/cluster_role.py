"""The daemon's side of running among several collectors (collector/cluster.py keeps the
leases): poll only the shards held, hand the rule state of a shard over through the store,
drop what a lost shard still produces, record silent collectors, hand everything over at a
clean stop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from typing import Protocol

from alerting.service import AlertService
from alerting.store import StoreError, Unavailable
from alerting.store import cluster as leases
from alerting.store.postgres import PostgresStore
from collector.clock import Clock
from collector.cluster import DESK, ClusterMember, shard_snapshot
from collector.loading import Loaded
from collector.polling import build_probes
from collector.scheduler import Scheduler
from inventory.model import Inventory
from rules import snapshot
from rules.engine import Engine
from rules.fault import Fault

log = logging.getLogger("roomwatch.cluster")


class Host(Protocol):
    """What this role uses of the daemon."""

    loaded: Loaded | None
    clock: Clock
    scheduler: Scheduler | None
    alerts: AlertService | None
    engine: Engine | None


class ClusterRole:
    def __init__(self, daemon: Host, store: PostgresStore) -> None:
        assert daemon.loaded is not None
        self.daemon = daemon
        self.store = store
        self.member = ClusterMember(
            store, daemon.loaded.config.collector, self._all_shards, daemon.clock.now
        )
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.member.name

    def _inventory(self) -> Inventory:
        assert self.daemon.loaded is not None
        return self.daemon.loaded.inventory

    def _all_shards(self) -> set[str]:
        return self._inventory().shards()

    def watched(self, inventory: Inventory) -> Inventory:
        """The part of the inventory this collector polls now: the devices of its shards."""
        held = set(self.member.held)
        devices = {d: dev for d, dev in inventory.devices.items() if inventory.shard_of(d) in held}
        return dataclasses.replace(inventory, devices=devices)

    def held_faults(self, faults: Sequence[Fault]) -> list[Fault]:
        """Faults of devices in shards still held (a lost shard's are the new holder's)."""
        inventory, held = self._inventory(), set(self.member.held)
        return [f for f in faults if inventory.shard_of(f.device) in held]

    def holds_desk(self) -> bool:
        return DESK in self.member.held

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.round()
            except Exception:  # a bug here must not stop the leases being renewed
                log.exception("cluster round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.member.interval)

    async def round(self) -> None:
        async with self._lock:
            result = await self.member.step()
            daemon = self.daemon
            if result.gained:
                await self._take_over(result.gained)
            if (result.gained or result.lost) and daemon.scheduler is not None:
                for probe in daemon.scheduler.set_probes(
                    build_probes(self.watched(self._inventory()))
                ):
                    await probe.close()
            if result.silent and daemon.alerts is not None:
                try:
                    await daemon.alerts.handle(result.silent, shard=DESK)
                except StoreError as exc:
                    log.error("cannot record a silent collector: %s", exc)
            await self._save_states()

    async def _take_over(self, shards: set[str]) -> None:
        daemon = self.daemon
        now = daemon.clock.now()
        for shard in sorted(shards):
            try:
                saved = await leases.load_state(self.store, shard) if shard != DESK else None
                async with self.store.transaction():
                    await self.store.audit(
                        None,
                        now,
                        self.name,
                        "lease-taken",
                        {"shard": shard, "epoch": self.member.held.get(shard)},
                    )
            except StoreError as exc:
                log.error("taking over shard %s: %s", shard, exc)
                continue
            if saved is not None and daemon.engine is not None:
                try:
                    # the last holder's pending timers and firing faults, so a fault that
                    # clears after the handover resolves its incident here
                    daemon.engine.restore(snapshot.parse(saved))
                except ValueError as exc:  # a damaged or unknown snapshot (rules/snapshot.py)
                    log.error("shard %s: saved rule state not usable (%s)", shard, exc)

    async def _save_states(self) -> None:
        engine = self.daemon.engine
        if engine is None or not self.member.reachable:
            return
        inventory = self._inventory()
        saved = engine.snapshot()
        for shard, epoch in sorted(self.member.held.items()):
            if shard == DESK:
                continue
            devices = {d for d in inventory.devices if inventory.shard_of(d) == shard}
            try:
                part = shard_snapshot(saved, devices).model_dump(mode="json")
                await leases.save_state(self.store, shard, self.name, epoch, part)
            except Unavailable:
                return

    async def fenced(self) -> None:
        """A write was refused: learn now which leases are gone."""
        await self.round()

    async def leave(self) -> None:
        async with self._lock:
            await self._save_states()
            await self.member.leave()
