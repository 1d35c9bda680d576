"""The daemon's once-a-second tick: the watch for edited files and the reloads, the daemon's
own samples, the maintenance windows, the rules' timers (`for`, `absent`), alerting's clocks
and outbox, the scheduled reports, the reading history's flush, the save of the rule state
(so `for` timers survive a restart) and systemd's watchdog.

The tick asks the daemon for its parts (`host._save_state()`, …) rather than calling them
here directly: bench/bench_tick.py times each part by wrapping those methods."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from alerting.reports.jobs import windows_in
from alerting.reports.schedule import ReportScheduler
from alerting.service import AlertService
from alerting.store import Fenced, Unavailable
from collector.clock import Clock
from collector.history import ReadingHistory
from collector.latest import LatestReadings
from collector.loading import Loaded
from collector.sdnotify import Notifier
from collector.sinks import Sink
from core.sample import Sample
from rules.engine import Engine
from rules.fault import Fault
from rules.statefile import save_state

if TYPE_CHECKING:
    from collector.cluster_role import ClusterRole

log = logging.getLogger("roomwatch.daemon")

TICK_SECONDS = 1.0
STATE_SAVE_SECONDS = 10.0
WATCH_SECONDS = 2.0  # how often the config files are checked for edits


class Host(Protocol):
    """What the tick uses of the daemon."""

    clock: Clock
    loaded: Loaded | None
    engine: Engine | None
    alerts: AlertService | None
    sinks: list[Sink]
    latest: LatestReadings
    faults: asyncio.Queue[list[Fault]]
    reports: ReportScheduler | None
    history: ReadingHistory | None
    cluster: ClusterRole | None
    _stop: asyncio.Event
    _reload: asyncio.Event
    _sd: Notifier
    _store_down: bool
    _last_watch: float
    _last_save: float
    _last_watchdog: float
    _watchdog: float | None

    async def tick(self) -> None: ...
    async def reload(self, confirmed: bool = True) -> bool: ...
    def _files_changed(self) -> bool: ...
    def _load_maintenance(self) -> None: ...
    def _observe(self, samples: Sequence[Sample], now: float) -> None: ...
    async def _run_reports(self, now: float) -> None: ...
    async def _flush_history(self, now: float, everything: bool = False) -> None: ...
    def _save_state(self) -> None: ...
    def status_line(self) -> str: ...


async def run_ticks(host: Host) -> None:
    """Tick once a second until the daemon is asked to stop."""
    host._watchdog = host._sd.watchdog_interval()
    host._last_save = host._last_watchdog = host._last_watch = host.clock.monotonic()
    while not host._stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TICK_SECONDS):
                await host._stop.wait()
        if host._stop.is_set():
            break
        await host.tick()


async def tick(host: Host) -> None:
    """The once-a-second work: file watch and reloads, the rules' timers, alerting's
    clocks and outbox, reports, history, the rule state and systemd's watchdog."""
    assert host.engine is not None and host.alerts is not None
    if host.clock.monotonic() - host._last_watch >= WATCH_SECONDS:
        host._last_watch = host.clock.monotonic()
        if host._files_changed() and not host._reload.is_set():
            log.info("configuration files changed; reloading")
            await host.reload(confirmed=False)
    if host._reload.is_set():  # SIGHUP: the admin asked, so whatever it removes counts
        host._reload.clear()
        await host.reload()
    now = host.clock.now()
    own: list[Sample] = []
    for sink in host.sinks:
        own.extend(sink.own_samples(now))
    if own:
        host._observe(own, now)
    host._load_maintenance()
    fired = host.engine.tick(now)
    if fired:
        host.faults.put_nowait(fired)
    try:
        await host.alerts.tick()
        if host._store_down:
            log.info("ticket store reachable again")
        host._store_down = False
        await host.alerts.recheck(functools.partial(host.engine.firing, now))
    except Fenced as exc:  # lost a lease while paused or cut off: nothing was written
        log.warning("%s", exc)
        if host.cluster is not None:
            await host.cluster.fenced()
    except Unavailable as exc:  # said once per outage, not every second
        if not host._store_down:
            log.error("ticket store unreachable; escalation waits for it: %s", exc)
        host._store_down = True
    except Exception:  # a bug in one tick must not stop monitoring
        log.exception("alerting tick failed")
    await host._run_reports(now)
    await host._flush_history(now)
    mono = host.clock.monotonic()
    if mono - host._last_save >= STATE_SAVE_SECONDS:
        host._save_state()
        host._last_save = mono
    if host._watchdog is not None and mono - host._last_watchdog >= host._watchdog:
        host._sd.send(watchdog=1, status=host.status_line())
        host._last_watchdog = mono


async def run_reports(host: Host, now: float) -> None:
    """Scheduled reports (alerting.reports: monthly SLA report, daily inspection sheet),
    built from the ticket store and `latest`, mailed through the outbox."""
    if host.reports is None or host.alerts is None or host.loaded is None:
        return
    if host.cluster is not None and (host._store_down or not host.cluster.holds_desk()):
        return  # one collector of the desk mails the reports, when the store is there
    loaded = host.loaded
    try:
        await host.reports.tick(
            now,
            store=host.alerts.store,
            config=host.alerts.config,
            inventory=loaded.inventory,
            rules=loaded.ruleset,
            samples=lambda: list(host.latest.values()),  # built per report, not kept
            windows=lambda: windows_in(loaded.config.maintenance_file),
        )
    except Exception:  # a report must never stop monitoring
        log.exception("reports tick failed")


async def flush_history(history: ReadingHistory | None, now: float, everything: bool) -> None:
    """Write the reading history's buffered rows (all of them at stop)."""
    if history is None:
        return
    try:
        await history.flush(now, everything)
    except sqlite3.Error as exc:  # a full disk must not stop monitoring
        log.error("reading history not written: %s", exc)


def save_rule_state(engine: Engine | None, path: Path) -> None:
    """The rules' state to its file, so `for` timers survive a restart."""
    assert engine is not None
    try:
        save_state(path, engine)
    except OSError as exc:  # disk full, read-only: keep monitoring, say so
        log.error("cannot save rule state to %s: %s", path, exc.strerror or exc)
