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
shards it polls, outage.py records faults while the store may be away. (Over 700 lines: the
wiring of every part in one place — start, tick, reload, stop — each part's logic in its own
module; splitting the wiring itself would scatter the order things start and stop in.)"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerting.reports.jobs import windows_in
from alerting.reports.schedule import ReportScheduler
from alerting.service import AlertService
from alerting.store import Fenced, StoreError, Unavailable, is_postgres_url
from collector import allocator, deskmail, gctune
from collector.api.server import ApiServer
from collector.api.view import DaemonView, Incidents, ServiceIncidents
from collector.clock import Clock, SystemClock
from collector.commands.errors import ExitCode
from collector.demo_site import DemoSite
from collector.faultqueue import FaultQueue
from collector.heartbeat import DeadMansSwitch
from collector.history import ReadingHistory
from collector.history_remote import RemoteHistory
from collector.latest import LatestReadings
from collector.loading import (
    SELF_DEVICE,
    Loaded,
    add_self_device,
    files_signature,
    load_all,
    watched_files,
)
from collector.outage import OutageBuffer
from collector.polling import PollResult, build_probes
from collector.scheduler import Scheduler
from collector.sdnotify import Notifier
from collector.sinks import Sink
from collector.sinks.factory import build_sinks
from collector.storeconn import store_password
from core.compiled import log_how_it_runs
from core.hostport import host_of
from core.sample import Sample
from inventory import ConfigError
from inventory.model import Inventory
from probes import registry as probe_registry
from rules.engine import Engine
from rules.fault import Fault
from rules.maintenance import load_windows
from rules.removal import removal_to_confirm
from rules.statefile import load_state, save_state

if TYPE_CHECKING:
    from collector.cluster_role import ClusterRole
    from probes.snmp.traps import SnmpTrapReceiver

log = logging.getLogger("roomwatch.daemon")

TICK_SECONDS = 1.0
STATE_SAVE_SECONDS = 10.0
WATCH_SECONDS = 2.0  # how often the config files are checked for edits


def _sink_setup(loaded: Loaded) -> list[tuple[object, str | None]]:
    """What a sink is built from: its settings and its token (a rotated token counts)."""
    out: list[tuple[object, str | None]] = []
    for config in loaded.config.sinks:
        try:
            token = loaded.credentials.entry(config.credentials).get("token")
        except KeyError:
            token = None
        out.append((config, token))
    return out


