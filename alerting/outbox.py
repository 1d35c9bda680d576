"""The durable outbox: delivery of queued notifications with grouping, retry and backoff.

Notifications are rows in the ticket store, written in the same transaction as the incident
change that caused them. `deliver(now)` sends what is due, one message per group and channel,
and marks rows sent (writing the notification log) only after the channel accepted them. A
dead channel leaves its rows pending with a growing backoff; nothing is lost across a restart,
and a row marked sent is never sent again. Failures are logged once when a channel starts
failing and once when it recovers.

A message a channel accepted while the ticket store went away (PostgreSQL stopped between the
send and its record) is remembered as sent in this process and recorded when the store is
back, before anything else is sent: without that it would still be pending there and go out a
second time. Only a crash during such an outage can repeat it (DESIGN §10: the one message in
flight at a crash)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from alerting.compose import compose
from alerting.config import AlertingConfig
from alerting.messages import Message
from alerting.notifiers.base import DeliveryError, Notifier
from alerting.pipeline.group import buckets
from alerting.pipeline.record import record_sent
from alerting.pipeline.retry import decide
from alerting.store import OutboxItem, StoreError, TicketStore

log = logging.getLogger("roomwatch.alerting")


@dataclass
class OutboxStats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    messages: int = 0
    failing: set[str] = field(default_factory=set)


class Outbox:
    def __init__(
        self,
        store: TicketStore,
        notifiers: Mapping[str, Notifier],
        config: AlertingConfig,
        tz: Callable[[], dt.tzinfo | None],
    ) -> None:
        self.store = store
        self.notifiers = dict(notifiers)
        self.config = config
        self._tz = tz
        self.stats = OutboxStats()
        # accepted by their channel, not yet recorded in the store (it was away): never resent
        self._unrecorded: list[tuple[list[OutboxItem], float]] = []

    @property
    def unrecorded(self) -> bool:
        """Messages a channel took while the store was away wait to be recorded."""
        return bool(self._unrecorded)

    def language_of(self, notifier: str) -> str:
        try:
            entry = self.config.notifier(notifier)
        except KeyError:
            return self.config.language
        return entry.language or self.config.language

    def render(self, items: list[OutboxItem], now: float) -> Message:
        # several steps of one incident in one group (opened, then up a level): tell the latest
        latest: dict[object, OutboxItem] = {}
        for item in sorted(items, key=lambda i: i.id):
            latest[item.incident_id if item.incident_id is not None else f"#{item.id}"] = item
        return compose(
            [i.payload for i in latest.values()],
            self.language_of(items[0].notifier),
            now=now,
            tz=self._tz(),
            max_items=self.config.group.max_items,
            recipients=items[0].recipients,
        )

    async def deliver(self, now: float, time_budget: float | None = None) -> int:
        """Send what is due at `now`. Returns the number of messages sent. Channels are served
        concurrently, so one slow or dead channel does not hold up the others."""
        horizon = now + self.config.group.wait
        if self._unrecorded:
            await self._record_unrecorded()  # StoreError while still away: nothing is sent
        async with self.store.consistent():
            pending = await self.store.due_outbox(horizon, self.config.retry.batch * 20)
        by_notifier: dict[str, list[list[OutboxItem]]] = {}
        for bucket in buckets(pending, now, self.config.group.max_items):
            by_notifier.setdefault(bucket[0].notifier, []).append(bucket)
        if not by_notifier:
            return 0
        jobs = [self._deliver_channel(name, groups, now) for name, groups in by_notifier.items()]
        if time_budget is None:
            results = await asyncio.gather(*jobs)
        else:
            results = await asyncio.wait_for(asyncio.gather(*jobs), time_budget)
        return sum(results)

    async def _deliver_channel(self, name: str, groups: list[list[OutboxItem]], now: float) -> int:
        notifier = self.notifiers.get(name)
        sent = 0
        for items in groups[: self.config.retry.batch]:
            if notifier is None:
                await self._fail(items, f"no channel named {name!r} in the configuration", now)
                continue
            try:
                message = self.render(items, now)
                await asyncio.wait_for(notifier.send(message), notifier.config.timeout + 5)
            except DeliveryError as exc:
                await self._failed_send(name, items, exc, now)
                if exc.retryable:
                    break  # the channel is down: do not try the rest of its queue now
                continue
            except TimeoutError:
                await self._failed_send(
                    name, items, DeliveryError(f"{name}: send timed out", retryable=True), now
                )
                break
            try:
                await record_sent(self.store, items, now)
            except StoreError as exc:
                # sent, but the store is away: remember it, so it is recorded, not resent
                self._unrecorded.append((items, now))
                log.warning(
                    "alert notification(s) %s to %s sent, but the ticket store did not take"
                    " the record (%s); recorded when it is back, never sent twice",
                    ",".join(str(i.id) for i in items),
                    name,
                    exc,
                )
                sent += 1
                self.stats.messages += 1
                self.stats.sent += len(items)
                break  # the store is away: the rest of this channel's queue waits for it
            sent += 1
            self.stats.messages += 1
            self.stats.sent += len(items)
            if name in self.stats.failing:
                self.stats.failing.discard(name)
                log.info("alert channel %s recovered; delivering its queue", name)
        return sent

    async def _record_unrecorded(self) -> None:
        while self._unrecorded:
            items, when = self._unrecorded[0]
            await record_sent(self.store, items, when)
            self._unrecorded.pop(0)
            log.info(
                "alert notification(s) %s sent during the store's absence are recorded now",
                ",".join(str(i.id) for i in items),
            )

    async def _failed_send(
        self, name: str, items: list[OutboxItem], exc: DeliveryError, now: float
    ) -> None:
        if name not in self.stats.failing:
            self.stats.failing.add(name)
            log.warning(
                "alert channel %s failing (%s): %s",
                name,
                "will retry" if exc.retryable else "not retryable",
                exc,
            )
        oldest = min(i.created for i in items)
        attempts = max(i.attempts for i in items) + 1
        decision = decide(exc.retryable, attempts, oldest, now, self.config.retry)
        if decision.retry:
            self.stats.retried += len(items)
            async with self.store.transaction():
                await self.store.mark_retry(items, str(exc), decision.due)
        else:
            await self._fail(items, str(exc), now)

    async def _fail(self, items: list[OutboxItem], error: str, now: float) -> None:
        self.stats.failed += len(items)
        log.error(
            "alert notification(s) %s to %s given up: %s",
            ",".join(str(i.id) for i in items),
            items[0].notifier,
            error,
        )
        async with self.store.transaction():
            await self.store.mark_failed(items, error)
