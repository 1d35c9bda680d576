"""Recording faults when several collectors share a PostgreSQL store that may go away.

`record(batch)` hands a batch of fault changes to the alert service. When the store is
unreachable the batch goes to the durable local queue (faultqueue.py) instead, and a firing
level-1 fault is told at once without the store (alerting/fallback.py); from then on every
batch queues behind it, so their order holds, until `drain` has replayed the queue into the
store. A write refused by the fence (this collector lost a lease) makes the collector check
its leases; what a lost shard raised is its new holder's business and is dropped."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from alerting.fallback import FALLBACK_LEVEL, tell_without_store
from alerting.service import AlertService
from alerting.store import Fenced, Unavailable
from collector.faultqueue import FaultQueue
from rules.fault import Fault

if TYPE_CHECKING:  # the role imports the PostgreSQL store (psycopg): only with a shared store
    from collector.cluster_role import ClusterRole

log = logging.getLogger("roomwatch.daemon")

RETRY_SECONDS = 1.0


class OutageBuffer:
    def __init__(self, alerts: AlertService, cluster: ClusterRole, queue: FaultQueue) -> None:
        self.alerts = alerts
        self.cluster = cluster
        self.queue = queue

    @property
    def pending(self) -> bool:
        return self.queue.depth > 0

    async def record(self, batch: list[Fault]) -> None:
        faults = self.cluster.held_faults(batch)
        if not faults:
            return
        try:
            await self.alerts.handle(faults)
        except Fenced as exc:
            log.warning("%s", exc)
            await self.cluster.fenced()
            await self.record(batch)  # what is still ours, under the fresh leases
        except Unavailable as exc:
            log.error(
                "ticket store unreachable; queueing fault changes in %s until it returns: %s",
                self.queue.path,
                exc,
            )
            await self._queue(faults)

    async def _queue(self, faults: list[Fault]) -> None:
        now = self.alerts.clock()
        await self.queue.append(faults, now)
        told = await self.queue.told()
        for fault in faults:
            if fault.firing and fault.level <= FALLBACK_LEVEL and fault.key not in told:
                channels = await tell_without_store(
                    fault, self.alerts.config, self.alerts.dispatch, self.alerts.notifiers, now
                )
                if channels:
                    await self.queue.remember_told(fault.key, now, channels)

    async def drain(self, incoming: asyncio.Queue[list[Fault]]) -> None:
        """Replay the head of the queue; while the store is still away, take new batches into
        the queue behind it (waiting a little between tries)."""
        head = await self.queue.head()
        if head is None:
            return
        batch_id, faults, shard = head
        told = await self.queue.told()
        try:
            await self.alerts.handle(
                self.cluster.held_faults(faults), shard=shard, already_told=told
            )
        except Fenced as exc:
            log.warning("%s", exc)
            await self.cluster.fenced()
            return
        except Unavailable:
            try:
                batch = await asyncio.wait_for(incoming.get(), RETRY_SECONDS)
            except TimeoutError:
                return
            try:
                faults_now = self.cluster.held_faults(batch)
                if faults_now:
                    await self._queue(faults_now)
            finally:
                incoming.task_done()
            return
        await self.queue.pop(batch_id)
        await self.queue.forget_told({f.key for f in faults if f.key in told})
        if not self.pending:
            log.info("fault changes queued during the store outage are all recorded")
