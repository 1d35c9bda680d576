"""Level 1 while the ticket store is away: told straight away, reconciled afterwards.

A severe fault must not wait for PostgreSQL to come back. When a firing level-1 fault cannot
be recorded (the store is unreachable), the collector renders the first tier's message from
the fault itself and sends it through the channels the first tier would use, without the
store. The keys it told are remembered in the collector's durable fault queue; when the store
returns and the queued fault opens its incident, the first tier's outbox rows for it are
marked sent in that same transaction (audit: `told` via `fallback`), so nobody hears it
twice. Later steps (escalation, reminders, the recovery) run from the store as usual once it
is back. Other levels wait in the queue."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from alerting.config import AlertingConfig
from alerting.dispatch import Dispatcher
from alerting.duty import resolve_targets
from alerting.messages import render
from alerting.notifiers.base import DeliveryError, Notifier
from alerting.pipeline.route import route
from alerting.store import Incident
from rules.fault import Fault

log = logging.getLogger("roomwatch.alerting")

FALLBACK_LEVEL = 1


def _as_incident(fault: Fault, now: float) -> Incident:
    """The incident the fault would open, for routing and the message (id 0: not recorded)."""
    values: dict[str, Any] = {f.name: None for f in fields(Incident)}
    values.update(
        id=0,
        key=fault.key,
        rule=fault.rule,
        grp=fault.group,
        device=fault.device,
        metric=fault.metric,
        site=fault.site,
        labels=dict(fault.labels),
        level=fault.level,
        state="open",
        stale=fault.stale,
        summary=dict(fault.summary),
        runbook=fault.runbook,
        value=fault.value,
        since=fault.since,
        opened_at=now,
        active_since=now,
        level_since=now,
        updated_at=now,
        occurrences=1,
        tier=0,
        reminders=0,
        shard="",
    )
    return Incident(**values)


async def tell_without_store(
    fault: Fault,
    config: AlertingConfig,
    dispatch: Dispatcher,
    notifiers: Mapping[str, Notifier],
    now: float,
) -> list[str]:
    """Send the first tier's message for `fault` now; the channels that accepted it."""
    incident = _as_incident(fault, now)
    tiers = config.tiers_for(fault.level)
    first = tiers[0] if tiers else None
    people = list(resolve_targets(config.duty, first.notify, now)) if first else []
    payload = {
        "kind": "opened",
        "incident": None,
        "key": fault.key,
        "rule": fault.rule,
        "device": fault.device,
        "site": fault.site,
        "level": fault.level,
        "summary": dict(fault.summary),
        "runbook": fault.runbook,
        "value": fault.value,
        "since": fault.since,
        "ts": now,
        "occurrences": 1,
        "stale": fault.stale,
        "flapping": False,
        "workaround": None,
        "people": people,
        "fallback": True,  # told while the ticket store was unreachable
        "ack": {"command": "roomwatch incidents list --state open (once the store is back)"},
    }
    told = []
    for name in route(incident, config, first.notifiers or None if first else None):
        notifier = notifiers.get(name)
        if notifier is None:
            continue
        recipients = dispatch.recipients_for(config.notifier(name), people)
        if recipients is None:
            continue
        entry = config.notifier(name)
        message = render(
            [payload],
            entry.language or config.language,
            now=now,
            tz=dispatch.tz(),
            recipients=recipients,
        )
        try:
            await notifier.send(message)
        except (DeliveryError, TimeoutError, OSError) as exc:
            log.error("level-1 fallback to %s failed: %s", name, exc)
            continue
        told.append(name)
    if told:
        log.warning(
            "ticket store unreachable: level-1 %s told directly on %s", fault.key, ", ".join(told)
        )
    return told
