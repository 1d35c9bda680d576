"""What the card code needs of the alert service, as a protocol (the service imports the card
code, so the card code must not import the service)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from alerting.chat.replay import ReplayGuard
from alerting.config import AlertingConfig
from alerting.dispatch import Dispatcher
from alerting.notifiers.base import Notifier
from alerting.outbox import Outbox
from alerting.store import Incident, TicketStore


class CardDesk(Protocol):
    clock: Callable[[], float]
    config: AlertingConfig
    store: TicketStore
    dispatch: Dispatcher
    outbox: Outbox
    notifiers: dict[str, Notifier]
    chat_guards: dict[str, ReplayGuard]

    async def ack(self, incident_id: int, by: str, note: str | None = None) -> Incident: ...
    async def arrive(self, incident_id: int, by: str) -> Incident: ...
    async def resolve(self, incident_id: int, by: str, note: str | None = None) -> Incident: ...
