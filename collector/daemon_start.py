"""Building the daemon's services at start: the rule engine with its saved state, the cluster
role with a PostgreSQL store, then the sinks, the demo site, the trap receiver, the scheduler
and the HTTP API, in that order. What an admin must fix before the daemon can run (a port
taken, a spool in use) is a StartupError; Daemon.run keeps the order of the whole start."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from alerting.reports.schedule import ReportScheduler
from alerting.service import AlertService
from collector.api.server import ApiServer
from collector.clock import Clock
from collector.demo_site import DemoSite
from collector.faultqueue import FaultQueue
from collector.history import ReadingHistory
from collector.history_remote import RemoteHistory
from collector.latest import LatestReadings
from collector.loading import Loaded
from collector.outage import OutageBuffer
from collector.polling import PollResult, build_probes
from collector.scheduler import Scheduler
from collector.sinks import Sink
from collector.sinks.factory import build_sinks
from core.compiled import log_how_it_runs
from core.sample import Sample
from inventory.model import Inventory
from rules.engine import Engine
from rules.statefile import load_state

if TYPE_CHECKING:
    from collector.cluster_role import ClusterRole
    from probes.snmp.traps import SnmpTrapReceiver

log = logging.getLogger("roomwatch.daemon")


class StartupError(Exception):
    """Something the admin must fix before the daemon can run (a port taken, a spool in use)."""


class Host(Protocol):
    """What starting the services uses of the daemon."""

    clock: Clock
    loaded: Loaded | None
    engine: Engine | None
    alerts: AlertService | None
    scheduler: Scheduler | None
    sinks: list[Sink]
    latest: LatestReadings
    demo_site: DemoSite | None
    reports: ReportScheduler | None
    api: ApiServer | None
    history: ReadingHistory | None
    graphs: RemoteHistory | None
    traps: SnmpTrapReceiver | None
    cluster: ClusterRole | None
    outage: OutageBuffer | None

    def _on_result(self, result: PollResult) -> None: ...
    def _ingest(self, samples: list[Sample]) -> None: ...
    def _device_for_address(self, address: str) -> str | None: ...
    def _tags_for(self, device_id: str) -> dict[str, str]: ...
    def _watched(self, inventory: Inventory) -> Inventory: ...


def open_engine(loaded: Loaded, state_file: Path, clock: Clock) -> Engine:
    """The rule engine, its timers restored from the saved rule state when it is readable."""
    engine = Engine(loaded.ruleset, loaded.inventory)
    try:
        load_state(state_file, engine)
    except ValueError as exc:
        # Keep the unreadable file for a post-mortem, and start with fresh timers rather
        # than not monitoring at all.
        aside = state_file.with_suffix(f".unreadable-{int(clock.now())}")
        state_file.replace(aside)
        log.error("%s; starting with fresh rule state (old file kept as %s)", exc, aside)
        engine = Engine(loaded.ruleset, loaded.inventory)
    return engine


async def join_cluster(host: Host, state_dir: Path) -> None:
    """With a PostgreSQL store: the cluster role (which shards to poll) and the outage buffer
    with its durable local queue (faults recorded while the store may be away)."""
    assert host.alerts is not None
    # Only a shared store loads psycopg (10 MiB a daemon on SQLite would carry).
    from alerting.store.postgres import PostgresStore
    from collector.cluster_role import ClusterRole

    assert isinstance(host.alerts.store, PostgresStore)
    host.cluster = ClusterRole(host, host.alerts.store)
    host.alerts.shards = host.cluster.member.shards
    queue = await FaultQueue.open(state_dir / "fault-queue.db")
    host.outage = OutageBuffer(host.alerts, host.cluster, queue)


async def start_services(host: Host, loaded: Loaded) -> None:
    """Sinks, the demo site, the trap receiver, the scheduler and the API, in that order.
    Raises StartupError for what an admin must fix (a port taken, a spool in use)."""
    config = loaded.config
    host.reports = ReportScheduler(config.state_dir / "reports")
    if config.history.source is not None:
        host.graphs = RemoteHistory(config.history.source, host.latest.values)
    if config.history.enabled:
        try:
            host.history = ReadingHistory(config.state_dir / "readings.db", config.history)
        except sqlite3.Error as exc:
            raise StartupError(f"reading history in {config.state_dir}: {exc}") from None
    host.sinks = build_sinks(
        config.sinks, loaded.credentials, config.state_dir, host._tags_for, host.clock
    )
    for sink in host.sinks:
        try:
            await sink.start()
        except (OSError, RuntimeError) as exc:  # SpoolBusy: another daemon holds it
            raise StartupError(f"sink {sink.name!r}: {exc}") from None
    if config.demo_site is not None:
        host.demo_site = DemoSite(config.demo_site, host.clock.monotonic)
        try:
            await host.demo_site.start()
        except OSError as exc:
            raise StartupError(f"demo site on {config.demo_site.listen}: {exc}") from None
    if config.traps is not None:
        from probes.snmp.mib_names import MibNames
        from probes.snmp.traps import SnmpTrapReceiver  # the SNMP stack only when used

        names = MibNames.load(config.mib_dirs)
        host.traps = SnmpTrapReceiver(
            config.traps, host._ingest, host._device_for_address, host.clock.now, names
        )
        try:
            await host.traps.start()
        except OSError as exc:
            raise StartupError(
                f"SNMP trap receiver cannot listen on {config.traps.listen}: {exc}"
            ) from None
    host.scheduler = Scheduler(
        host.clock,
        host._on_result,
        concurrency=config.collector.concurrency,
        jitter=config.collector.jitter,
    )
    host.scheduler.set_probes(build_probes(host._watched(loaded.inventory)))
    log_how_it_runs(log)  # (the probes' modules are loaded by now)
    if config.collector.concurrency is None:
        log.info(
            "collector concurrency sized from the inventory",
            extra={"concurrency": host.scheduler.concurrency},
        )
    if host.api is not None:
        try:
            await host.api.start()
        except OSError as exc:
            raise StartupError(f"HTTP API cannot listen on {config.api.listen}: {exc}") from None
