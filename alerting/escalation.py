"""Escalation and reminders: which tiers of an incident's chain are due, and whether a repeat
reminder is due. Both stop once the incident is acknowledged or resolved. Pure."""

from __future__ import annotations

from alerting.config import Tier
from alerting.store import Incident


def due_tiers(incident: Incident, tiers: list[Tier], now: float) -> list[tuple[int, Tier]]:
    """Tiers not yet run whose `after` has passed since the incident became active."""
    if incident.state != "open" or incident.quiet:
        return []
    # a flapping incident is told once (the first tier) and then held without escalating
    chain = tiers[:1] if incident.suppressed == "flapping" else tiers
    return [
        (index, tier)
        for index, tier in enumerate(chain)
        if index >= incident.tier and incident.active_since + tier.after <= now
    ]


def reminder_due(incident: Incident, interval: float, now: float) -> bool:
    if incident.state != "open" or incident.suppressed or interval <= 0:
        return False
    if incident.last_notified_at is None:
        return False  # nobody was told yet: there is nothing to remind of
    return now - incident.last_notified_at >= interval
