"""What every `roomwatch incidents …` action gets: the store, the alerting section, a
dispatcher for the notices it queues, and the clock; plus the time format they print."""

from __future__ import annotations

import argparse
import re
from collections.abc import Awaitable, Callable

from alerting.config import AlertingConfig
from alerting.dispatch import Dispatcher
from alerting.store import Incident, NotFound, TicketStore
from collector.clock import SystemClock
from core.timefmt import iso_time
from inventory.credentials import Credentials
from inventory.model import Inventory


class IncidentContext:
    def __init__(
        self,
        store: TicketStore,
        alerting: AlertingConfig,
        inventory: Inventory,
        credentials: Credentials,
    ) -> None:
        self.store = store
        self.alerting = alerting
        self.clock = SystemClock().now
        self.dispatch = Dispatcher(store, alerting, inventory, credentials, self.clock)


Action = Callable[[argparse.Namespace, IncidentContext], Awaitable[int]]


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return iso_time(ts)


_REF = re.compile(r"^(\d+|[A-Za-z][A-Za-z0-9]{0,9}-\d{4}-\d{6,})$")


def incident_ref(text: str) -> str:
    """argparse type: an incident id (12) or a ticket number (RW-2026-000012)."""
    if not _REF.match(text.strip()):
        raise argparse.ArgumentTypeError(
            f"not an incident id or ticket number: {text!r} (write 12 or RW-2026-000012)"
        )
    return text.strip()


async def find_incident(store: TicketStore, ident: str | int) -> Incident:
    """An incident by its id or its ticket number. Raises NotFound."""
    text = str(ident).strip()
    if text.isdigit():
        return await store.get(int(text))
    found = await store.find_ticket(text.upper())
    if found is None:
        raise NotFound(f"no incident or ticket {text!r}")
    return found
