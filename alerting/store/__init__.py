"""The ticket store: incidents, their audit log, notes, SLA breaches, problems and the outbox.

    store = await open_store(url)            # sqlite:///… (one box) or postgresql://… (a desk)
    async with store.transaction():
        …

Every write happens inside `transaction()`, so an incident change, its audit entries and the
notifications it causes land together or not at all. `TicketStore` (interface.py) is what the
rest of roomwatch may use; sql.py holds the queries both backends share."""

from __future__ import annotations

from pathlib import Path

from alerting.store.desk_sql import MailRecord, Survey
from alerting.store.interface import TicketStore
from alerting.store.kb_sql import KbEntry
from alerting.store.model import (
    ACTIVE_STATES,
    INCIDENT_COLUMNS,
    QUIET_SUPPRESSIONS,
    STATES,
    ActiveState,
    AuditEntry,
    Breach,
    Conflict,
    Fenced,
    Incident,
    Note,
    NotFound,
    Occurrence,
    OutboxItem,
    Problem,
    SchemaTooOld,
    StoreError,
    Unavailable,
)
from alerting.store.sqlite import SqliteStore, sqlite_path
from alerting.store.urls import check_url, is_postgres_url

__all__ = [
    "ACTIVE_STATES",
    "INCIDENT_COLUMNS",
    "QUIET_SUPPRESSIONS",
    "STATES",
    "ActiveState",
    "AuditEntry",
    "Breach",
    "Conflict",
    "Fenced",
    "Incident",
    "KbEntry",
    "MailRecord",
    "NotFound",
    "Note",
    "Occurrence",
    "OutboxItem",
    "Problem",
    "SchemaTooOld",
    "StoreError",
    "Survey",
    "TicketStore",
    "Unavailable",
    "check_url",
    "is_postgres_url",
    "open_store",
    "sqlite_path",
    "store_exists",
]


async def open_store(
    url: str,
    *,
    password: str | None = None,
    upgrade: bool = False,
    collector: str | None = None,
) -> TicketStore:
    """Open the store at `url`. A new, empty database gets the current schema; an older one
    raises SchemaTooOld naming `roomwatch store migrate` unless `upgrade` is set."""
    store: TicketStore
    if is_postgres_url(url):
        from alerting.store.postgres import PostgresStore  # psycopg only when used

        store = await PostgresStore.open(
            url, password=password, upgrade=upgrade, application=f"roomwatch {collector or ''}"
        )
    else:
        store = await SqliteStore.open(url, upgrade=upgrade)
    store.collector = collector
    return store


def store_exists(url: str) -> bool:
    """Whether opening `url` finds a store rather than creating one (a mistyped SQLite path
    would otherwise become a new empty store). A server's database always counts."""
    if is_postgres_url(url):
        return True
    path = sqlite_path(url)
    return path == ":memory:" or Path(path).exists()
