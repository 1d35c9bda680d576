"""AlertService: what the daemon talks to. Fault events in, incidents and notifications out.

    service = await AlertService.open(config, store_url, inventory, credentials, clock)
    await service.handle(faults)   # after each rule evaluation
    await service.tick()           # about every second: outbox, escalation, reminders, SLA
    service.reload(config, inventory)
    await service.close()

`handle` records every fault event in the ticket store and queues the notifications it causes
in the same transaction; `tick` delivers the outbox and runs the clocks. Time comes only from
the injected `clock`.

Longer than our ~400 lines because it is the one front door of alerting for the daemon, the
CLI, the API and the chat platforms' callbacks; each method hands its work to the module that
does it (incidents, dispatch, outbox, alerting/chat)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from alerting import acklink, clockplan, desk, incidents
from alerting.chat import callbacks
from alerting.chat.channel import Inbound, Reply
from alerting.chat.listeners import Listeners
from alerting.chat.redraw import Redrawer
from alerting.chat.replay import ReplayGuard
from alerting.config import AlertingConfig
from alerting.dispatch import Dispatcher
from alerting.duty import OnDuty
from alerting.incidents import Change, IncidentError
from alerting.notifiers import build_notifier
from alerting.notifiers.base import Notifier
from alerting.notifiers.sms import SmsNotifier
from alerting.outbox import Outbox
from alerting.pipeline.dedup import dedup_key
from alerting.store import (
    ActiveState,
    Conflict,
    Incident,
    StoreError,
    TicketStore,
    is_postgres_url,
    open_store,
    sqlite_path,
)
from core.i18n import t
from inventory.credentials import Credentials
from inventory.model import Inventory
from rules.fault import Fault

log = logging.getLogger("roomwatch.alerting")

CONFLICT_RETRIES = 3
DESK_SHARD = "*"  # a ticket about no device: the desk lease's holder runs its clocks


def build_notifiers(
    config: AlertingConfig, credentials: Credentials, state_dir: Path
) -> dict[str, Notifier]:
    """One notifier per configured channel. Raises ValueError naming the channel when its
    credentials entry is missing or incomplete (never showing a value)."""
    out: dict[str, Notifier] = {}
    for entry in config.notifiers:
        secrets: dict[str, str] = {}
        if entry.credentials:
            try:
                secrets = credentials.entry(entry.credentials)
            except KeyError as exc:
                raise ValueError(f"notifier {entry.id!r}: {exc.args[0]}") from None
        out[entry.id] = build_notifier(entry, secrets, state_dir)
    return out


class AlertService:
    def __init__(
        self,
        config: AlertingConfig,
        store: TicketStore,
        inventory: Inventory,
        credentials: Credentials,
        clock: Callable[[], float],
        state_dir: Path,
    ) -> None:
        self.config = config
        self.store = store
        self.inventory = inventory
        self.credentials = credentials
        self.clock = clock
        self.state_dir = state_dir
        self.notifiers = build_notifiers(config, credentials, state_dir)
        self.dispatch = Dispatcher(store, config, inventory, credentials, clock)
        self.outbox = Outbox(store, self.notifiers, config, self.dispatch.tz)
        self._retired: list[Notifier] = []
        self._counts: dict[str, int] = {}
        self._delivery: asyncio.Task[int] | None = None
        #: seconds a tick waits for the outbox delivery it started (None: until it is done)
        self.delivery_budget: float | None = 2.0
        self.faults_handled = 0
        #: the desk mailbox's figures for /metrics, when one is polled (collector/deskmail.py)
        self.mail_stats: Callable[[], dict[str, float]] | None = None
        #: the shards this collector holds when several share the store (None: all of them)
        self.shards: Callable[[], list[str]] | None = None
        #: per card channel, the nonces of callbacks taken (alerting/chat/replay.py)
        self.chat_guards: dict[str, ReplayGuard] = {}
        self._listeners = Listeners(self)
        self.redrawer = Redrawer(self)  # cards showing an incident acted on elsewhere
        self._acks_seen: set[tuple[int, float]] | None = None  # (id, acknowledged_at)
        # when the tick and the recheck next read the store (alerting/clockplan.py)
        self._looks = clockplan.Looks()
        self._rechecks = clockplan.Looks()

    @classmethod
    async def open(
        cls,
        config: AlertingConfig,
        store_url: str,
        inventory: Inventory,
        credentials: Credentials,
        clock: Callable[[], float],
        *,
        state_dir: Path | None = None,
        password: str | None = None,
        collector: str | None = None,
    ) -> AlertService:
        """Open the store and build the channels. `state_dir` anchors relative `file`
        channel paths (default: a SQLite store's directory, else the working directory)."""
        if state_dir is None:
            path = ":memory:" if is_postgres_url(store_url) else sqlite_path(store_url)
            state_dir = Path(path).parent if path != ":memory:" else Path.cwd()
        store = await open_store(store_url, password=password, collector=collector)
        try:
            return cls(config, store, inventory, credentials, clock, state_dir)
        except BaseException:
            await store.close()
            raise

    # ------------------------------------------------------------ faults in

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

    # ------------------------------------------------------------ the clock

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
        self._delivery = asyncio.create_task(self.outbox.deliver(now), name="alert-outbox")
        try:
            if self.delivery_budget is None:
                return await asyncio.shield(self._delivery)
            return await asyncio.wait_for(asyncio.shield(self._delivery), self.delivery_budget)
        except TimeoutError:
            return 0  # still sending

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

    # ------------------------------------------------------------ people

    async def ack(self, incident_id: int, by: str, note: str | None = None) -> Incident:
        now = self.clock()
        async with self.store.transaction():
            incident = await incidents.acknowledge(self.store, incident_id, by, now, note)
            await self.dispatch.check_sla(incident, now)
        log.info("incident %s acknowledged by %s", incident_id, by)
        if self._acks_seen is not None and incident.acknowledged_at is not None:
            self._acks_seen.add((incident.id, incident.acknowledged_at))  # logged just now
        self.redrawer.after_action(incident.id)
        return incident

    async def ack_link(
        self, incident_id: int, expires: str, sig: str, by: str, note: str | None = None
    ) -> Incident:
        """Acknowledge from a signed link. Raises IncidentError on a bad or expired link."""
        link = self.config.ack_link
        secret = None
        if link.credentials:
            try:
                secret = self.credentials.entry(link.credentials).get("secret")
            except KeyError:
                secret = None
        if not secret or not acklink.verify(secret, incident_id, expires, sig, self.clock()):
            raise IncidentError("this acknowledge link is not valid or has expired")
        return await self.ack(incident_id, by, note)

    async def resolve(self, incident_id: int, by: str, note: str | None = None) -> Incident:
        now = self.clock()
        async with self.store.transaction():
            incident = await incidents.resolve(self.store, incident_id, by, now, note)
            await self.dispatch.check_sla(incident, now)
            await self.dispatch.recovered(incident, now, by)
        self.redrawer.after_action(incident.id)
        return incident

    async def accept(self, incident_id: int, by: str, until: float, reason: str) -> Incident:
        now = self.clock()
        async with self.store.transaction():
            incident = await desk.accept(self.store, incident_id, by, until, now, reason)
            await self.dispatch.check_sla(incident, now)
            await self.dispatch.recovered(incident, now, by)
        return incident

    async def open_ticket(self, by: str, **fields: Any) -> Incident:
        """A ticket a person reported: numbered, escalated and reported like any incident."""
        now = self.clock()
        async with self.store.transaction():
            device = fields.get("device")
            change = await desk.open_ticket(
                self.store,
                by=by,
                now=now,
                shard=self.inventory.shard_of(device) if device else DESK_SHARD,
                prefix=self.config.desk.ticket_prefix,
                year=self._year(now),
                **fields,
            )
            await self.dispatch.after_change(change, now)
        log.info("ticket %s opened by %s", change.incident.ticket, by)
        return await self.store.get(change.incident.id)

    async def arrive(self, incident_id: int, by: str) -> Incident:
        now = self.clock()
        async with self.store.transaction():
            incident = await incidents.arrive(self.store, incident_id, by, now)
            await self.dispatch.check_sla(incident, now)
        self.redrawer.after_action(incident.id)
        return incident

    def on_duty(self) -> OnDuty:
        return self.dispatch.on_duty()

    # ------------------------------------------------------------ chat cards

    async def chat_callback(self, channel: str, inbound: Inbound) -> Reply:
        """A platform's callback to card channel `channel` (a button clicked): verified,
        acted on, answered (alerting/chat/callbacks.py)."""
        return await callbacks.handle(self, channel, inbound)

    async def ack_code(self, code: str, by: str) -> Incident:
        """Acknowledge with the short code of an SMS (typed in on the console). Raises
        IncidentError when no SMS channel made that code."""
        for notifier in self.notifiers.values():
            if isinstance(notifier, SmsNotifier):
                number = notifier.incident_of_code(code)
                if number is not None:
                    return await self.ack(
                        number, by, t("message.card.note", self.config.language, platform="SMS")
                    )
        raise IncidentError(f"{code.strip()[:20]!r} is not a valid acknowledge code")

    # ------------------------------------------------------------ lifecycle

    def reload(self, config: AlertingConfig, inventory: Inventory) -> None:
        """Swap in a new config and inventory. Raises ValueError (and keeps the old ones)
        when a channel cannot be built."""
        notifiers = build_notifiers(config, self.credentials, self.state_dir)
        self._retired.extend(self.notifiers.values())
        self.config = config
        self.inventory = inventory
        self.notifiers = notifiers
        self.dispatch = Dispatcher(self.store, config, inventory, self.credentials, self.clock)
        self._listeners.drop()  # the next tick connects the new channels
        stats = self.outbox.stats
        self.outbox = Outbox(self.store, notifiers, config, self.dispatch.tz)
        self.outbox.stats = stats
        self._looks.soon()  # other tiers, reminders, SLA targets: plan them again

    async def _close_retired(self) -> None:
        retired, self._retired = self._retired, []
        for notifier in retired:
            await notifier.close()

    async def close(self, flush_seconds: float = 5.0) -> None:
        """Send what is due if that is quick, then close channels and the store."""
        await self._listeners.stop()
        await self.redrawer.wait()
        try:
            if self._delivery is not None and not self._delivery.done():
                await asyncio.wait_for(self._delivery, flush_seconds)
            await self.outbox.deliver(self.clock(), time_budget=flush_seconds)
        except TimeoutError:
            log.warning("alert outbox not fully flushed at shutdown; it is kept for next start")
        finally:
            await self._close_retired()
            for notifier in self.notifiers.values():
                await notifier.close()
            await self.store.close()

    def stats(self) -> dict[str, float]:
        """Figures for /metrics (store counts as of the tick's last look at the store: while it
        answers, at most STORE_LOOK_SECONDS old, and fresh at the tick after this process
        wrote to it)."""
        counts = self._counts
        return {
            "alert_outbox_pending": float(counts.get("pending", 0)),
            "alert_outbox_failed": float(counts.get("failed", 0)),
            "alert_outbox_sent_total": float(counts.get("sent", 0)),
            "alert_messages_sent": float(self.outbox.stats.messages),
            "alert_notifications_sent": float(self.outbox.stats.sent),
            "alert_notifications_failed": float(self.outbox.stats.failed),
            "alert_notifications_retried": float(self.outbox.stats.retried),
            "alert_channels_failing": float(len(self.outbox.stats.failing)),
            "incidents_open": float(counts.get("incidents_open", 0)),
            "incidents_acknowledged": float(counts.get("incidents_acknowledged", 0)),
            "faults_handled": float(self.faults_handled),
            **(self.mail_stats() if self.mail_stats else {}),
        }
