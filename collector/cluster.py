"""A collector among several on one PostgreSQL store (DESIGN §10, docs/scale.md).

Each round (every `failover / 5` seconds) the member renews or takes the lease of every shard
it watches, plus the desk lease `*` whose holder does the desk-wide work (silent collectors,
planned-work notices, reports), and heartbeats. A lease lives `0.6 × failover`, so a standby
takes a dead holder's shard within `0.8 × failover`. A shard it did not get (another holds it)
it stands by for. What it holds is the fence of every write it makes (PostgresStore.fences).

The watcher is watched: a collector whose heartbeat is older than its failover time is
silent; when one of its shards has nobody holding it now, the desk holder opens a
"collector-silent" incident naming it (level `collector.silent_level`), resolved when it
beats again. A collector whose shards a standby took over is only logged."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alerting.store import Unavailable
from alerting.store import cluster as leases
from alerting.store.postgres import PostgresStore
from collector.config import CollectorSettings
from rules.fault import Fault, FaultState, fault_key
from rules.snapshot import RuleRecord, Snapshot

log = logging.getLogger("roomwatch.cluster")

DESK = "*"  # the desk lease: desk-wide work, one holder at a time
SILENT_RULE = "collector-silent"
LEASE_SHARE = 0.6  # of failover: how long a lease lives unrenewed
ROUND_SHARE = 0.2  # of failover: how often leases are renewed and heartbeats sent


@dataclass(frozen=True)
class Round:
    gained: set[str]
    lost: set[str]
    silent: list[Fault]  # collector-silent faults to record (desk holder only)


class ClusterMember:
    def __init__(
        self,
        store: PostgresStore,
        settings: CollectorSettings,
        all_shards: Callable[[], set[str]],
        now: Callable[[], float],
    ) -> None:
        self.store = store
        self.name = settings.name
        self.settings = settings
        self._all_shards = all_shards
        self._now = now
        self.held: dict[str, int] = {}
        self.reachable = True
        self.last_round = 0.0  # monotonic
        store.collector = self.name
        store.fences = self.fences

    def reconfigure(self, settings: CollectorSettings) -> None:
        """A reload: the shards to watch and the timings change at the next round; the
        name is the one leases are held under, kept until a restart."""
        if settings.name != self.name:
            log.warning("collector.name changes only at a restart (keeping %s)", self.name)
        self.settings = settings.model_copy(update={"name": self.name})

    @property
    def ttl(self) -> float:
        return self.settings.failover * LEASE_SHARE

    @property
    def interval(self) -> float:
        return self.settings.failover * ROUND_SHARE

    def fences(self) -> dict[str, int]:
        return dict(self.held)

    def shards(self) -> list[str]:
        """The shards whose incidents this collector escalates and sends now."""
        return sorted(self.held)

    def wanted(self) -> set[str]:
        chosen = set(self.settings.shards) if self.settings.shards is not None else None
        return (chosen if chosen is not None else self._all_shards()) | {DESK}

    def due(self) -> bool:
        return time.monotonic() - self.last_round >= self.interval

    async def step(self) -> Round:
        """One round of leases and heartbeat. While the store is unreachable the leases held
        are kept (no other collector can take them either) and nothing changes."""
        self.last_round = time.monotonic()
        before = set(self.held)
        try:
            for shard in sorted(self.wanted()):
                epoch = await leases.claim(
                    self.store, shard, self.name, self.held.get(shard), self.ttl
                )
                if epoch is None:
                    self.held.pop(shard, None)
                else:
                    self.held[shard] = epoch
            for shard in set(self.held) - self.wanted():  # no longer configured for it
                await leases.release(self.store, shard, self.name, self.held.pop(shard))
            await leases.heartbeat(self.store, self.name, sorted(self.held), self.settings.failover)
            silent = await self._silent() if DESK in self.held else []
        except Unavailable as exc:
            if self.reachable:
                log.error(
                    "ticket store unreachable; keeping shard leases %s: %s", self.shards(), exc
                )
            self.reachable = False
            return Round(set(), set(), [])
        if not self.reachable:
            log.info("ticket store reachable again")
        self.reachable = True
        gained, lost = set(self.held) - before, before - set(self.held)
        for shard in sorted(gained):
            log.info(
                "collector %s now holds shard %s (epoch %s)", self.name, shard, self.held[shard]
            )
        for shard in sorted(lost):
            log.warning("collector %s lost shard %s to another collector", self.name, shard)
        return Round(gained, lost, silent)

    def drop(self, shards: set[str]) -> None:
        """A write was fenced: forget these leases now, before the next round says so."""
        for shard in shards:
            self.held.pop(shard, None)

    async def _silent(self) -> list[Fault]:
        beats = await leases.collectors(self.store)
        # silence and liveness on the database clock: a shard is watched while the holder
        # of its lease still heartbeats
        fresh = {b.name for b in beats if b.silent_for <= b.failover}
        watched = {
            lease.shard for lease in await leases.leases(self.store) if lease.holder in fresh
        }
        open_for = {i.device for i in await self.store.active([DESK]) if i.rule == SILENT_RULE}
        now = self._now()
        out: list[Fault] = []
        for beat in beats:
            if beat.name == self.name:
                continue
            silent = beat.silent_for > beat.failover
            orphaned = sorted(s for s in beat.shards if s != DESK and s not in watched)
            key = fault_key(SILENT_RULE, beat.name, {})
            if silent and orphaned and beat.name not in open_for:
                log.error(
                    "collector %s silent for %.0f s; nobody watches shard(s) %s",
                    beat.name,
                    beat.silent_for,
                    ", ".join(orphaned),
                )
                out.append(self._fault(key, beat.name, orphaned, beat.silent_for, now, True))
            elif not silent and beat.name in open_for:
                out.append(self._fault(key, beat.name, [], 0.0, now, False))
        return out

    def _fault(
        self, key: str, name: str, shards: list[str], silent_for: float, now: float, firing: bool
    ) -> Fault:
        return Fault(
            key=key,
            rule=SILENT_RULE,
            group="roomwatch",
            device=name,
            metric="roomwatch.collector.heartbeat",
            level=self.settings.silent_level,
            state=FaultState.FIRING if firing else FaultState.RESOLVED,
            value=round(silent_for, 1),
            since=now - silent_for,
            ts=now,
            labels={"collector": name},
            summary={
                "en": f"collector {name} is silent; nobody watches shard(s) {', '.join(shards)}",
                "zh": f"采集器 {name} 失联，分片 {', '.join(shards)} 无人监控",
            }
            if firing
            else {"en": f"collector {name} is back", "zh": f"采集器 {name} 已恢复"},
            runbook="Check the collector's host and its roomwatch service; start a standby.",
        )

    async def leave(self) -> None:
        """A clean stop: hand every shard over now."""
        for shard, epoch in sorted(self.held.items()):
            try:
                await leases.release(self.store, shard, self.name, epoch)
            except Unavailable:
                return
        self.held.clear()


def shard_snapshot(saved: Snapshot, devices: set[str]) -> Snapshot:
    """The part of a rule-engine snapshot about these devices (one shard's), for the
    collector that takes the shard over next."""
    rules: dict[str, RuleRecord] = {}
    for name, rule in saved.rules.items():
        series = [s for s in rule.series if s.device in devices]
        seen = {d: t for d, t in rule.seen.items() if d in devices}
        if series or seen:
            rules[name] = rule.model_copy(update={"series": series, "seen": seen})
    known = {d: v for d, v in saved.devices.items() if d in devices}
    return saved.model_copy(update={"devices": known, "rules": rules})


async def status(store: PostgresStore) -> dict[str, Any]:
    """Collectors, their shards and heartbeats, and every lease (`roomwatch cluster status`,
    /api/cluster). Ages are on the database clock."""
    beats = await leases.collectors(store)
    rows = await leases.leases(store)
    now = await leases.db_now(store)
    fresh = {b.name for b in beats if b.silent_for <= b.failover}
    return {
        "collectors": [
            {
                "name": b.name,
                "shards": b.shards,
                "heartbeat_age": round(b.silent_for, 1),
                "failover": b.failover,
                "state": "live" if b.name in fresh else "silent",
                "started_at": b.started_at,
            }
            for b in beats
        ],
        "leases": [
            {
                "shard": lease.shard,
                "holder": lease.holder,
                "epoch": lease.epoch,
                "expires_in": round(lease.expires_at - now, 1),
                "held": lease.expires_at > now,
            }
            for lease in rows
        ],
    }
