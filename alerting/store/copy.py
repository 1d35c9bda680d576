"""Moving a desk from one store to another (`roomwatch store copy`): SQLite to PostgreSQL when a
one-room install grows.

Every table of the ticket store is copied with its ids, in id order (so the audit log keeps
its order and every reference still points at the same row), in one transaction on the
target: an interrupted copy leaves nothing behind, and running it again adds nothing (rows
already there are skipped by id or key). Afterwards the row counts of both sides must agree;
a target that holds rows of another desk is refused and rolled back. Leases and heartbeats are
the running collectors' state, not the desk's, and are not copied; the outbox's sent tally is
kept by the target's triggers as the outbox rows arrive."""

from __future__ import annotations

from dataclasses import dataclass

from alerting.store.interface import TicketStore
from alerting.store.model import StoreError

#: table → how its rows are ordered and identified. Parents before children.
TABLES: tuple[tuple[str, str], ...] = (
    ("problems", "id"),
    ("incidents", "id"),
    ("audit", "id"),
    ("notes", "id"),
    ("breaches", "incident_id, occurrence, clock, level"),
    ("occurrences", "incident_id, n"),
    ("outbox", "id"),
    ("sent_log", "id"),
    ("desk_mail", "message_id"),
    ("surveys", "incident_id, occurrence"),
    ("kb_entries", "id"),
)

#: the running collectors' state, not the desk's: not copied
RUNTIME_TABLES = ("leases", "collectors", "shard_state")

#: kept by the target's own triggers as the rows above arrive: not copied
DERIVED_TABLES = ("outbox_tally",)


class CopyError(StoreError):
    pass


@dataclass(frozen=True)
class CopyResult:
    table: str
    source: int
    added: int
    target: int


async def copy_store(source: TicketStore, target: TicketStore) -> list[CopyResult]:
    from alerting.store.sql import SqlStore

    if not isinstance(source, SqlStore) or not isinstance(target, SqlStore):
        raise CopyError("both stores must be roomwatch ticket stores")
    if await source.schema_version() != await target.schema_version():
        raise CopyError(
            f"the stores are at schema versions {await source.schema_version()} and"
            f" {await target.schema_version()}: run `roomwatch store migrate` on the older first"
        )
    results = []
    async with target.transaction():
        for table, order in TABLES:
            rows = [dict(r) async for r in source.rows(table, order)]
            added = 0
            for row in rows:
                added += await target.insert_copied(table, row)
            await target.reset_ids(table)
            total = await target.count(table)
            if total != len(rows):
                raise CopyError(
                    f"{table}: the target holds {total} rows after the copy, the source"
                    f" {len(rows)}: it has rows of another desk (copy into an empty database,"
                    " or one copied from this store before); nothing was copied"
                )
            results.append(CopyResult(table, len(rows), added, total))
    return results
