"""What the running daemon says of itself: the status line (systemd's STATUS=, the watchdog
and reload messages), the narrow view the HTTP API reads of it (collector/api/view.py), the
cluster's state for that view, and its own figures for /metrics."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from alerting.service import AlertService
from collector.api.view import DaemonView, Incidents, ServiceIncidents
from collector.clock import Clock
from collector.history import ReadingHistory
from collector.history_remote import RemoteHistory
from collector.latest import LatestReadings
from collector.loading import SELF_DEVICE, Loaded
from collector.scheduler import Scheduler
from collector.sinks import Sink
from rules.fault import Fault

if TYPE_CHECKING:
    from collector.cluster_role import ClusterRole
    from probes.snmp.traps import SnmpTrapReceiver


class Host(Protocol):
    """What the daemon's status uses of the daemon."""

    clock: Clock
    loaded: Loaded | None
    alerts: AlertService | None
    scheduler: Scheduler | None
    sinks: list[Sink]
    latest: LatestReadings
    failing: dict[tuple[str, str], str]
    faults: asyncio.Queue[list[Fault]]
    stats: dict[str, float]
    history: ReadingHistory | None
    graphs: RemoteHistory | None
    traps: SnmpTrapReceiver | None
    cluster: ClusterRole | None

    def status_line(self) -> str: ...
    def own_stats(self) -> dict[str, Any]: ...


def status_line(host: Host) -> str:
    # Every declared device counts (the implicit `roomwatch` device is not one); those
    # without probes are said apart, so the count matches the inventory.
    polled = len({job.key[0] for job in host.scheduler.jobs}) if host.scheduler else 0
    inventory = host.loaded.inventory.devices if host.loaded is not None else {}
    declared = sum(1 for d in inventory.values() if d.id != SELF_DEVICE or d.probes)
    failing = len({device for device, _ in host.failing})
    devices = f"{declared} devices" + (f" ({polled} polled)" if declared != polled else "")
    return f"{devices}, {failing} not answering"


def api_view(host: Host) -> DaemonView:
    """What the HTTP API reads of the running daemon (it starts after the store opened)."""

    def loaded() -> Loaded:
        assert host.loaded is not None
        return host.loaded

    def incidents() -> Incidents:
        assert host.alerts is not None
        return ServiceIncidents(host.alerts)

    async def cluster() -> dict[str, Any]:
        return await cluster_status(host.cluster)

    return DaemonView(
        now=host.clock.now,
        inventory=lambda: loaded().inventory,
        latest=host.latest.mapping,
        not_answering=lambda: {device for device, _ in host.failing},
        status_line=host.status_line,
        stats=host.own_stats,
        sinks=lambda: [(sink.name, sink.stats()) for sink in host.sinks],
        incidents=incidents,
        maintenance_file=lambda: loaded().config.maintenance_file,
        readings_stale_after=lambda: loaded().config.api.readings_stale_after,
        cluster=cluster,
        readings=lambda: host.graphs or host.history,
    )


async def cluster_status(cluster: ClusterRole | None) -> dict[str, Any]:
    """The collectors and leases of the desk (with a PostgreSQL store), for the API."""
    if cluster is None:
        return {"collectors": [], "leases": [], "store": "sqlite"}
    from collector.cluster import status  # psycopg: only with a shared store

    return await status(cluster.store)


def own_stats(host: Host) -> dict[str, Any]:
    """The daemon's own figures: polls, reloads, the scheduler's load, the fault queue."""
    out: dict[str, Any] = dict(host.stats)
    if host.scheduler is not None:
        out["polls_in_flight"] = host.scheduler.in_flight
        out["polls_waiting"] = host.scheduler.waiting_for_slot
        out["poll_concurrency"] = host.scheduler.concurrency
        out["poll_concurrency_ceiling"] = host.scheduler.concurrency_ceiling
        out["event_loop_lag_seconds"] = host.scheduler.loop_lag
        out["poll_skipped"] = sum(j.stats.skipped for j in host.scheduler.jobs)
        # Per device and reason, only devices that skipped (a healthy room has none).
        out["poll_skipped_by"] = {
            (job.key[0], reason): count
            for job in host.scheduler.jobs
            for reason, count in job.stats.skipped_by.items()
        }
        out["poll_lag"] = host.scheduler.lag
    out["fault_queue_depth"] = host.faults.qsize()
    if host.traps is not None:
        out["traps"] = host.traps.stats()
    if host.cluster is not None:
        member = host.cluster.member
        out["cluster"] = {
            "collector": member.name,
            "leases": member.fences(),
            "store_reachable": member.reachable,
        }
    if host.history is not None:
        out.update(host.history.stats())
    return out
