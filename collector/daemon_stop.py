"""Stopping the daemon: drain and close whatever was started (also after a failed start).
In-flight polls finish, the fault queue is handed over to the store (within the drain
timeout), the rule state and the reading history are saved, the cluster's leases are left to
the standby, the outbox and the sinks flush, the store closes, then the probes' shared parts
and the demo site."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Protocol

from alerting.service import AlertService
from collector.api.server import ApiServer
from collector.clock import Clock
from collector.demo_site import DemoSite
from collector.history import ReadingHistory
from collector.history_remote import RemoteHistory
from collector.loading import Loaded
from collector.outage import OutageBuffer
from collector.scheduler import Scheduler
from collector.sdnotify import Notifier
from collector.sinks import Sink
from probes import registry as probe_registry
from rules.fault import Fault

if TYPE_CHECKING:
    from collector.cluster_role import ClusterRole
    from probes.snmp.traps import SnmpTrapReceiver

log = logging.getLogger("roomwatch.daemon")


class Host(Protocol):
    """What stopping uses of the daemon."""

    clock: Clock
    loaded: Loaded | None
    alerts: AlertService | None
    scheduler: Scheduler | None
    sinks: list[Sink]
    faults: asyncio.Queue[list[Fault]]
    demo_site: DemoSite | None
    api: ApiServer | None
    history: ReadingHistory | None
    graphs: RemoteHistory | None
    traps: SnmpTrapReceiver | None
    cluster: ClusterRole | None
    outage: OutageBuffer | None
    _sd: Notifier

    def _save_state(self) -> None: ...
    async def _flush_history(self, now: float, everything: bool = False) -> None: ...


async def shutdown(host: Host, consumer: asyncio.Task[None] | None) -> None:
    """Drain and close whatever was started (also after a failed start)."""
    assert host.loaded is not None
    assert host.alerts is not None
    config = host.loaded.config
    host._sd.send(stopping=1, status="draining")
    if host.api is not None:
        await host.api.stop()
    log.info("roomwatch stopping: draining polls, faults, outbox and sinks")
    if host.scheduler is not None:
        await host.scheduler.drain(config.collector.drain_timeout)
    if consumer is not None:
        try:
            async with asyncio.timeout(config.collector.drain_timeout):
                await host.faults.join()
        except TimeoutError:
            # The ticket store is not taking faults (it is retried every 5 s); do not
            # hang the stop. The rule state saved below keeps the faults' timers.
            log.error(
                "stopping with %d fault batch(es) not recorded: the ticket store is failing",
                host.faults.qsize(),
            )
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    host._save_state()
    if host.history is not None:
        await host._flush_history(host.clock.now(), everything=True)
        host.history.close()
    if host.graphs is not None:
        await host.graphs.close()
    if host.cluster is not None:
        await host.cluster.leave()  # the standby takes over now, not after expiry
    if host.outage is not None:
        await host.outage.queue.close()  # what it holds is replayed at the next start
    await host.alerts.close()
    for sink in host.sinks:
        await sink.stop()
    if host.traps is not None:
        await host.traps.stop()
    if host.scheduler is not None:
        for probe in host.scheduler.probes():
            await probe.close()
    await probe_registry.shutdown()  # what probe modules share (SNMP sockets, engines)
    if host.demo_site is not None:
        await host.demo_site.stop()
    log.info("roomwatch stopped")
    host._sd.close()
