"""The embedded ticket store: SQLite through aiosqlite, for one box (the default).

WAL mode, so the CLI can read and acknowledge while the daemon writes. The URL is
`sqlite:////abs/path.db` or `sqlite:///abs/path.db` (both absolute; the config loader has already
made relative paths absolute), or `sqlite://:memory:` for tests."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from alerting.store.migrations import latest_version, pending
from alerting.store.model import Conflict, Row, SchemaTooOld, StoreError
from alerting.store.sql import SqlStore


def sqlite_path(url: str) -> str:
    """The file path of a `sqlite:` store URL (":memory:" for an in-memory store)."""
    for prefix in ("sqlite:///", "sqlite://"):
        if url.startswith(prefix):
            rest = url[len(prefix) :]
            if rest in (":memory:", "/:memory:"):
                return ":memory:"
            if not rest:
                break
            return rest if rest.startswith("/") else "/" + rest
    raise StoreError(f"unsupported store URL {url!r}: expected sqlite:////absolute/path.db")


class SqliteStore(SqlStore):
    backend = "sqlite"

    def __init__(self, db: aiosqlite.Connection, url: str) -> None:
        self._db = db
        self.url = url
        self._lock = asyncio.Lock()
        self._tx_owner: asyncio.Task[Any] | None = None

    @classmethod
    async def open(cls, url: str, *, upgrade: bool = False) -> SqliteStore:
        """Open the store at `url`. A new (empty) database gets the current schema; an older
        one is upgraded only with `upgrade` (`roomwatch store migrate`), else refused."""
        path = sqlite_path(url)
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(path, isolation_level=None, timeout=10.0)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the ticket store {path}: {exc}") from exc
        db.row_factory = sqlite3.Row
        store = cls(db, url)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA busy_timeout=10000")
            await store._migrate(upgrade)
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    async def _migrate(self, upgrade: bool) -> list[int]:
        """Apply the steps that are due; returns their numbers."""
        current = await self.schema_version()
        newest = latest_version("sqlite")
        if current > newest:
            raise StoreError(
                f"the ticket store has schema version {current}, newer than this roomwatch"
                f" understands ({newest}); upgrade roomwatch"
            )
        if 0 < current < newest and not upgrade:
            raise SchemaTooOld(
                f"the ticket store {sqlite_path(self.url)} has schema version {current}, this"
                f" roomwatch needs {newest}: run `roomwatch store migrate -c FILE` (back the"
                " file up first)"
            )
        done = []
        for step in pending("sqlite", current):
            # executescript commits first; run the step and its version bump as one script
            await self._db.executescript(
                f"BEGIN IMMEDIATE;\n{step.sql}\nPRAGMA user_version = {step.version};\nCOMMIT;"
            )
            done.append(step.version)
        return done

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteStore]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on error).

        The connection is shared by the daemon's tasks (fault handling, the tick, the outbox
        delivery, HTTP API handlers), so a transaction belongs to the task that opened it:
        nested use in that task joins it, any other task waits for it to end."""
        task = asyncio.current_task()
        if self._tx_owner is not None and self._tx_owner is task:
            yield self
            return
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            self._tx_owner = task
            try:
                yield self
                await self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    await self._db.execute("ROLLBACK")
                raise
            finally:
                self._tx_owner = None

    @asynccontextmanager
    async def consistent(self) -> AsyncIterator[SqliteStore]:
        async with self.transaction():
            yield self

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._db.execute(sql, params) as cur:
            return [dict(r) for r in await cur.fetchall()]

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        try:
            async with self._db.execute(sql, params) as cur:
                row = await cur.fetchone()
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc
        return dict(row) if row is not None else None

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            async with self._db.execute(sql, params) as cur:
                changed = int(cur.rowcount)
        except sqlite3.IntegrityError as exc:
            raise Conflict(str(exc)) from exc
        self.changes += max(0, changed)  # -1: a statement that changes no row
        return changed
