"""The shared ticket store: PostgreSQL through psycopg 3 (async) and its connection pool, for
a desk of several collectors (DESIGN §10).

    store: postgresql://roomwatch@db.example.net:5432/roomwatch?sslmode=verify-full

The password never goes in the URL (it would be logged with every connection error): it
comes from the credentials entry named by `store_credentials` (key `password`), or from
libpq's own passfile (~/.pgpass, PGPASSFILE) or environment. TLS is libpq's: `sslmode`,
`sslrootcert`, … in the URL's query.

Writes are fenced: a collector sets `fences` to the shard leases it believes it holds, and
every write transaction first locks those lease rows (FOR SHARE) and checks holder, epoch and
expiry on the database clock; one that no longer matches raises Fenced and nothing is
written. The lock also makes a takeover wait for the writes already under way, so no write of
an old holder lands after the new holder's epoch began."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from alerting.store.migrations import latest_version, migrations
from alerting.store.model import (
    Conflict,
    Fenced,
    OutboxItem,
    Row,
    SchemaTooOld,
    StoreError,
    Unavailable,
    outbox_from,
)
from alerting.store.sql import SqlStore
from alerting.store.urls import check_url, redact

Conn = AsyncConnection[DictRow]

# The pool logs every failed reconnect at WARNING: during an outage that is a line a second.
# The collector says once that the store is away and once that it is back (cluster.py).
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

#: how long a claimed outbox row stays with its sender before another may take it
CLAIM_SECONDS = 30.0
_MIGRATION_LOCK = 7_146_001  # pg_advisory_xact_lock key: one migrating collector at a time
DB_NOW = "extract(epoch from clock_timestamp())"


def _sql(query: str) -> str:
    # the shared queries use SQLite's ? placeholders; psycopg wants %s (and a literal % doubled)
    return query.replace("%", "%%").replace("?", "%s")


class PostgresStore(SqlStore):
    backend = "postgresql"

    def __init__(self, pool: AsyncConnectionPool[Conn], url: str) -> None:
        self._pool = pool
        self.url = url
        self._tx: dict[asyncio.Task[Any], Conn] = {}
        #: shard → epoch of the leases this collector holds; every write checks them
        self.fences: Callable[[], Mapping[str, int]] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        password: str | None = None,
        upgrade: bool = False,
        application: str = "roomwatch",
        max_size: int = 4,
        connect_wait: float = 10.0,
    ) -> PostgresStore:
        check_url(url)
        extra: dict[str, Any] = {"application_name": application[:63], "connect_timeout": 5}
        if password is not None:
            extra["password"] = password
        conninfo = make_conninfo(url, **extra)
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=min(connect_wait, 5.0),  # a request waits this long for a connection
            kwargs={"row_factory": dict_row, "autocommit": True},
            connection_class=AsyncConnection[DictRow],
            reconnect_timeout=60.0,
        )
        try:
            await pool.open(wait=True, timeout=connect_wait)
        except psycopg.Error as exc:
            await pool.close()
            raise Unavailable(f"cannot connect to the ticket store {redact(url)}: {exc}") from None
        store = cls(pool, url)
        try:
            await store._migrate(upgrade)
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    # ------------------------------------------------------------ schema

    async def schema_version(self) -> int:
        row = await self._one(
            "SELECT COALESCE(MAX(version), 0) AS v FROM schema_version"
            if await self._has_version_table()
            else "SELECT 0 AS v"
        )
        return int(row["v"]) if row else 0

    async def _has_version_table(self) -> bool:
        row = await self._one("SELECT to_regclass('schema_version') IS NOT NULL AS present")
        return bool(row and row["present"])

    async def _migrate(self, upgrade: bool) -> list[int]:
        newest = latest_version("postgresql")
        done: list[int] = []
        async with self._pool.connection() as conn, conn.transaction():
            # two collectors starting at once: the second waits, then finds nothing to do
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
            row = await cur.fetchone()
            current = int(row["v"]) if row else 0
            if current > newest:
                raise StoreError(
                    f"the ticket store has schema version {current}, newer than this roomwatch"
                    f" understands ({newest}); upgrade roomwatch"
                )
            if 0 < current < newest and not upgrade:
                raise SchemaTooOld(
                    f"the ticket store {redact(self.url)} has schema version {current}, this"
                    f" roomwatch needs {newest}: run `roomwatch store migrate -c FILE`"
                )
            for step in migrations("postgresql"):
                if step.version <= current:
                    continue
                await conn.execute(step.sql.encode())  # DDL only: no parameters
                await conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                    (step.version, step.name),
                )
                done.append(step.version)
        return done

    # ------------------------------------------------------------ transactions

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresStore]:
        """One transaction on one pooled connection, fenced by the leases in `fences`.
        Nested use in the same task joins it; other tasks get their own connection."""
        task = asyncio.current_task()
        assert task is not None
        if task in self._tx:
            yield self
            return
        try:
            async with self._pool.connection() as conn, conn.transaction():
                self._tx[task] = conn
                try:
                    await self._check_fences(conn)
                    yield self
                finally:
                    del self._tx[task]
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(str(exc).strip()) from exc
        except psycopg.OperationalError as exc:
            raise Unavailable(f"the ticket store is unreachable: {exc}") from exc

    @asynccontextmanager
    async def consistent(self) -> AsyncIterator[PostgresStore]:
        async with self.transaction():
            yield self

    async def _check_fences(self, conn: Conn) -> None:
        held = dict(self.fences()) if self.fences is not None else {}
        if not held:
            return
        cur = await conn.execute(
            f"SELECT shard, epoch FROM leases WHERE holder = %s AND shard = ANY(%s)"
            f" AND expires_at > {DB_NOW} FOR SHARE",
            (self.collector, list(held)),
        )
        valid = {r["shard"]: int(r["epoch"]) for r in await cur.fetchall()}
        lost = sorted(shard for shard, epoch in held.items() if valid.get(shard) != epoch)
        if lost:
            raise Fenced(
                f"collector {self.collector} no longer holds the lease of shard(s)"
                f" {', '.join(lost)}: write refused"
            )

    # ------------------------------------------------------------ primitives

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Conn]:
        task = asyncio.current_task()
        conn = self._tx.get(task) if task is not None else None
        if conn is not None:
            yield conn
            return
        try:
            async with self._pool.connection() as fresh:
                yield fresh
        except psycopg.OperationalError as exc:
            raise Unavailable(f"the ticket store is unreachable: {exc}") from exc

    async def _run(
        self, conn: Conn, sql: str, params: Sequence[Any]
    ) -> psycopg.AsyncCursor[DictRow]:
        try:
            return await conn.execute(_sql(sql).encode(), params)
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(str(exc).strip()) from exc

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._conn() as conn:
            cur = await self._run(conn, sql, params)
            return list(await cur.fetchall())

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._conn() as conn:
            cur = await self._run(conn, sql, params)
            return await cur.fetchone()

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._conn() as conn:
            cur = await self._run(conn, sql, params)
            changed = int(cur.rowcount)
        self.changes += max(0, changed)  # -1: a statement that changes no row
        return changed

    # ------------------------------------------------------------ claimed sending

    async def due_outbox(
        self, now: float, limit: int, shards: Iterable[str] | None = None
    ) -> list[OutboxItem]:
        """Claim what is due (rows of the held shards and desk-wide rows): FOR UPDATE SKIP
        LOCKED, so two senders never get the same row, and a claim lease, so the rows of a
        sender that died mid-send go to another once CLAIM_SECONDS have passed."""
        if shards is None and self.fences is not None:
            shards = list(self.fences())
        where = ["state = 'pending'", "due <= %s"]
        params: list[Any] = [now]
        if shards is not None:
            where.append("shard = ANY(%s)")
            params.append(["", *shards])
        where.append(f"(claim_until IS NULL OR claim_until < {DB_NOW} OR claimed_by = %s)")
        params.append(self.collector or "")
        sql = (
            f"UPDATE outbox SET claimed_by = %s, claim_until = {DB_NOW} + %s"
            f" WHERE id IN (SELECT id FROM outbox WHERE {' AND '.join(where)}"
            " ORDER BY due, id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *"
        )
        async with self._conn() as conn:
            cur = await conn.execute(
                sql.encode(), [self.collector or "", CLAIM_SECONDS, *params, limit]
            )
            rows = await cur.fetchall()
        return sorted((outbox_from(r) for r in rows), key=lambda i: (i.due, i.id))

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[Conn]:
        """A pooled connection outside any fence (leases, heartbeats, `store copy`)."""
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as exc:
            raise Unavailable(f"the ticket store is unreachable: {exc}") from exc

    async def reset_ids(self, table: str) -> None:
        if table in ("breaches", "occurrences", "desk_mail", "surveys"):
            return  # no generated id
        await self._exec(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" GREATEST((SELECT MAX(id) FROM {table}), 1),"
            f" (SELECT MAX(id) FROM {table}) IS NOT NULL)"
        )
