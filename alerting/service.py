"""AlertService: what the daemon talks to. Fault events in, incidents and notifications out.

    service = await AlertService.open(config, store_url, inventory, credentials, clock)
    await service.handle(faults)   # after each rule evaluation
    await service.tick()           # about every second: outbox, escalation, reminders, SLA
    service.reload(config, inventory)
    await service.close()

`handle` records every fault event in the ticket store and queues the notifications it causes
in the same transaction; `tick` delivers the outbox and runs the clocks. Time comes only from
the injected `clock`.

This module is the one front door of alerting for the daemon, the CLI, the API and the chat
platforms' callbacks: building the service and its channels, what people do to incidents,
reload, close and the figures for /metrics. Two parts of the class live beside it as
mixins: faults in and the recheck (`service_faults.py`), the tick and its delivery rounds
(`service_tick.py`). Each method hands its work to the module that does it (incidents,
dispatch, outbox, alerting/chat)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
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
from alerting.incidents import IncidentError
from alerting.notifiers import build_notifier
from alerting.notifiers.base import Notifier
from alerting.notifiers.sms import SmsNotifier
from alerting.outbox import Outbox
from alerting.service_faults import CONFLICT_RETRIES, FaultIntake
from alerting.service_tick import Ticking
from alerting.store import Incident, TicketStore, is_postgres_url, open_store, sqlite_path
from core.i18n import t
from inventory.credentials import Credentials
from inventory.model import Inventory

log = logging.getLogger("roomwatch.alerting")

__all__ = ["CONFLICT_RETRIES", "DESK_SHARD", "AlertService", "build_notifiers"]

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


class AlertService(FaultIntake, Ticking):
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
