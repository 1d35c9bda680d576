"""When alerting's clocks next have something to do, so the daemon's once-a-second tick reads
the ticket store only then, not every second.

What people wait for on the second is planned to the second from what the last look read: an
escalation tier (`after` since the incident became active), a repeat reminder, an SLA clock
running out, the promotion of an incident unresolved too long, a queued notification's `due`.
Everything else is seen at the next look, which comes at the latest STORE_LOOK_SECONDS after
the last one: what other writers do to the store (the CLI, the web console of another process,
peer collectors on PostgreSQL: an ack, a ticket, a queued notice), the closing of incidents
resolved longer than the reopen window ago, the phases of planned-work notices. A write made
through this process's store (a fault recorded, an ack from the API, a sent notification, a
tier the clocks ran) makes the next tick look at once (AlertService.tick). Pure arithmetic
mirroring sla.py and escalation.py; tests/unit/test_alerting_tick.py holds them together."""

from __future__ import annotations

from collections.abc import Iterable

from alerting import sla
from alerting.config import AlertingConfig
from alerting.store import Incident

#: the longest the tick goes without reading the store (docs/alerting.md "The tick")
STORE_LOOK_SECONDS = 5.0


def incident_wake(incident: Incident, config: AlertingConfig, now: float) -> float | None:
    """The earliest instant at which the clocks have something to do for `incident`, as it was
    read at `now` (None: nothing, until it changes). An instant at or before `now` means a
    tier or reminder was due but held (inhibited, silenced): look again at the next tick."""
    if not incident.active or incident.quiet:
        return None  # Dispatcher.run_clocks skips it; only a change of the row wakes it
    times: list[float] = []
    if incident.level > 1:  # sla.promotion_due
        times.append(max(incident.level_since, incident.active_since) + config.promote_after)
    for clock in sla.clocks(incident, config.sla_for(incident.level)):
        # a clock met (or breached and recorded) stays as it is; one running out counts
        if clock.met_at is None and clock.due > now:
            times.append(clock.due)
    if incident.state == "open":
        tiers = config.tiers_for(incident.level)  # escalation.due_tiers
        chain = tiers[:1] if incident.suppressed == "flapping" else tiers
        times.extend(
            incident.active_since + tier.after
            for index, tier in enumerate(chain)
            if index >= incident.tier
        )
        interval = config.repeat_for(incident.level)  # escalation.reminder_due
        if not incident.suppressed and interval > 0 and incident.last_notified_at is not None:
            times.append(incident.last_notified_at + interval)
    return min(times, default=None)


def next_look(
    incidents: Iterable[Incident],
    outbox_due: float | None,
    config: AlertingConfig,
    now: float,
) -> float:
    """When the tick must next read the store, after a look at `now` that read `incidents`
    (the active ones it runs the clocks of) and found the earliest pending notification due
    at `outbox_due`."""
    wake = now + STORE_LOOK_SECONDS
    if outbox_due is not None:
        wake = min(wake, outbox_due)
    for incident in incidents:
        due = incident_wake(incident, config, now)
        if due is not None:
            wake = min(wake, due)
    return wake


class Looks:
    """When a reader of the store (the tick's clocks and outbox, the recheck of hand-resolved
    incidents) reads it next: at its planned time, at once after this process wrote to the
    store (`TicketStore.changes` moved) or the shards it holds changed, and whenever the wall
    clock went back (a look planned in its future must not wait for it)."""

    def __init__(self) -> None:
        self.last: float | None = None  # when the last look that went through was
        self.next = float("-inf")
        self._changes = -1
        self._key: object = None

    def due(self, now: float, changes: int, key: object = None) -> bool:
        return (
            self.last is None
            or now >= self.next
            or now < self.last
            or changes != self._changes
            or key != self._key
        )

    def looked(self, now: float, changes: int, next_at: float, key: object = None) -> None:
        """A look at `now` went through; `changes` is the store's count from before it read
        (so what the look wrote itself makes the next tick look again, at the new state)."""
        self.last, self.next, self._changes, self._key = now, next_at, changes, key

    def soon(self) -> None:
        """Look at the next chance (the configuration changed: other clocks, other times)."""
        self.next = float("-inf")