class StartupError(Exception):
    """Something the admin must fix before the daemon can run (a port taken, a spool in use)."""


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

        self.engine = Engine(loaded.ruleset, loaded.inventory)
        try:
            load_state(self.state_file, self.engine)
        except ValueError as exc:
            # Keep the unreadable file for a post-mortem, and start with fresh timers rather
            # than not monitoring at all.
            aside = self.state_file.with_suffix(f".unreadable-{int(self.clock.now())}")
            self.state_file.replace(aside)
            log.error("%s; starting with fresh rule state (old file kept as %s)", exc, aside)
            self.engine = Engine(loaded.ruleset, loaded.inventory)
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
                # Only a shared store loads psycopg (10 MiB a daemon on SQLite would carry).
                from alerting.store.postgres import PostgresStore
                from collector.cluster_role import ClusterRole

                assert isinstance(self.alerts.store, PostgresStore)
                self.cluster = ClusterRole(self, self.alerts.store)
                self.alerts.shards = self.cluster.member.shards
                queue = await FaultQueue.open(config.state_dir / "fault-queue.db")
                self.outage = OutageBuffer(self.alerts, self.cluster, queue)
            await self._start_services(loaded)  # polls nothing in a cluster until leases come
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
            consumer = asyncio.create_task(self._consume_faults(), name="faults")
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
            await self._loop()
        except StartupError as exc:
            log.error("cannot start: %s", exc)
            return ExitCode.USAGE
        finally:
            self._stop.set()
            for task in (leases, pinger, mailbox):
                if task is not None:
                    await task
            await self._shutdown(consumer)
        return ExitCode.OK

    async def _start_services(self, loaded: Loaded) -> None:
        """Sinks, the demo site, the trap receiver, the scheduler and the API, in that order.
        Raises StartupError for what an admin must fix (a port taken, a spool in use)."""
        config = loaded.config
        self.reports = ReportScheduler(config.state_dir / "reports")
        if config.history.source is not None:
            self.graphs = RemoteHistory(config.history.source, self.latest.values)
        if config.history.enabled:
            try:
                self.history = ReadingHistory(config.state_dir / "readings.db", config.history)
            except sqlite3.Error as exc:
                raise StartupError(f"reading history in {config.state_dir}: {exc}") from None
        self.sinks = build_sinks(
            config.sinks, loaded.credentials, config.state_dir, self._tags_for, self.clock
        )
        for sink in self.sinks:
            try:
                await sink.start()
            except (OSError, RuntimeError) as exc:  # SpoolBusy: another daemon holds it
                raise StartupError(f"sink {sink.name!r}: {exc}") from None
        if config.demo_site is not None:
            self.demo_site = DemoSite(config.demo_site, self.clock.monotonic)
            try:
                await self.demo_site.start()
            except OSError as exc:
                raise StartupError(f"demo site on {config.demo_site.listen}: {exc}") from None
        if config.traps is not None:
            from probes.snmp.mib_names import MibNames
            from probes.snmp.traps import SnmpTrapReceiver  # the SNMP stack only when used

            names = MibNames.load(config.mib_dirs)
            self.traps = SnmpTrapReceiver(
                config.traps, self._ingest, self._device_for_address, self.clock.now, names
            )
            try:
                await self.traps.start()
            except OSError as exc:
                raise StartupError(
                    f"SNMP trap receiver cannot listen on {config.traps.listen}: {exc}"
                ) from None
        self.scheduler = Scheduler(
            self.clock,
            self._on_result,
            concurrency=config.collector.concurrency,
            jitter=config.collector.jitter,
        )
        self.scheduler.set_probes(build_probes(self._watched(loaded.inventory)))
        log_how_it_runs(log)  # (the probes' modules are loaded by now)
        if config.collector.concurrency is None:
            log.info(
                "collector concurrency sized from the inventory",
                extra={"concurrency": self.scheduler.concurrency},
            )
        if self.api is not None:
            try:
                await self.api.start()
            except OSError as exc:
                raise StartupError(
                    f"HTTP API cannot listen on {config.api.listen}: {exc}"
                ) from None

    async def _shutdown(self, consumer: asyncio.Task[None] | None) -> None:
        """Drain and close whatever was started (also after a failed start)."""
        assert self.loaded is not None
        assert self.alerts is not None
        config = self.loaded.config
        self._sd.send(stopping=1, status="draining")
        if self.api is not None:
            await self.api.stop()
        log.info("roomwatch stopping: draining polls, faults, outbox and sinks")
        if self.scheduler is not None:
            await self.scheduler.drain(config.collector.drain_timeout)
        if consumer is not None:
            try:
                async with asyncio.timeout(config.collector.drain_timeout):
                    await self.faults.join()
            except TimeoutError:
                # The ticket store is not taking faults (it is retried every 5 s); do not
                # hang the stop. The rule state saved below keeps the faults' timers.
                log.error(
                    "stopping with %d fault batch(es) not recorded: the ticket store is failing",
                    self.faults.qsize(),
                )
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        self._save_state()
        if self.history is not None:
            await self._flush_history(self.clock.now(), everything=True)
            self.history.close()
        if self.graphs is not None:
            await self.graphs.close()
        if self.cluster is not None:
            await self.cluster.leave()  # the standby takes over now, not after expiry
        if self.outage is not None:
            await self.outage.queue.close()  # what it holds is replayed at the next start
        await self.alerts.close()
        for sink in self.sinks:
            await sink.stop()
        if self.traps is not None:
            await self.traps.stop()
        if self.scheduler is not None:
            for probe in self.scheduler.probes():
                await probe.close()
        await probe_registry.shutdown()  # what probe modules share (SNMP sockets, engines)
        if self.demo_site is not None:
            await self.demo_site.stop()
        log.info("roomwatch stopped")
        self._sd.close()

    async def _flush_history(self, now: float, everything: bool = False) -> None:
        if self.history is None:
            return
        try:
            await self.history.flush(now, everything)
        except sqlite3.Error as exc:  # a full disk must not stop monitoring
            log.error("reading history not written: %s", exc)

    async def _loop(self) -> None:
        self._watchdog = self._sd.watchdog_interval()
        self._last_save = self._last_watchdog = self._last_watch = self.clock.monotonic()
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_SECONDS):
                    await self._stop.wait()
            if self._stop.is_set():
                break
            await self.tick()

    async def tick(self) -> None:
        """The once-a-second work: file watch and reloads, the rules' timers, alerting's
        clocks and outbox, reports, history, the rule state and systemd's watchdog."""
        assert self.engine is not None and self.alerts is not None
        if self.clock.monotonic() - self._last_watch >= WATCH_SECONDS:
            self._last_watch = self.clock.monotonic()
            if self._files_changed() and not self._reload.is_set():
                log.info("configuration files changed; reloading")
                await self.reload(confirmed=False)
        if self._reload.is_set():  # SIGHUP: the admin asked, so whatever it removes counts
            self._reload.clear()
            await self.reload()
        now = self.clock.now()
        own: list[Sample] = []
        for sink in self.sinks:
            own.extend(sink.own_samples(now))
        if own:
            self._observe(own, now)
        self._load_maintenance()
        fired = self.engine.tick(now)
        if fired:
            self.faults.put_nowait(fired)
        try:
            await self.alerts.tick()
            if self._store_down:
                log.info("ticket store reachable again")
            self._store_down = False
            await self.alerts.recheck(functools.partial(self.engine.firing, now))
        except Fenced as exc:  # lost a lease while paused or cut off: nothing was written
            log.warning("%s", exc)
            if self.cluster is not None:
                await self.cluster.fenced()
        except Unavailable as exc:  # said once per outage, not every second
            if not self._store_down:
                log.error("ticket store unreachable; escalation waits for it: %s", exc)
            self._store_down = True
        except Exception:  # a bug in one tick must not stop monitoring
            log.exception("alerting tick failed")
        await self._run_reports(now)
        await self._flush_history(now)
        mono = self.clock.monotonic()
        if mono - self._last_save >= STATE_SAVE_SECONDS:
            self._save_state()
            self._last_save = mono
        if self._watchdog is not None and mono - self._last_watchdog >= self._watchdog:
            self._sd.send(watchdog=1, status=self.status_line())
            self._last_watchdog = mono

    def _watched(self, inventory: Inventory) -> Inventory:
        return self.cluster.watched(inventory) if self.cluster is not None else inventory

    async def _run_reports(self, now: float) -> None:
        """Scheduled reports (alerting.reports: monthly SLA report, daily inspection sheet),
        built from the ticket store and `latest`, mailed through the outbox."""
        if self.reports is None or self.alerts is None or self.loaded is None:
            return
        if self.cluster is not None and (self._store_down or not self.cluster.holds_desk()):
            return  # one collector of the desk mails the reports, when the store is there
        loaded = self.loaded
        try:
            await self.reports.tick(
                now,
                store=self.alerts.store,
                config=self.alerts.config,
                inventory=loaded.inventory,
                rules=loaded.ruleset,
                samples=lambda: list(self.latest.values()),  # built per report, not kept
                windows=lambda: windows_in(loaded.config.maintenance_file),
            )
        except Exception:  # a report must never stop monitoring
            log.exception("reports tick failed")

    # -- samples and faults ---------------------------------------------------------------

    def _on_result(self, result: PollResult) -> None:
        self.stats["polls"] += 1
        key = (result.device, result.probe_type)
        if result.up:
            if key in self.failing:
                log.info(
                    "device recovered",
                    extra={
                        "device": result.device,
                        "probe": result.probe_type,
                        "was": self.failing.pop(key),
                    },
                )
        else:
            self.stats["poll_failures"] += 1
            if self.failing.get(key) != result.reason:
                log.warning(
                    "device not answering: %s",
                    result.error,
                    extra={
                        "device": result.device,
                        "probe": result.probe_type,
                        "reason": result.reason,
                    },
                )
                self.failing[key] = result.reason or "error"
        self.latest.record_poll(result.device, result.entry, result.samples, result.up)
        self._to_sinks_and_rules(result.samples)

    def _ingest(self, samples: list[Sample]) -> None:
        """Samples from a trap: to every sink, then to the rules."""
        self.latest.record(samples)
        self._to_sinks_and_rules(samples)

    def _to_sinks_and_rules(self, samples: list[Sample]) -> None:
        for sink in self.sinks:
            sink.submit(samples)
        self._evaluate(samples, self.clock.now())

    def _observe(self, samples: Sequence[Sample], now: float) -> None:
        """The daemon's own samples (sinks' figures): kept as latest and evaluated."""
        self.latest.record(samples)
        self._evaluate(samples, now)

    def _evaluate(self, samples: Sequence[Sample], now: float) -> None:
        assert self.engine is not None
        if self.history is not None:
            self.history.record(samples)
        started = self.clock.monotonic()
        fired = self.engine.observe(samples, now)
        self.stats["rule_evaluations"] += 1
        self.stats["rule_evaluation_seconds"] += self.clock.monotonic() - started
        if fired:
            self.faults.put_nowait(fired)

    async def _consume_faults(self) -> None:
        assert self.alerts is not None
        while True:
            if self.outage is not None and self.outage.pending:
                await self.outage.drain(self.faults)  # in order, before anything newer
                continue
            batch = await self.faults.get()
            try:
                if self.outage is not None:  # a shared store: fenced, and may go away
                    await self.outage.record(batch)
                else:
                    await self.alerts.handle(batch)
            except Exception:
                # The store is the record of incidents; if it fails, keep the batch and retry
                # rather than lose an incident.
                log.exception("could not record faults; retrying in 5 s")
                await asyncio.sleep(5)
                self.faults.put_nowait(batch)
            finally:
                self.faults.task_done()

    def _device_for_address(self, address: str) -> str | None:
        """The inventory device a trap's source address belongs to: the one whose probe
        polls that host (the trap section's `devices:` table is asked first)."""
        if self.loaded is None:
            return None
        for device in self.loaded.inventory.devices.values():
            for settings in device.probes:
                target = getattr(settings, "address", None)
                if isinstance(target, str) and host_of(target) == address:
                    return device.id
        return None

    def _tags_for(self, device_id: str) -> dict[str, str]:
        if self.loaded is None:
            return {}
        device = self.loaded.inventory.devices.get(device_id)
        if device is None:
            return {}
        tags = {"kind": device.kind}
        if device.site:
            tags["site"] = device.site
        return tags

    # -- reload ---------------------------------------------------------------------------

    async def reload(self, confirmed: bool = True) -> bool:
        """Reload every file. `confirmed` is False for the file watcher's reload: one that
        would remove a whole rule file or most rules is then held (rules/removal.py)."""
        assert self.scheduler is not None and self.engine is not None and self.alerts is not None
        self._sd.send(reloading=1, status="reloading")
        self.stats["reloads"] += 1
        try:
            loaded = load_all(self.config_path)
            add_self_device(loaded.inventory)
        except ConfigError as exc:
            self.stats["reload_failures"] += 1
            for item in exc.errors:
                log.error("reload rejected, keeping the running configuration: %s", item)
            self._sd.send(ready=1, status=self.status_line())
            return False
        previous = self.loaded
        held = (
            None
            if confirmed or previous is None
            else removal_to_confirm(previous.ruleset, loaded.ruleset)
        )
        if held is not None:
            self.stats["reloads_held"] = self.stats.get("reloads_held", 0) + 1
            log.warning(
                "reload held, the running rules keep working: %s. If this is on purpose,"
                " confirm it with `systemctl reload roomwatch` (or `kill -HUP %d`)",
                held,
                os.getpid(),
            )
            self._sd.send(ready=1, status=self.status_line())
            return False
        self.loaded = loaded
        self.engine.replace(loaded.ruleset, loaded.inventory)
        self.alerts.reload(loaded.config.alerting, loaded.inventory)
        if self.cluster is not None:  # shards, failover, silent level (the name stays)
            self.cluster.member.reconfigure(loaded.config.collector)
        if previous is None or _sink_setup(previous) != _sink_setup(loaded):
            await self._replace_sinks(loaded)
        if self.api is not None:
            self.api.refresh_token(loaded.config, loaded.credentials)
        self.scheduler.configure(loaded.config.collector.concurrency)
        for probe in self.scheduler.set_probes(build_probes(self._watched(loaded.inventory))):
            await probe.close()
        self.latest.keep_devices(loaded.inventory.devices)
        gctune.after_reload()
        log.info("configuration reloaded", extra={"devices": len(loaded.inventory.devices)})
        self._sd.send(ready=1, status=self.status_line())
        return True

    async def _replace_sinks(self, loaded: Loaded) -> None:
        """Stop the running sinks (each flushes to its spool) and start the configured ones;
        a sink kept under the same name takes its spool, backlog included, over."""
        config = loaded.config
        old = self.sinks
        # Polls go on meanwhile: the new sinks hold what is submitted until they start.
        self.sinks = build_sinks(
            config.sinks, loaded.credentials, config.state_dir, self._tags_for, self.clock
        )
        for sink in old:
            await sink.stop(drain=False)  # no drain: the new sink replays the spool
        started = []
        for sink in self.sinks:
            try:
                await sink.start()
            except (OSError, RuntimeError) as exc:
                log.error("sink %r cannot start after reload: %s", sink.name, exc)
                continue
            started.append(sink)
        self.sinks = started
        log.info("sinks reconfigured", extra={"sinks": ",".join(s.name for s in self.sinks)})

    def _save_state(self) -> None:
        assert self.engine is not None
        try:
            save_state(self.state_file, self.engine)
        except OSError as exc:  # disk full, read-only: keep monitoring, say so
            log.error("cannot save rule state to %s: %s", self.state_file, exc.strerror or exc)

    def _files_changed(self) -> bool:
        assert self.loaded is not None
        seen = files_signature(watched_files(self.loaded.config))
        changed = seen != self._files_seen
        # Remember the new state even when the reload fails: a bad edit is reported once,
        # and the next edit (the fix) triggers the next reload.
        self._files_seen = seen
        return changed

    def _load_maintenance(self) -> None:
        assert self.loaded is not None and self.engine is not None
        path = self.loaded.config.maintenance_file
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime == self._maintenance_mtime:
            return
        self._maintenance_mtime = mtime
        try:
            windows = load_windows(path) if mtime is not None else []
        except ConfigError as exc:
            for item in exc.errors:
                log.error("maintenance file rejected, keeping the windows in force: %s", item)
            return
        self.engine.set_maintenance(windows)

    # -- status ---------------------------------------------------------------------------

    def status_line(self) -> str:
        # Every declared device counts (the implicit `roomwatch` device is not one); those
        # without probes are said apart, so the count matches the inventory.
        polled = len({job.key[0] for job in self.scheduler.jobs}) if self.scheduler else 0
        inventory = self.loaded.inventory.devices if self.loaded is not None else {}
        declared = sum(1 for d in inventory.values() if d.id != SELF_DEVICE or d.probes)
        failing = len({device for device, _ in self.failing})
        devices = f"{declared} devices" + (f" ({polled} polled)" if declared != polled else "")
        return f"{devices}, {failing} not answering"

    def api_view(self) -> DaemonView:
        """What the HTTP API reads of the running daemon (it starts after the store opened)."""

        def loaded() -> Loaded:
            assert self.loaded is not None
            return self.loaded

        def incidents() -> Incidents:
            assert self.alerts is not None
            return ServiceIncidents(self.alerts)

        return DaemonView(
            now=self.clock.now,
            inventory=lambda: loaded().inventory,
            latest=self.latest.mapping,
            not_answering=lambda: {device for device, _ in self.failing},
            status_line=self.status_line,
            stats=self.own_stats,
            sinks=lambda: [(sink.name, sink.stats()) for sink in self.sinks],
            incidents=incidents,
            maintenance_file=lambda: loaded().config.maintenance_file,
            readings_stale_after=lambda: loaded().config.api.readings_stale_after,
            cluster=self._cluster_status,
            readings=lambda: self.graphs or self.history,
        )

    async def _cluster_status(self) -> dict[str, Any]:
        if self.cluster is None:
            return {"collectors": [], "leases": [], "store": "sqlite"}
        from collector.cluster import status as cluster_status

        return await cluster_status(self.cluster.store)

    def own_stats(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.stats)
        if self.scheduler is not None:
            out["polls_in_flight"] = self.scheduler.in_flight
            out["polls_waiting"] = self.scheduler.waiting_for_slot
            out["poll_concurrency"] = self.scheduler.concurrency
            out["poll_concurrency_ceiling"] = self.scheduler.concurrency_ceiling
            out["event_loop_lag_seconds"] = self.scheduler.loop_lag
            out["poll_skipped"] = sum(j.stats.skipped for j in self.scheduler.jobs)
            # Per device and reason, only devices that skipped (a healthy room has none).
            out["poll_skipped_by"] = {
                (job.key[0], reason): count
                for job in self.scheduler.jobs
                for reason, count in job.stats.skipped_by.items()
            }
            out["poll_lag"] = self.scheduler.lag
        out["fault_queue_depth"] = self.faults.qsize()
        if self.traps is not None:
            out["traps"] = self.traps.stats()
        if self.cluster is not None:
            member = self.cluster.member
            out["cluster"] = {
                "collector": member.name,
                "leases": member.fences(),
                "store_reachable": member.reachable,
            }
        if self.history is not None:
            out.update(self.history.stats())
        return out
