"""One poll of one probe: run it under its timeout and turn the outcome into samples.

Every poll yields `device.up` (1 when the device answered) and `device.poll_seconds`,
labelled with the probe type; a failure's reason (`timeout`, `refused`, `auth`, `protocol`,
`tls`) is the note of `device.up`. Probes raise only ProbeError; anything else is a bug in a
probe, reported as reason `error` so one bad probe never stops the collector."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.sample import Sample
from inventory import Inventory
from probes.base import Probe, ProbeError
from probes.registry import probe_class


@dataclass
class PollResult:
    device: str
    probe_type: str
    samples: list[Sample]
    error: str | None = None  # one line, for logs and `roomwatch probe`
    reason: str | None = None  # the note of device.up when it failed
    seconds: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    entry: int = 0  # which of the device's probe entries (set by the scheduler)

    @property
    def up(self) -> bool:
        return self.error is None


# A probe honours its own timeout and may report readings with its ProbeTimeout (a website
# probe's http.up = 0); the collector's deadline is a safety net for a probe that hangs, set a
# little later (half the timeout, at most a second) so that it does not pre-empt the
# probe's own, richer timeout.
SAFETY_GRACE_S = 1.0


# The device.* samples' labels, one dict per probe type shared by every poll (read-only, as
# samples' labels are): the latest readings then hold the same label column poll after poll.
_PROBE_LABELS: dict[str, dict[str, str]] = {}


def _probe_labels(type_name: str) -> dict[str, str]:
    found = _PROBE_LABELS.get(type_name)
    if found is None:
        found = _PROBE_LABELS[type_name] = {"probe": type_name}
    return found


async def poll_once(probe: Probe, now: float) -> PollResult:
    """Poll once; `now` stamps the samples. Never raises (except cancellation)."""
    timeout = probe.settings.timeout
    labels = _probe_labels(probe.type_name)
    started = time.perf_counter()
    samples: list[Sample] = []
    error = reason = None
    try:
        async with asyncio.timeout(timeout + min(SAFETY_GRACE_S, timeout / 2)):
            samples = list(await probe.poll(now))
    except TimeoutError:
        error, reason = f"no answer within {timeout:g}s", "timeout"
    except ProbeError as exc:
        error, reason = str(exc) or type(exc).__name__, exc.reason
        samples = list(exc.samples)
    except Exception as exc:  # a probe bug must not stop the collector
        error, reason = f"internal error in {probe.type_name} probe: {exc!r}", "error"
    seconds = time.perf_counter() - started
    if error is not None:  # one line for logs and stderr (some library messages span lines)
        error = " ".join(error.split())
    samples.append(Sample(probe.device, "device.up", int(error is None), labels, None, now, reason))
    samples.append(Sample(probe.device, "device.poll_seconds", seconds, labels, "s", now))
    return PollResult(probe.device, probe.type_name, samples, error, reason, seconds, labels)


def build_probes(inventory: Inventory) -> list[tuple[tuple[str, int], Probe]]:
    """One probe instance per probe entry, keyed by (device id, entry index)."""
    out = []
    for device in inventory.devices.values():
        for index, settings in enumerate(device.probes):
            cls = probe_class(settings.type)
            out.append(((device.id, index), cls(device.id, settings)))
    return out


async def poll_all(
    probes: Sequence[Probe], concurrency: int, now: Callable[[], float]
) -> list[PollResult]:
    """Poll each probe once, at most `concurrency` at a time, closing each afterwards (the
    one-shot commands `poll` and `report inspection`)."""
    slots = asyncio.Semaphore(concurrency)

    async def one(probe: Probe) -> PollResult:
        async with slots:
            try:
                return await poll_once(probe, now())
            finally:
                await probe.close()

    return list(await asyncio.gather(*(one(p) for p in probes)))
