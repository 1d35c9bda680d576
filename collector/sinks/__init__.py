"""Sinks: where every sample goes besides the rule engine (InfluxDB v2, with a durable spool).

The collector hands each poll's samples to every sink with `submit`, which must never block
and never raise: a dead store slows nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from core.sample import Sample


class Sink(Protocol):
    name: str

    async def start(self) -> None: ...

    def submit(self, samples: Sequence[Sample]) -> None:
        """Accept samples for writing. Never blocks, never raises."""

    async def stop(self, drain: bool = True) -> None:
        """Flush what can be flushed (to the store, unless `drain` is false, and to the
        spool) and release resources."""

    def own_samples(self, now: float) -> Sequence[Sample]:
        """The sink's own health as `roomwatch.*` samples (spool depth, age, …) for rules."""
        ...

    def stats(self) -> dict[str, float]:
        """Counters and gauges for /metrics, unlabelled (the caller adds `sink=<name>`)."""
        ...
