"""Record: the notification log is written only after a channel accepted a message, in the
same transaction that marks its outbox rows sent, so a restart never sends them again."""

from __future__ import annotations

from collections.abc import Sequence

from alerting.store import OutboxItem, TicketStore


async def record_sent(store: TicketStore, items: Sequence[OutboxItem], now: float) -> None:
    async with store.transaction():
        await store.mark_sent(items, now)
