"""The ticket store: incidents, their audit log, notes, SLA breaches, problems and the outbox,
in SQLite through aiosqlite (WAL, so the CLI can read and acknowledge while the daemon writes).

The store only reads and writes rows; what a change means (the incident lifecycle) lives in
`incidents.py`. Every write happens inside `transaction()`, so an incident change, its audit
entries and the notifications it causes land together or not at all. The URL is
`sqlite:////abs/path.db` or `sqlite:///abs/path.db` (both absolute; the config loader has already
made relative paths absolute), or `sqlite://:memory:` for tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import aiosqlite

from alerting.migrations import MIGRATIONS

ACTIVE_STATES = ("open", "acknowledged")
STATES = ("open", "acknowledged", "resolved", "closed")
QUIET_SUPPRESSIONS = ("dependency", "maintenance")


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, newer schema, locked too long)."""


class NotFound(StoreError):
    pass


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


@dataclass
class Incident:
    id: int
    key: str
    rule: str
    grp: str
    device: str
    metric: str
    site: str | None
    labels: dict[str, str]
    level: int
    state: str
    suppressed: str | None
    stale: bool
    summary: dict[str, str]
    runbook: str | None
    value: Any
    since: float
    opened_at: float
    active_since: float
    level_since: float
    updated_at: float
    acknowledged_at: float | None
    acknowledged_by: str | None
    arrived_at: float | None
    arrived_by: str | None
    resolved_at: float | None
    resolved_by: str | None
    closed_at: float | None
    assignee: str | None
    occurrences: int
    problem_id: int | None
    tier: int
    reminders: int
    last_notified_at: float | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def quiet(self) -> bool:
        """Recorded but not told: a parent device is down or a maintenance window is on.
        (A flapping incident is told once and then held open without escalation.)"""
        return self.suppressed in QUIET_SUPPRESSIONS

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_JSON_COLUMNS = {"labels", "summary", "value"}
INCIDENT_COLUMNS = tuple(f.name for f in fields(Incident))


def _incident(row: sqlite3.Row) -> Incident:
    values: dict[str, Any] = {}
    for name in INCIDENT_COLUMNS:
        raw = row[name]
        if name in _JSON_COLUMNS:
            values[name] = json.loads(raw) if raw is not None else None
        elif name == "stale":
            values[name] = bool(raw)
        else:
            values[name] = raw
    if values["labels"] is None:
        values["labels"] = {}
    if values["summary"] is None:
        values["summary"] = {}
    return Incident(**values)


def _encode(name: str, value: Any) -> Any:
    if name in _JSON_COLUMNS:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if name == "stale":
        return int(bool(value))
    return value


@dataclass(frozen=True)
class AuditEntry:
    id: int
    incident_id: int | None
    problem_id: int | None
    ts: float
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Note:
    id: int
    incident_id: int
    ts: float
    author: str
    text: str


@dataclass(frozen=True)
class Breach:
    incident_id: int
    clock: str  # respond | arrive | repair
    level: int
    due: float
    recorded_at: float


@dataclass(frozen=True)
class Problem:
    id: int
    key: str
    state: str
    opened_at: float
    updated_at: float
    occurrences: int
    root_cause: str | None
    workaround: str | None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    incident_id: int | None
    notifier: str
    kind: str
    dedup: str
    group_key: str
    recipients: dict[str, Any]
    payload: dict[str, Any]
    created: float
    due: float
    attempts: int
    last_error: str | None
    state: str  # pending | sent | failed
    sent_at: float | None


