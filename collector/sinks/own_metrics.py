"""An InfluxDB sink's own figures: its health as `roomwatch.*` samples for the rules
(`roomwatch.sink.up`, `roomwatch.spool.depth`, …, DESIGN.md's metric names) and its counters
and gauges for the HTTP API's /metrics."""

from __future__ import annotations

from collections.abc import Sequence

from collector.sinks.state import SinkState
from core.sample import Sample

OWN_DEVICE = "roomwatch"


def own_samples(state: SinkState, now: float) -> Sequence[Sample]:
    labels = {"sink": state.name}
    up = Sample(
        OWN_DEVICE,
        "roomwatch.sink.up",
        1 if state.up else 0,
        dict(labels),
        ts=now,
        note=None if state.up else (state.down_reason or state.spool_error),
    )
    return [
        up,
        Sample(OWN_DEVICE, "roomwatch.spool.depth", state.depth(), dict(labels), ts=now),
        Sample(
            OWN_DEVICE,
            "roomwatch.spool.age_seconds",
            state.age_seconds(now),
            dict(labels),
            unit="s",
            ts=now,
        ),
        Sample(
            OWN_DEVICE,
            "roomwatch.spool.dropped_total",
            state.counters["dropped_total"],
            dict(labels),
            ts=now,
        ),
        Sample(
            OWN_DEVICE,
            "roomwatch.sink.written_total",
            state.counters["written_total"],
            dict(labels),
            ts=now,
        ),
    ]


def stats(state: SinkState) -> dict[str, float]:
    """Counters and gauges for the HTTP API's /metrics (the caller adds `sink=<name>`)."""
    out = {k: float(v) for k, v in state.counters.items()}
    out["up"] = 1.0 if state.up else 0.0
    out["spool_depth"] = float(state.depth())
    out["pending"] = float(state.pending_count)
    out["spool_age_seconds"] = state.age_seconds(state.clock.now())
    return out
