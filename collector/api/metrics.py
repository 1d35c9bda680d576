"""`GET /metrics`: the daemon's own figures in the Prometheus text format (version 0.0.4).

Polls, reloads, the fault queue, rule evaluation time, devices, trap outcomes, each sink's
figures (labelled `sink`), the alert service's figures and the active incidents by level and
state. `daemon_families` is pure; the route reads the figures through the DaemonView."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from alerting.store import ACTIVE_STATES, Incident
from collector.api.view import DaemonView

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Family:
    name: str
    kind: str  # counter | gauge | summary
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> Family:
        self.samples.append((suffix, labels, value))
        return self


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def prometheus_text(families: Iterable[Family]) -> str:
    """The text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for family in families:
        if not family.samples:
            continue
        lines.append(f"# HELP {family.name} {family.help.replace(chr(10), ' ')}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for suffix, labels, value in family.samples:
            label_text = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(labels.items()))
            label_text = f"{{{label_text}}}" if label_text else ""
            lines.append(f"{family.name}{suffix}{label_text} {_number(value)}")
    return "\n".join(lines) + "\n"


# The AlertService's figures that count events (the others are gauges).
ALERT_COUNTERS = {
    "alert_outbox_sent_total",
    "alert_messages_sent",
    "alert_notifications_sent",
    "alert_notifications_failed",
    "alert_notifications_retried",
    "faults_handled",
}


def daemon_families(
    own: Mapping[str, Any],
    sinks: Sequence[tuple[str, Mapping[str, float]]],
    alerts: Mapping[str, float],
    active: Sequence[Incident],
    devices: int,
    not_answering: int,
) -> list[Family]:
    """The /metrics families from the daemon's figures. Pure."""

    def one(name: str, kind: str, help_: str, key: str) -> Family:
        return Family(name, kind, help_).add(float(own.get(key, 0)))

    families = [
        one("roomwatch_polls_total", "counter", "Polls completed.", "polls"),
        one(
            "roomwatch_poll_failures_total", "counter", "Polls without an answer.", "poll_failures"
        ),
        one("roomwatch_polls_in_flight", "gauge", "Polls running now.", "polls_in_flight"),
        one(
            "roomwatch_poll_skipped_total",
            "counter",
            "Poll slots skipped because the previous poll overran.",
            "poll_skipped",
        ),
        one("roomwatch_reloads_total", "counter", "Reloads requested.", "reloads"),
        one(
            "roomwatch_reload_failures_total",
            "counter",
            "Reloads rejected (bad file).",
            "reload_failures",
        ),
        one(
            "roomwatch_fault_queue_depth",
            "gauge",
            "Fault batches waiting for the alert service.",
            "fault_queue_depth",
        ),
        Family(
            "roomwatch_rule_evaluation_seconds",
            "summary",
            "Time spent evaluating rules on new samples.",
        )
        .add(float(own.get("rule_evaluation_seconds", 0.0)), "_sum")
        .add(float(own.get("rule_evaluations", 0)), "_count"),
        Family("roomwatch_devices", "gauge", "Devices in the inventory.").add(devices),
        Family("roomwatch_devices_not_answering", "gauge", "Devices whose last poll failed.").add(
            not_answering
        ),
    ]
    traps = own.get("traps") or {}
    if traps:
        traps_family = Family(
            "roomwatch_traps_total",
            "counter",
            "SNMP notifications by outcome (received, unknown type, refused credentials, "
            "and what the SNMP engine dropped).",
        )
        for outcome, count in sorted(traps.items()):
            traps_family.add(float(count), outcome=outcome)
        families.append(traps_family)
    by_key: dict[str, Family] = {}
    for sink_name, stats in sinks:
        for key, value in sorted(stats.items()):
            kind = "counter" if key.endswith("_total") else "gauge"
            family = by_key.get(key)
            if family is None:
                family = by_key[key] = Family(
                    f"roomwatch_sink_{key}",
                    kind,
                    f"Sink figure {key} (spool_depth: samples not yet stored).",
                )
            family.add(value, sink=sink_name)
    families.extend(by_key.values())
    for key, value in sorted(alerts.items()):
        if key in ALERT_COUNTERS:
            name = key if key.endswith("_total") else f"{key}_total"
            families.append(Family(f"roomwatch_{name}", "counter", f"Alerting: {key}.").add(value))
        else:
            families.append(Family(f"roomwatch_{key}", "gauge", f"Alerting: {key}.").add(value))
    incidents = Family(
        "roomwatch_incidents_active", "gauge", "Active incidents by level and state."
    )
    counts: dict[tuple[str, str], int] = {}
    for incident in active:
        level_state = (str(incident.level), incident.state)
        counts[level_state] = counts.get(level_state, 0) + 1
    for level in ("1", "2", "3"):
        for state in ACTIVE_STATES:
            incidents.add(counts.get((level, state), 0), level=level, state=state)
    families.append(incidents)
    return families


def routes(view: DaemonView) -> list[web.RouteDef]:
    async def metrics(_request: web.Request) -> web.Response:
        incidents = view.incidents()
        families = daemon_families(
            view.stats(),
            view.sinks(),
            incidents.stats(),
            await incidents.active(),
            len(view.inventory().devices),
            len(view.not_answering()),
        )
        return web.Response(text=prometheus_text(families), headers={"Content-Type": CONTENT_TYPE})

    return [web.get("/metrics", metrics)]
