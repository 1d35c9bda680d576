"""Faults in: the part of `AlertService` (alerting/service.py) that records fault events in
the ticket store with the notifications they cause, one transaction per batch (done again
when it raced another collector's), and looks again at incidents resolved by hand. A mixin
of `AlertService`; the lifecycle itself is `alerting/incidents.py` and `alerting/desk.py`."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence

from alerting import clockplan, desk, incidents
from alerting.config import AlertingConfig
from alerting.dispatch import Dispatcher
from alerting.incidents import Change
from alerting.pipeline.dedup import dedup_key
from alerting.store import Conflict, Incident, TicketStore
from inventory.model import Inventory
from rules.fault import Fault

log = logging.getLogger("roomwatch.alerting")

CONFLICT_RETRIES = 3


class FaultIntake:
    # what it uses of the service (set by AlertService.__init__)
    config: AlertingConfig
    store: TicketStore
    inventory: Inventory
    clock: Callable[[], float]
    dispatch: Dispatcher
    faults_handled: int
    shards: Callable[[], list[str]] | None
    _rechecks: clockplan.Looks

    async def handle(
        self,
        faults: Sequence[Fault],
        shard: str | None = None,
        already_told: Collection[str] = (),
    ) -> list[Change]:
        """Record fault events and queue what they cause, atomically. Returns the changes.
        Each incident belongs to its device's shard (or to `shard` when given). The keys in
        `already_told` had their first message sent while the store was away (fallback.py):
        that message is recorded as sent instead of being sent again."""
        if not faults:
            return []
        now = self.clock()
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                changes = await self._record(faults, now, shard, already_told)
                break
            except Conflict:
                # another collector recorded the same fault first (its incident won the
                # database's one-open-incident-per-key index): the whole batch was rolled
                # back; done again, it updates that incident instead of opening a second
                if attempt == CONFLICT_RETRIES:
                    raise
                log.info("fault batch raced another collector's; recording it again")
        self.faults_handled += len(faults)
        for change in changes:
            if change.kind in ("opened", "reopened", "resolved", "level"):
                i = change.incident
                log.info(
                    "incident %s %s: level %s %s%s",
                    i.id,
                    change.kind,
                    i.level,
                    i.key,
                    f" (suppressed: {i.suppressed})" if i.suppressed else "",
                )
        return changes

    async def _record(
        self,
        faults: Sequence[Fault],
        now: float,
        shard: str | None,
        already_told: Collection[str],
    ) -> list[Change]:
        changes: list[Change] = []
        async with self.store.transaction():
            for fault in faults:
                change = await incidents.apply_fault(
                    self.store,
                    fault,
                    now,
                    self.config.reopen_window,
                    shard or self.inventory.shard_of(fault.device),
                    prefix=self.config.desk.ticket_prefix,
                    year=self._year(now),
                )
                if change is None:
                    continue
                await self.dispatch.after_change(change, now)
                if change.kind in ("opened", "reopened") and fault.key in already_told:
                    await self._told_during_outage(change.incident, now)
                changes.append(change)
        return changes

    async def _told_during_outage(self, incident: Incident, now: float) -> None:
        prefix = dedup_key(incident.id, incident.occurrences, "tier:0", "")
        first = [
            item
            for item in await self.store.outbox_items(incident.id, state="pending")
            if item.dedup.startswith(prefix)
        ]
        if first:
            await self.store.mark_sent(first, now)
        await self.store.audit(
            incident.id,
            now,
            "system",
            "told",
            {"what": "opened", "step": "tier:0", "via": "fallback while the store was away"},
        )

    def _year(self, ts: float) -> int:
        return dt.datetime.fromtimestamp(ts, self.dispatch.tz()).year

    async def recheck(self, firing: Callable[[], Sequence[Fault]]) -> list[Change]:
        """Look again at incidents resolved by hand (or accepted until now): `firing` gives
        the faults the rules find now (called only when there is something to look at).
        The store is read when this process changed it, when an acceptance ends, and at
        least every STORE_LOOK_SECONDS (a hand-resolve by the CLI or another collector)."""
        now = self.clock()
        changes = self.store.changes
        if not self._rechecks.due(now, changes):
            return []
        changed, wake = await self._recheck(firing, now)
        self._rechecks.looked(now, changes, wake)
        return changed

    async def _recheck(
        self, firing: Callable[[], Sequence[Fault]], now: float
    ) -> tuple[list[Change], float]:
        """The changes, and when to look next."""
        wake = now + clockplan.STORE_LOOK_SECONDS
        pending = await self.store.to_recheck()
        held = self.shards() if self.shards else None
        if held is not None:
            # only the shards this collector evaluates: another's rules are not ours to ask
            pending = [i for i in pending if i.shard in held]
        if not pending:
            return [], wake
        by_key = {f.key: f for f in firing() if f.firing}
        changes = []
        async with self.store.transaction():
            for incident in pending:
                if incident.accepted_until is not None and incident.accepted_until > now:
                    wake = min(wake, incident.accepted_until)  # desk.recheck waits for it
                change = await desk.recheck(
                    self.store,
                    incident,
                    by_key.get(incident.key),
                    now,
                    self.config.reopen_window,
                    incident.shard,
                    prefix=self.config.desk.ticket_prefix,
                    year=self._year(now),
                )
                if change is not None:
                    await self.dispatch.after_change(change, now)
                    changes.append(change)
                    log.info(
                        "incident %s reopened: its condition still holds after a hand-resolve",
                        change.incident.id,
                    )
        return changes, wake
