"""Reloading the daemon's files while it runs: SIGHUP's reload (or `systemctl reload`) and the
file watcher's (an edit of any of the files), the sinks rebuilt when their settings change,
and the maintenance file read again when it changed. A bad file is logged with its errors and
the running configuration stays; the watcher's reload that would remove a whole rule file or
most rules is held until the admin confirms it (rules/removal.py)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from alerting.service import AlertService
from collector import gctune
from collector.api.server import ApiServer
from collector.clock import Clock
from collector.latest import LatestReadings
from collector.loading import Loaded, add_self_device, files_signature, load_all, watched_files
from collector.polling import build_probes
from collector.scheduler import Scheduler
from collector.sdnotify import Notifier
from collector.sinks import Sink
from collector.sinks.factory import build_sinks
from inventory import ConfigError
from inventory.model import Inventory
from rules.engine import Engine
from rules.maintenance import load_windows
from rules.removal import removal_to_confirm

if TYPE_CHECKING:
    from collector.cluster_role import ClusterRole

log = logging.getLogger("roomwatch.daemon")


class Host(Protocol):
    """What reloading uses of the daemon."""

    config_path: Path
    clock: Clock
    loaded: Loaded | None
    scheduler: Scheduler | None
    engine: Engine | None
    alerts: AlertService | None
    sinks: list[Sink]
    latest: LatestReadings
    stats: dict[str, float]
    api: ApiServer | None
    cluster: ClusterRole | None
    _sd: Notifier
    _files_seen: tuple[tuple[str, float, int], ...]
    _maintenance_mtime: float | None

    def status_line(self) -> str: ...
    def _watched(self, inventory: Inventory) -> Inventory: ...
    def _tags_for(self, device_id: str) -> dict[str, str]: ...


def sink_setup(loaded: Loaded) -> list[tuple[object, str | None]]:
    """What a sink is built from: its settings and its token (a rotated token counts)."""
    out: list[tuple[object, str | None]] = []
    for config in loaded.config.sinks:
        try:
            token = loaded.credentials.entry(config.credentials).get("token")
        except KeyError:
            token = None
        out.append((config, token))
    return out


async def reload(host: Host, confirmed: bool = True) -> bool:
    """Reload every file. `confirmed` is False for the file watcher's reload: one that
    would remove a whole rule file or most rules is then held (rules/removal.py)."""
    assert host.scheduler is not None and host.engine is not None and host.alerts is not None
    host._sd.send(reloading=1, status="reloading")
    host.stats["reloads"] += 1
    try:
        loaded = load_all(host.config_path)
        add_self_device(loaded.inventory)
    except ConfigError as exc:
        host.stats["reload_failures"] += 1
        for item in exc.errors:
            log.error("reload rejected, keeping the running configuration: %s", item)
        host._sd.send(ready=1, status=host.status_line())
        return False
    previous = host.loaded
    held = (
        None
        if confirmed or previous is None
        else removal_to_confirm(previous.ruleset, loaded.ruleset)
    )
    if held is not None:
        host.stats["reloads_held"] = host.stats.get("reloads_held", 0) + 1
        log.warning(
            "reload held, the running rules keep working: %s. If this is on purpose,"
            " confirm it with `systemctl reload roomwatch` (or `kill -HUP %d`)",
            held,
            os.getpid(),
        )
        host._sd.send(ready=1, status=host.status_line())
        return False
    host.loaded = loaded
    host.engine.replace(loaded.ruleset, loaded.inventory)
    host.alerts.reload(loaded.config.alerting, loaded.inventory)
    if host.cluster is not None:  # shards, failover, silent level (the name stays)
        host.cluster.member.reconfigure(loaded.config.collector)
    if previous is None or sink_setup(previous) != sink_setup(loaded):
        await replace_sinks(host, loaded)
    if host.api is not None:
        host.api.refresh_token(loaded.config, loaded.credentials)
    host.scheduler.configure(loaded.config.collector.concurrency)
    for probe in host.scheduler.set_probes(build_probes(host._watched(loaded.inventory))):
        await probe.close()
    host.latest.keep_devices(loaded.inventory.devices)
    gctune.after_reload()
    log.info("configuration reloaded", extra={"devices": len(loaded.inventory.devices)})
    host._sd.send(ready=1, status=host.status_line())
    return True


async def replace_sinks(host: Host, loaded: Loaded) -> None:
    """Stop the running sinks (each flushes to its spool) and start the configured ones;
    a sink kept under the same name takes its spool, backlog included, over."""
    config = loaded.config
    old = host.sinks
    # Polls go on meanwhile: the new sinks hold what is submitted until they start.
    host.sinks = build_sinks(
        config.sinks, loaded.credentials, config.state_dir, host._tags_for, host.clock
    )
    for sink in old:
        await sink.stop(drain=False)  # no drain: the new sink replays the spool
    started = []
    for sink in host.sinks:
        try:
            await sink.start()
        except (OSError, RuntimeError) as exc:
            log.error("sink %r cannot start after reload: %s", sink.name, exc)
            continue
        started.append(sink)
    host.sinks = started
    log.info("sinks reconfigured", extra={"sinks": ",".join(s.name for s in host.sinks)})


def files_changed(host: Host) -> bool:
    """Whether any of the watched files changed since the last look."""
    assert host.loaded is not None
    seen = files_signature(watched_files(host.loaded.config))
    changed = seen != host._files_seen
    # Remember the new state even when the reload fails: a bad edit is reported once,
    # and the next edit (the fix) triggers the next reload.
    host._files_seen = seen
    return changed


def load_maintenance(host: Host) -> None:
    """The maintenance windows into the engine, when the file changed (or appeared, or went)."""
    assert host.loaded is not None and host.engine is not None
    path = host.loaded.config.maintenance_file
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        mtime = None
    if mtime == host._maintenance_mtime:
        return
    host._maintenance_mtime = mtime
    try:
        windows = load_windows(path) if mtime is not None else []
    except ConfigError as exc:
        for item in exc.errors:
            log.error("maintenance file rejected, keeping the windows in force: %s", item)
        return
    host.engine.set_maintenance(windows)
