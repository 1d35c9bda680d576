"""The daemon's sample path: a poll result, a trap's samples or the daemon's own figures go to
`latest`, to every sink (never blocking), to the reading history and to the rule engine; what
the rules fire goes, as one batch, on the fault queue (daemon_faults.py consumes it). Also the
inventory look-ups that attribute a sample: a trap's source address to its device, a device to
the tags a sink writes with it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from collector.clock import Clock
from collector.history import ReadingHistory
from collector.latest import LatestReadings
from collector.loading import Loaded
from collector.polling import PollResult
from collector.sinks import Sink
from core.hostport import host_of
from core.sample import Sample
from rules.engine import Engine
from rules.fault import Fault

log = logging.getLogger("roomwatch.daemon")


class Host(Protocol):
    """What the sample path uses of the daemon."""

    clock: Clock
    engine: Engine | None
    sinks: list[Sink]
    latest: LatestReadings
    history: ReadingHistory | None
    failing: dict[tuple[str, str], str]
    faults: asyncio.Queue[list[Fault]]
    stats: dict[str, float]


def on_result(host: Host, result: PollResult) -> None:
    """One poll's result: counted, its device's change of answering logged once, kept as
    latest, then to the sinks and the rules."""
    host.stats["polls"] += 1
    key = (result.device, result.probe_type)
    if result.up:
        if key in host.failing:
            log.info(
                "device recovered",
                extra={
                    "device": result.device,
                    "probe": result.probe_type,
                    "was": host.failing.pop(key),
                },
            )
    else:
        host.stats["poll_failures"] += 1
        if host.failing.get(key) != result.reason:
            log.warning(
                "device not answering: %s",
                result.error,
                extra={
                    "device": result.device,
                    "probe": result.probe_type,
                    "reason": result.reason,
                },
            )
            host.failing[key] = result.reason or "error"
    host.latest.record_poll(result.device, result.entry, result.samples, result.up)
    to_sinks_and_rules(host, result.samples)


def ingest(host: Host, samples: list[Sample]) -> None:
    """Samples from a trap: to every sink, then to the rules."""
    host.latest.record(samples)
    to_sinks_and_rules(host, samples)


def to_sinks_and_rules(host: Host, samples: list[Sample]) -> None:
    for sink in host.sinks:
        sink.submit(samples)
    evaluate(host, samples, host.clock.now())


def observe(host: Host, samples: Sequence[Sample], now: float) -> None:
    """The daemon's own samples (sinks' figures): kept as latest and evaluated."""
    host.latest.record(samples)
    evaluate(host, samples, now)


def evaluate(host: Host, samples: Sequence[Sample], now: float) -> None:
    assert host.engine is not None
    if host.history is not None:
        host.history.record(samples)
    started = host.clock.monotonic()
    fired = host.engine.observe(samples, now)
    host.stats["rule_evaluations"] += 1
    host.stats["rule_evaluation_seconds"] += host.clock.monotonic() - started
    if fired:
        host.faults.put_nowait(fired)


def device_for_address(loaded: Loaded | None, address: str) -> str | None:
    """The inventory device a trap's source address belongs to: the one whose probe
    polls that host (the trap section's `devices:` table is asked first)."""
    if loaded is None:
        return None
    for device in loaded.inventory.devices.values():
        for settings in device.probes:
            target = getattr(settings, "address", None)
            if isinstance(target, str) and host_of(target) == address:
                return device.id
    return None


def tags_for(loaded: Loaded | None, device_id: str) -> dict[str, str]:
    """The tags a sink writes with a device's samples: its kind, and its site if it has one."""
    if loaded is None:
        return {}
    device = loaded.inventory.devices.get(device_id)
    if device is None:
        return {}
    tags = {"kind": device.kind}
    if device.site:
        tags["site"] = device.site
    return tags
