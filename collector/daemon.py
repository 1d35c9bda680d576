"""The daemon: wires probes → scheduler → (sinks, rules) → alerting, and handles signals.

One sample travels one way: a poll result goes to every sink (never blocking) and to the rule
engine; the engine's Fault events go, in order, through one queue to the alert service, which
records incidents and sends notifications. A once-a-second tick drives the timers of the rules
(`for`, `absent`) and of alerting (outbox delivery, escalation, reminders), saves the rule
state so `for` timers survive a restart, and pets systemd's watchdog.

SIGHUP (or `systemctl reload`), or an edit of any of the files, reloads every file; a bad
file is logged with its errors and the running configuration stays. SIGTERM drains: in-flight
polls finish, faults are handed over, the outbox and the sinks flush, the store closes.

With a PostgreSQL store the daemon is one collector of a desk: cluster_role.py decides which
shards it polls, outage.py records faults while the store may be away.

This module holds the daemon's state and the order of its life in one place (`run`: load,
start, tick until asked to stop, stop); each part's work is in its own module, which is
handed the daemon as a narrow Protocol of what it uses (or only the pieces it needs):

    daemon_start.py    the rule engine, the cluster role, the services, in order
    daemon_samples.py  the sample path: latest, sinks, history, rules, the fault queue
    daemon_faults.py   the fault queue's one consumer, in order, retrying
    daemon_tick.py     the once-a-second work
    daemon_reload.py   reloading the files, the sinks, the maintenance windows
    daemon_stop.py     the drain and close at stop
    daemon_status.py   the status line, the API's view, the daemon's own figures

The methods below that only hand over to those modules are what the parts call of each other
through the daemon, and what tests and bench/bench_tick.py call (or wrap) on it."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerting.reports.schedule import ReportScheduler
from alerting.service import AlertService
from alerting.store import StoreError, is_postgres_url
from collector import (
    allocator,
    daemon_reload,
    daemon_samples,
    daemon_start,
    daemon_status,
    daemon_stop,
    daemon_tick,
    deskmail,
    gctune,
)
from collector.api.server import ApiServer
from collector.api.view import DaemonView
from collector.clock import Clock, SystemClock
from collector.commands.errors import ExitCode
from collector.daemon_faults import consume_faults
from collector.daemon_start import StartupError
from collector.daemon_tick import STATE_SAVE_SECONDS, TICK_SECONDS, WATCH_SECONDS
from collector.demo_site import DemoSite
from collector.heartbeat import DeadMansSwitch
from collector.history import ReadingHistory
from collector.history_remote import RemoteHistory
from collector.latest import LatestReadings
from collector.loading import Loaded, add_self_device, files_signature, load_all, watched_files
from collector.outage import OutageBuffer
from collector.polling import PollResult
from collector.scheduler import Scheduler
from collector.sdnotify import Notifier
from collector.sinks import Sink
from collector.storeconn import store_password
from core.sample import Sample
from inventory import ConfigError
from inventory.model import Inventory
from rules.engine import Engine
from rules.fault import Fault

if TYPE_CHECKING:
    from collector.cluster_role import ClusterRole
    from probes.snmp.traps import SnmpTrapReceiver

# Names that lived here before the parts had their modules, and are still asked for here.
__all__ = [
    "STATE_SAVE_SECONDS",
    "TICK_SECONDS",
    "WATCH_SECONDS",
    "Daemon",
    "StartupError",
]

log = logging.getLogger("roomwatch.daemon")


class Daemon:
    def __init__(self, config_path: str | Path, clock: Clock | None = None) -> None:
        self.config_path = Path(config_path)
        self.clock: Clock = clock or SystemClock()
        self.loaded: Loaded | None = None
        self.scheduler: Scheduler | None = None
        self.engine: Engine | None = None
        self.alerts: AlertService | None = None
        self.sinks: list[Sink] = []
        self.latest = LatestReadings()
        self.failing: dict[tuple[str, str], str] = {}  # (device, probe) → reason, for logging
        self.faults: asyncio.Queue[list[Fault]] = asyncio.Queue()
        self.stats: dict[str, float] = {
            "polls": 0,
            "poll_failures": 0,
            "reloads": 0,
            "reload_failures": 0,
            "rule_evaluations": 0,
            "rule_evaluation_seconds": 0.0,
        }
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._sd = Notifier()
        self._maintenance_mtime: float | None = None
        self._files_seen: tuple[tuple[str, float, int], ...] = ()
        self.demo_site: DemoSite | None = None
        self.reports: ReportScheduler | None = None
        self.api: ApiServer | None = None
        self.history: ReadingHistory | None = None
        self.graphs: RemoteHistory | None = None  # history.source: graphs from the sink's store
        self.traps: SnmpTrapReceiver | None = None
        self.cluster: ClusterRole | None = None  # with a PostgreSQL store (docs/scale.md)
        self.outage: OutageBuffer | None = None
        self._store_down = False
        # the tick's own timers (monotonic seconds of the last file watch, state save, ping)
        self._last_watch = self._last_save = self._last_watchdog = 0.0
        self._watchdog: float | None = None  # half of systemd's WatchdogSec, when armed

    def request_stop(self) -> None:
        """Stop as SIGTERM would (for a caller running the daemon in its own process)."""
        self._stop.set()

    @property
    def state_file(self) -> Path:
        assert self.loaded is not None
        return self.loaded.config.state_dir / "rules-state.json"

    # -- start and stop -------------------------------------------------------------------

    async def run(self) -> int:
        gctune.tune()
        allocator.limit_arenas()
        # `roomwatch` dies quietly on a closed pipe, as a Unix tool piped into `head` should
        # (collector/cli.py); the daemon must not: a peer that goes away mid-write (an IMAP
        # or SMTP server, a sink) is an error to handle, not a signal that kills it
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        try:
            loaded = load_all(self.config_path)
            add_self_device(loaded.inventory)
        except ConfigError as exc:
            for item in exc.errors:
                log.error("configuration error: %s", item)
            return ExitCode.USAGE
        for warning in loaded.warnings:
            log.warning(warning)
        self.loaded = loaded
        self._files_seen = files_signature(watched_files(loaded.config))
        config = loaded.config
        config.state_dir.mkdir(parents=True, exist_ok=True)
        if config.api.enabled:
            # The HTTP API checks its listen address and token now, before anything starts.
            try:
                self.api = ApiServer(self.api_view(), config, loaded.credentials)
            except ConfigError as exc:
                for item in exc.errors:
                    log.error("configuration error: %s", item)
                return ExitCode.USAGE

        self.engine = daemon_start.open_engine(loaded, self.state_file, self.clock)
        self._load_maintenance()
        try:
            self.alerts = await AlertService.open(
                config.alerting,
                config.store,
                loaded.inventory,
                loaded.credentials,
                self.clock.now,
                state_dir=None if config.store.startswith("sqlite:") else config.state_dir,
                password=store_password(config, loaded.credentials),
            )
        except (OSError, StoreError) as exc:
            log.error("cannot open the ticket store %s: %s", config.store, exc)
            return ExitCode.NO_ANSWER
        consumer: asyncio.Task[None] | None = None
        leases: asyncio.Task[None] | None = None
        pinger: asyncio.Task[None] | None = None
        mailbox: asyncio.Task[None] | None = None
        try:
            if is_postgres_url(config.store):
                await daemon_start.join_cluster(self, config.state_dir)
            # (in a cluster it polls nothing until the leases come, below)
            await daemon_start.start_services(self, loaded)
            if config.collector.heartbeat_url:
                switch = DeadMansSwitch(
                    config.collector.heartbeat_url, config.collector.heartbeat_interval
                )
                pinger = asyncio.create_task(switch.run(self._stop), name="heartbeat")
            try:
                mailbox = deskmail.start(self.alerts, loaded.credentials, self._stop)
            except ValueError as exc:
                raise StartupError(str(exc)) from None
            if self.cluster is not None:
                # the leases only once starting is done: a lease taken before a slow start
                # would lapse unrenewed and flap to the other collector
                await self.cluster.round()
                leases = asyncio.create_task(self.cluster.run(self._stop), name="leases")
            assert self.scheduler is not None
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, self._stop.set)
            loop.add_signal_handler(signal.SIGINT, self._stop.set)
            loop.add_signal_handler(signal.SIGHUP, self._reload.set)
            consumer = asyncio.create_task(
                consume_faults(self.faults, self.alerts, self.outage), name="faults"
            )
            gctune.freeze_startup()
            log.info(
                "roomwatch started",
                extra={
                    "devices": len(loaded.inventory.devices),
                    "probes": len(self.scheduler.jobs),
                    "config": str(self.config_path),
                },
            )
            self._sd.send(ready=1, status=self.status_line())
            await daemon_tick.run_ticks(self)
        except StartupError as exc:
            log.error("cannot start: %s", exc)
            return ExitCode.USAGE
        finally:
            self._stop.set()
            for task in (leases, pinger, mailbox):
                if task is not None:
                    await task
            await daemon_stop.shutdown(self, consumer)
        return ExitCode.OK

    # -- the parts, as they call each other through the daemon ----------------------------

    async def tick(self) -> None:
        """The once-a-second work (daemon_tick.py)."""
        await daemon_tick.tick(self)

    async def _run_reports(self, now: float) -> None:
        await daemon_tick.run_reports(self, now)

    async def _flush_history(self, now: float, everything: bool = False) -> None:
        await daemon_tick.flush_history(self.history, now, everything)

    def _save_state(self) -> None:
        daemon_tick.save_rule_state(self.engine, self.state_file)

    async def reload(self, confirmed: bool = True) -> bool:
        """Reload every file. `confirmed` is False for the file watcher's reload: one that
        would remove a whole rule file or most rules is then held (rules/removal.py)."""
        return await daemon_reload.reload(self, confirmed)

    async def _replace_sinks(self, loaded: Loaded) -> None:
        await daemon_reload.replace_sinks(self, loaded)

    def _files_changed(self) -> bool:
        return daemon_reload.files_changed(self)

    def _load_maintenance(self) -> None:
        daemon_reload.load_maintenance(self)

    def _on_result(self, result: PollResult) -> None:
        daemon_samples.on_result(self, result)

    def _ingest(self, samples: list[Sample]) -> None:
        daemon_samples.ingest(self, samples)

    def _observe(self, samples: Sequence[Sample], now: float) -> None:
        daemon_samples.observe(self, samples, now)

    def _evaluate(self, samples: Sequence[Sample], now: float) -> None:
        daemon_samples.evaluate(self, samples, now)

    def _device_for_address(self, address: str) -> str | None:
        return daemon_samples.device_for_address(self.loaded, address)

    def _tags_for(self, device_id: str) -> dict[str, str]:
        return daemon_samples.tags_for(self.loaded, device_id)

    def _watched(self, inventory: Inventory) -> Inventory:
        """The part of the inventory this collector polls (in a cluster, its shards')."""
        return self.cluster.watched(inventory) if self.cluster is not None else inventory

    def status_line(self) -> str:
        return daemon_status.status_line(self)

    def api_view(self) -> DaemonView:
        """What the HTTP API reads of the running daemon (it starts after the store opened)."""
        return daemon_status.api_view(self)

    def own_stats(self) -> dict[str, Any]:
        return daemon_status.own_stats(self)
