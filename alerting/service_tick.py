"""The alert service's clock: the part of `AlertService` (alerting/service.py) that runs
about every second. It reads the store only when something can be due (alerting/clockplan.py),
runs the clocks (escalation, reminders, SLA), starts a delivery round of the outbox as its
own task and waits for it only so long, closes the channels a reload retired, and keeps the
incident counts for /metrics. A mixin of `AlertService`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from alerting import clockplan
from alerting.chat.listeners import Listeners
from alerting.chat.redraw import Redrawer
from alerting.config import AlertingConfig
from alerting.dispatch import Dispatcher
from alerting.notifiers.base import Notifier
from alerting.outbox import Outbox
from alerting.store import ActiveState, Incident, StoreError, TicketStore

log = logging.getLogger("roomwatch.alerting")


class Ticking:
    # what it uses of the service (set by AlertService.__init__)
    config: AlertingConfig
    store: TicketStore
    clock: Callable[[], float]
    dispatch: Dispatcher
    outbox: Outbox
    shards: Callable[[], list[str]] | None
    delivery_budget: float | None
    redrawer: Redrawer
    _listeners: Listeners
    _retired: list[Notifier]
    _counts: dict[str, int]
    _delivery: asyncio.Task[int] | None
    _acks_seen: set[tuple[int, float]] | None
    _looks: clockplan.Looks
    _rechecks: clockplan.Looks

    async def tick(self) -> int:
        """Run the clocks, then deliver what is due. Returns messages sent.

        Called every second, it reads the store only when something can be due
        (alerting/clockplan.py): a clock or a queued notification planned for now, a write
        through this process's store since the last look, the shards held changing, or
        STORE_LOOK_SECONDS since the last look (for what other writers did)."""
        self._listeners.keep_running()
        now = self.clock()
        shards = self.shards() if self.shards else None
        changes = self.store.changes
        if not self._looks.due(now, changes, shards):
            return 0
        async with self.store.transaction():
            incidents_read = await self.dispatch.run_clocks(now, shards)
        self._counts, outbox_due = await self.store.outbox_summary()
        sent = await self._deliver(now, outbox_due)
        if self._delivery is not None and self._delivery.done():
            # a round ran: the figures after it, and the next due (a retry's backoff)
            self._counts, outbox_due = await self.store.outbox_summary()
        # one box holds every shard: the clocks' read has every open incident already
        states = incidents_read if shards is None else await self.store.active_states()
        self._count_incidents(states)
        wake = clockplan.next_look(incidents_read, outbox_due, self.config, now)
        self._looks.looked(now, changes, wake, shards)
        self._rechecks.soon()  # the daemon's recheck follows: one read of the store per look
        return sent

    async def _deliver(self, now: float, outbox_due: float | None) -> int:
        """Start a delivery round when a notification is due at `now` (or one sent while the
        store was away waits to be recorded) and none is running; wait for it a while."""
        if self._delivery is not None:
            if not self._delivery.done():
                return 0  # still sending; a later look starts another round once it is done
            self._finished_delivery(self._delivery)
            self._delivery = None
        await self._close_retired()  # no round runs: the channels a reload replaced can go
        if not self.outbox.unrecorded and (outbox_due is None or outbox_due > now):
            return 0
        # a channel that hangs (a blackholed SMTP server) must not hold up the daemon's tick:
        # delivery runs as its own task, and a tick waits for it only so long
        self._delivery = task = asyncio.create_task(self.outbox.deliver(now), name="alert-outbox")
        try:
            if self.delivery_budget is None:
                return await asyncio.shield(task)
            return await asyncio.wait_for(asyncio.shield(task), self.delivery_budget)
        except TimeoutError:
            return 0  # still sending
        except Exception:
            if task.done():
                # the round failed while this tick waited: its error goes up to the tick's
                # caller, which reports it (the daemon's tick); kept here, the next look's
                # _finished_delivery would report the same failure a second time
                self._delivery = None
            raise

    @staticmethod
    def _finished_delivery(task: asyncio.Task[int]) -> None:
        """A delivery that ended after its tick stopped waiting: say how it failed, if it did
        (its rows stay pending and go out with the next round)."""
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, StoreError):
            log.warning("alert delivery stopped: %s", error)
        elif error is not None:
            log.error("alert delivery failed", exc_info=error)

    def _count_incidents(self, active: Sequence[Incident | ActiveState]) -> None:
        """The open and acknowledged incidents for /metrics, from a look's read of them."""
        self._log_outside_acks(active)
        self._counts["incidents_open"] = sum(1 for i in active if i.state == "open")
        self._counts["incidents_acknowledged"] = sum(1 for i in active if i.state == "acknowledged")

    def _log_outside_acks(self, active: Sequence[Incident | ActiveState]) -> None:
        """Acknowledgements made outside this daemon (the CLI writes the store directly, or a
        peer collector's API) are logged when the daemon first sees them, so the journal tells
        the whole story of an incident. The first look only learns what is already there."""
        acked = {
            (i.id, i.acknowledged_at): i
            for i in active
            if i.state == "acknowledged" and i.acknowledged_at is not None
        }
        if self._acks_seen is not None:
            for key, incident in acked.items():
                if key not in self._acks_seen:
                    log.info(
                        "incident %s acknowledged by %s (outside this daemon: the CLI, or"
                        " another collector)",
                        incident.id,
                        incident.acknowledged_by,
                    )
                    self.redrawer.after_action(incident.id)
        self._acks_seen = set(acked)

    async def _close_retired(self) -> None:
        retired, self._retired = self._retired, []
        for notifier in retired:
            await notifier.close()