def _outbox(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        incident_id=row["incident_id"],
        notifier=row["notifier"],
        kind=row["kind"],
        dedup=row["dedup"],
        group_key=row["group_key"],
        recipients=json.loads(row["recipients"]),
        payload=json.loads(row["payload"]),
        created=row["created"],
        due=row["due"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        state=row["state"],
        sent_at=row["sent_at"],
    )


class TicketStore:
    def __init__(self, db: aiosqlite.Connection, url: str) -> None:
        self._db = db
        self.url = url
        self._lock = asyncio.Lock()
        self._tx_owner: asyncio.Task[Any] | None = None

    @classmethod
    async def open(cls, url: str) -> TicketStore:
        """Open (creating and migrating when needed) the store at `url`."""
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
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        current = int(row[0]) if row else 0
        newest = MIGRATIONS[-1][0]
        if current > newest:
            raise StoreError(
                f"the ticket store has schema version {current}, newer than this roomwatch"
                f" understands ({newest}); upgrade roomwatch"
            )
        for version, script in MIGRATIONS:
            if version <= current:
                continue
            # executescript commits first; run the step and its version bump as one script
            await self._db.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
            )

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[TicketStore]:
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
    async def consistent(self) -> AsyncIterator[TicketStore]:
        """Reads that must not see another task's uncommitted changes (what to send next)."""
        async with self.transaction():
            yield self

    # ------------------------------------------------------------ low-level helpers

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._db.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        async with self._db.execute(sql, params) as cur:
            row: sqlite3.Row | None = await cur.fetchone()
            return row

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns lastrowid (inserts) or rowcount (others)."""
        async with self._db.execute(sql, params) as cur:
            if sql.lstrip().upper().startswith("INSERT"):
                return int(cur.lastrowid or 0)
            return int(cur.rowcount)

    # ------------------------------------------------------------ incidents

    async def get(self, incident_id: int) -> Incident:
        row = await self._one("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        return _incident(row)

    async def find_active(self, key: str) -> Incident | None:
        row = await self._one(
            "SELECT * FROM incidents WHERE key = ? AND state IN ('open', 'acknowledged')",
            (key,),
        )
        return _incident(row) if row else None

    async def find_reopenable(self, key: str, resolved_after: float) -> Incident | None:
        row = await self._one(
            "SELECT * FROM incidents WHERE key = ? AND state = 'resolved' AND resolved_at >= ?"
            " ORDER BY resolved_at DESC LIMIT 1",
            (key, resolved_after),
        )
        return _incident(row) if row else None

    async def list_incidents(
        self,
        states: Iterable[str] | None = None,
        limit: int = 200,
        device: str | None = None,
    ) -> list[Incident]:
        sql = "SELECT * FROM incidents"
        where: list[str] = []
        params: list[Any] = []
        if states:
            chosen = list(states)
            where.append(f"state IN ({','.join('?' * len(chosen))})")
            params.extend(chosen)
        if device:
            where.append("device = ?")
            params.append(device)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        return [_incident(r) for r in await self._all(sql, params)]

    async def active(self) -> list[Incident]:
        rows = await self._all(
            "SELECT * FROM incidents WHERE state IN ('open', 'acknowledged') ORDER BY id"
        )
        return [_incident(r) for r in rows]

    async def active_near(self, device: str, site: str | None) -> list[Incident]:
        """Open incidents of a device (or, with `site`, of its site too): inhibit candidates."""
        if site is None:
            sql = "SELECT * FROM incidents WHERE state IN ('open', 'acknowledged') AND device = ?"
            params: tuple[str, ...] = (device,)
        else:
            sql = (
                "SELECT * FROM incidents WHERE state IN ('open', 'acknowledged')"
                " AND (device = ? OR site = ?)"
            )
            params = (device, site)
        return [_incident(r) for r in await self._all(sql, params)]

    async def resolved_before(self, ts: float) -> list[Incident]:
        rows = await self._all(
            "SELECT * FROM incidents WHERE state = 'resolved' AND resolved_at < ? ORDER BY id",
            (ts,),
        )
        return [_incident(r) for r in rows]

    async def insert_incident(self, values: Mapping[str, Any]) -> int:
        names = [n for n in INCIDENT_COLUMNS if n != "id" and n in values]
        sql = f"INSERT INTO incidents ({','.join(names)}) VALUES ({','.join('?' * len(names))})"
        return await self._exec(sql, [_encode(n, values[n]) for n in names])

    async def update_incident(self, incident_id: int, changes: Mapping[str, Any]) -> None:
        if not changes:
            return
        unknown = set(changes) - set(INCIDENT_COLUMNS)
        if unknown or "id" in changes:
            raise ValueError(f"not incident columns: {sorted(unknown)}")
        # column names come from the dataclass, never from input; values are parameters
        assignments = ", ".join(f"{n} = ?" for n in changes)
        params = [_encode(n, v) for n, v in changes.items()]
        await self._exec(f"UPDATE incidents SET {assignments} WHERE id = ?", [*params, incident_id])

    # ------------------------------------------------------------ audit, notes, breaches

    async def audit(
        self,
        incident_id: int | None,
        ts: float,
        actor: str,
        action: str,
        detail: Mapping[str, Any] | None = None,
        problem_id: int | None = None,
    ) -> None:
        await self._exec(
            "INSERT INTO audit (incident_id, problem_id, ts, actor, action, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                incident_id,
                problem_id,
                ts,
                actor,
                action,
                json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True),
            ),
        )

    async def audit_log(self, incident_id: int) -> list[AuditEntry]:
        rows = await self._all(
            "SELECT * FROM audit WHERE incident_id = ? ORDER BY id", (incident_id,)
        )
        return [
            AuditEntry(
                r["id"],
                r["incident_id"],
                r["problem_id"],
                r["ts"],
                r["actor"],
                r["action"],
                json.loads(r["detail"]),
            )
            for r in rows
        ]

    async def add_note(self, incident_id: int, ts: float, author: str, text: str) -> int:
        return await self._exec(
            "INSERT INTO notes (incident_id, ts, author, text) VALUES (?, ?, ?, ?)",
            (incident_id, ts, author, text),
        )

    async def notes(self, incident_id: int) -> list[Note]:
        rows = await self._all(
            "SELECT * FROM notes WHERE incident_id = ? ORDER BY id", (incident_id,)
        )
        return [Note(r["id"], r["incident_id"], r["ts"], r["author"], r["text"]) for r in rows]

    async def record_breach(
        self, incident_id: int, clock: str, level: int, due: float, now: float
    ) -> bool:
        """Record an SLA breach once; True when it is new."""
        async with self._db.execute(
            "INSERT OR IGNORE INTO breaches (incident_id, clock, level, due, recorded_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (incident_id, clock, level, due, now),
        ) as cur:
            return cur.rowcount > 0

    async def breaches(self, incident_id: int | None = None) -> list[Breach]:
        if incident_id is None:
            rows = await self._all("SELECT * FROM breaches ORDER BY recorded_at")
        else:
            rows = await self._all(
                "SELECT * FROM breaches WHERE incident_id = ? ORDER BY recorded_at",
                (incident_id,),
            )
        return [
            Breach(r["incident_id"], r["clock"], r["level"], r["due"], r["recorded_at"])
            for r in rows
        ]

    # ------------------------------------------------------------ occurrences and problems

    async def add_occurrence(self, key: str, incident_id: int, ts: float) -> None:
        await self._exec(
            "INSERT INTO occurrences (key, incident_id, ts) VALUES (?, ?, ?)",
            (key, incident_id, ts),
        )

    async def occurrences_since(self, key: str, since: float) -> list[int]:
        rows = await self._all(
            "SELECT incident_id FROM occurrences WHERE key = ? AND ts >= ? ORDER BY ts",
            (key, since),
        )
        return [int(r["incident_id"]) for r in rows]

    async def problem_for_key(self, key: str) -> Problem | None:
        row = await self._one("SELECT * FROM problems WHERE key = ?", (key,))
        return Problem(**dict(row)) if row else None

    async def problem(self, problem_id: int) -> Problem:
        row = await self._one("SELECT * FROM problems WHERE id = ?", (problem_id,))
        if row is None:
            raise NotFound(f"no problem {problem_id}")
        return Problem(**dict(row))

    async def problems(self) -> list[Problem]:
        return [Problem(**dict(r)) for r in await self._all("SELECT * FROM problems ORDER BY id")]

    async def insert_problem(self, key: str, now: float, occurrences: int) -> int:
        return await self._exec(
            "INSERT INTO problems (key, state, opened_at, updated_at, occurrences)"
            " VALUES (?, 'open', ?, ?, ?)",
            (key, now, now, occurrences),
        )

    async def update_problem(self, problem_id: int, changes: Mapping[str, Any]) -> None:
        allowed = {"state", "updated_at", "occurrences", "root_cause", "workaround"}
        if set(changes) - allowed:
            raise ValueError(f"not problem columns: {sorted(set(changes) - allowed)}")
        assignments = ", ".join(f"{n} = ?" for n in changes)
        await self._exec(
            f"UPDATE problems SET {assignments} WHERE id = ?", [*changes.values(), problem_id]
        )

    async def incidents_of_problem(self, problem_id: int) -> list[Incident]:
        rows = await self._all(
            "SELECT * FROM incidents WHERE problem_id = ? ORDER BY id", (problem_id,)
        )
        return [_incident(r) for r in rows]

    # ------------------------------------------------------------ outbox

    async def enqueue(
        self,
        *,
        incident_id: int | None,
        notifier: str,
        kind: str,
        dedup: str,
        group_key: str,
        recipients: Mapping[str, Any],
        payload: Mapping[str, Any],
        now: float,
        due: float,
    ) -> bool:
        """Add a notification unless one with the same `dedup` key exists (sent or not)."""
        async with self._db.execute(
            "INSERT OR IGNORE INTO outbox (incident_id, notifier, kind, dedup, group_key,"
            " recipients, payload, created, due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                incident_id,
                notifier,
                kind,
                dedup,
                group_key,
                json.dumps(dict(recipients), ensure_ascii=False, sort_keys=True),
                json.dumps(dict(payload), ensure_ascii=False, sort_keys=True),
                now,
                due,
            ),
        ) as cur:
            return cur.rowcount > 0

    async def due_outbox(self, now: float, limit: int) -> list[OutboxItem]:
        rows = await self._all(
            "SELECT * FROM outbox WHERE state = 'pending' AND due <= ? ORDER BY due, id LIMIT ?",
            (now, limit),
        )
        return [_outbox(r) for r in rows]

    async def outbox_items(
        self, incident_id: int | None = None, state: str | None = None
    ) -> list[OutboxItem]:
        sql, params = "SELECT * FROM outbox", list[Any]()
        where = []
        if incident_id is not None:
            where.append("incident_id = ?")
            params.append(incident_id)
        if state is not None:
            where.append("state = ?")
            params.append(state)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_outbox(r) for r in await self._all(sql + " ORDER BY id", params)]

    async def mark_sent(self, items: Sequence[OutboxItem], now: float) -> None:
        """The record stage: called only after the channel accepted the message."""
        for item in items:
            await self._exec(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
                " last_error = NULL WHERE id = ?",
                (now, item.id),
            )
            await self._exec(
                "INSERT OR IGNORE INTO sent_log (outbox_id, incident_id, notifier, kind,"
                " recipients, ts) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    item.id,
                    item.incident_id,
                    item.notifier,
                    item.kind,
                    json.dumps(item.recipients, ensure_ascii=False, sort_keys=True),
                    now,
                ),
            )

    async def mark_retry(self, items: Sequence[OutboxItem], error: str, due: float) -> None:
        for item in items:
            await self._exec(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, due = ? WHERE id = ?",
                (error, due, item.id),
            )

    async def mark_failed(self, items: Sequence[OutboxItem], error: str) -> None:
        for item in items:
            await self._exec(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?"
                " WHERE id = ?",
                (error, item.id),
            )

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._all("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        return {r["state"]: int(r["n"]) for r in rows}

    async def sent_log(self, incident_id: int | None = None) -> list[dict[str, Any]]:
        if incident_id is None:
            rows = await self._all("SELECT * FROM sent_log ORDER BY id")
        else:
            rows = await self._all(
                "SELECT * FROM sent_log WHERE incident_id = ? ORDER BY id", (incident_id,)
            )
        return [dict(r) for r in rows]
