"""The daemon's own figures as Prometheus metric families (prometheus_client's types).

Pure: `daemon_families(figures)` takes what the daemon, its sinks and the alert service report
and returns the families `GET /metrics` exposes. The names are the ones users scrape today
(DESIGN.md): `roomwatch_polls_total`, `roomwatch_fault_queue_depth`, `roomwatch_sink_<figure>`,
`roomwatch_incidents_active`, …

Adding a family: write a function `(SelfFigures) -> Iterable[Metric]` and append it to
`FAMILY_BUILDERS`; a figure the daemon does not report yet reads as absent (the builder yields
nothing) or zero, as the family's meaning asks. Builders are independent of each other, so two
people adding families do not edit the same function."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    SummaryMetricFamily,
)
from prometheus_client.metrics_core import Metric

from alerting.store import ACTIVE_STATES, Incident


@dataclass(frozen=True)
class SelfFigures:
    """What /metrics is made of, read once per scrape."""

    own: Mapping[str, Any]  # Daemon.own_stats(): polls, reloads, queue depth, traps, …
    sinks: Sequence[tuple[str, Mapping[str, float]]] = ()
    alerts: Mapping[str, float] = field(default_factory=dict)
    active: Sequence[Incident] = ()
    devices: int = 0
    not_answering: int = 0


Builder = Callable[[SelfFigures], Iterable[Metric]]


def _counter(name: str, help_: str, value: float) -> CounterMetricFamily:
    """A counter; prometheus_client writes the sample as `<name>_total` (name without it)."""
    return CounterMetricFamily(name.removesuffix("_total"), help_, value=value)


def _gauge(name: str, help_: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_, value=value)


def polling_families(f: SelfFigures) -> Iterable[Metric]:
    own = f.own
    yield _counter("roomwatch_polls_total", "Polls completed.", float(own.get("polls", 0)))
    yield _counter(
        "roomwatch_poll_failures_total",
        "Polls without an answer.",
        float(own.get("poll_failures", 0)),
    )
    yield _gauge(
        "roomwatch_polls_in_flight", "Polls running now.", float(own.get("polls_in_flight", 0))
    )
    yield _counter(
        "roomwatch_poll_skipped_total",
        "Poll slots skipped because the previous poll overran (by device and reason: "
        "roomwatch_device_poll_skipped_total).",
        float(own.get("poll_skipped", 0)),
    )
    yield _gauge("roomwatch_devices", "Devices in the inventory.", float(f.devices))
    yield _gauge(
        "roomwatch_devices_not_answering", "Devices whose last poll failed.", float(f.not_answering)
    )


def scheduler_families(f: SelfFigures) -> Iterable[Metric]:
    """The scheduler's queue, its bound, skipped slots per device and reason, and poll lag."""
    own = f.own
    if "polls_waiting" in own:
        yield _gauge(
            "roomwatch_polls_waiting",
            "Polls due and waiting for a concurrency slot (the scheduler's queue).",
            float(own["polls_waiting"]),
        )
    if "poll_concurrency" in own:
        yield _gauge(
            "roomwatch_poll_concurrency",
            "Polls allowed in flight now: the ceiling, less while the event loop lags.",
            float(own["poll_concurrency"]),
        )
    if "poll_concurrency_ceiling" in own:
        yield _gauge(
            "roomwatch_poll_concurrency_ceiling",
            "Most polls in flight (collector.concurrency, or sized from the inventory).",
            float(own["poll_concurrency_ceiling"]),
        )
    if "event_loop_lag_seconds" in own:
        yield _gauge(
            "roomwatch_event_loop_lag_seconds",
            "How late a one-second timer fired, last measured (CPU shortage shows here).",
            float(own["event_loop_lag_seconds"]),
        )
    skipped = CounterMetricFamily(
        "roomwatch_device_poll_skipped",
        "Poll slots a device skipped, by reason: waiting_for_slot (more collector.concurrency "
        "helps), device_slow (the poll took longer than the interval). Only devices that "
        "skipped.",
        labels=["device", "reason"],
    )
    for (device, reason), count in sorted((own.get("poll_skipped_by") or {}).items()):
        skipped.add_metric([device, reason], float(count))
    yield skipped
    lag = own.get("poll_lag")
    if lag is not None:
        buckets = [
            ("+Inf" if math.isinf(bound) else f"{bound:g}", float(count))
            for bound, count in lag.cumulative()
        ]
        yield HistogramMetricFamily(
            "roomwatch_poll_lag_seconds",
            "Seconds from a poll's due time to its start (waiting for a slot or the device's "
            "lock).",
            buckets=buckets,
            sum_value=float(lag.total),
        )


def reload_families(f: SelfFigures) -> Iterable[Metric]:
    yield _counter("roomwatch_reloads_total", "Reloads requested.", float(f.own.get("reloads", 0)))
    yield _counter(
        "roomwatch_reload_failures_total",
        "Reloads rejected (bad file).",
        float(f.own.get("reload_failures", 0)),
    )


def rule_families(f: SelfFigures) -> Iterable[Metric]:
    yield _gauge(
        "roomwatch_fault_queue_depth",
        "Fault batches waiting for the alert service.",
        float(f.own.get("fault_queue_depth", 0)),
    )
    yield SummaryMetricFamily(
        "roomwatch_rule_evaluation_seconds",
        "Time spent evaluating rules on new samples.",
        count_value=int(f.own.get("rule_evaluations", 0)),
        sum_value=float(f.own.get("rule_evaluation_seconds", 0.0)),
    )


def trap_families(f: SelfFigures) -> Iterable[Metric]:
    traps: Mapping[str, float] = f.own.get("traps") or {}
    if not traps:
        return
    family = CounterMetricFamily(
        "roomwatch_traps",
        "SNMP notifications by outcome (received, unknown type, refused credentials, "
        "and what the SNMP engine dropped).",
        labels=["outcome"],
    )
    for outcome, count in sorted(traps.items()):
        family.add_metric([outcome], float(count))
    yield family


def cluster_families(f: SelfFigures) -> Iterable[Metric]:
    """Which collector of a shared desk these figures are from, and what it holds."""
    cluster: Mapping[str, Any] = f.own.get("cluster") or {}
    if not cluster:
        return
    name = str(cluster["collector"])
    info = GaugeMetricFamily(
        "roomwatch_collector_info", "This collector's name.", labels=["collector"]
    )
    info.add_metric([name], 1.0)
    yield info
    held = GaugeMetricFamily(
        "roomwatch_shard_lease_epoch",
        "Epoch of each shard lease this collector holds.",
        labels=["collector", "shard"],
    )
    for shard, epoch in sorted(cluster["leases"].items()):
        held.add_metric([name, shard], float(epoch))
    yield held
    up = GaugeMetricFamily(
        "roomwatch_store_reachable",
        "1 while the shared ticket store answers.",
        labels=["collector"],
    )
    up.add_metric([name], 1.0 if cluster["store_reachable"] else 0.0)
    yield up


def sink_families(f: SelfFigures) -> Iterable[Metric]:
    by_key: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
    for sink_name, stats in f.sinks:
        for key, value in sorted(stats.items()):
            family = by_key.get(key)
            if family is None:
                name, help_ = (
                    f"roomwatch_sink_{key}",
                    f"Sink figure {key} (spool_depth: samples not yet stored).",
                )
                family = by_key[key] = (
                    CounterMetricFamily(name.removesuffix("_total"), help_, labels=["sink"])
                    if key.endswith("_total")
                    else GaugeMetricFamily(name, help_, labels=["sink"])
                )
            family.add_metric([sink_name], float(value))
    yield from by_key.values()


# The AlertService's figures that count events (the others are gauges).
ALERT_COUNTERS = frozenset(
    {
        "alert_outbox_sent_total",
        "alert_messages_sent",
        "alert_notifications_sent",
        "alert_notifications_failed",
        "alert_notifications_retried",
        "faults_handled",
    }
)


def alert_families(f: SelfFigures) -> Iterable[Metric]:
    for key, value in sorted(f.alerts.items()):
        if key in ALERT_COUNTERS:
            yield _counter(f"roomwatch_{key}", f"Alerting: {key}.", float(value))
        else:
            yield _gauge(f"roomwatch_{key}", f"Alerting: {key}.", float(value))


def incident_families(f: SelfFigures) -> Iterable[Metric]:
    family = GaugeMetricFamily(
        "roomwatch_incidents_active",
        "Active incidents by level and state.",
        labels=["level", "state"],
    )
    counts: dict[tuple[str, str], int] = {}
    for incident in f.active:
        level_state = (str(incident.level), incident.state)
        counts[level_state] = counts.get(level_state, 0) + 1
    # every level/state pair, zero included, so a dashboard never sees a gap
    for level in ("1", "2", "3"):
        for state in ACTIVE_STATES:
            family.add_metric([level, state], float(counts.get((level, state), 0)))
    yield family


def history_families(f: SelfFigures) -> Iterable[Metric]:
    """The console's embedded readings history (collector.history), when it is on."""
    if "history_series" not in f.own:
        return
    yield _gauge(
        "roomwatch_history_series", "Series kept in the readings history.", f.own["history_series"]
    )
    yield _counter(
        "roomwatch_history_series_dropped",
        "Samples of new series not kept (history.max_series or max_series_per_device reached).",
        float(f.own.get("history_series_dropped", 0)),
    )
    yield _counter(
        "roomwatch_history_points_written",
        "One-minute points written to the readings history.",
        float(f.own.get("history_points_written", 0)),
    )


FAMILY_BUILDERS: list[Builder] = [
    polling_families,
    scheduler_families,
    reload_families,
    rule_families,
    trap_families,
    sink_families,
    alert_families,
    incident_families,
    cluster_families,
    history_families,
]


def daemon_families(figures: SelfFigures) -> list[Metric]:
    """The /metrics families, in the order of FAMILY_BUILDERS. Pure."""
    return [family for build in FAMILY_BUILDERS for family in build(figures)]
