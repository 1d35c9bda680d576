"""The ticket store's queries, written once for both backends (SQLite and PostgreSQL).

The SQL here is the common dialect of SQLite ≥ 3.35 and PostgreSQL ≥ 12 (`RETURNING`,
`ON CONFLICT DO NOTHING`, partial indexes), with `?` placeholders that the PostgreSQL backend
turns into its own. A backend supplies a connection, transactions and the four primitives
(`_all`, `_one`, `_exec`, `close`); everything an incident, its audit log, problems, notes and
SLA breaches need is a method of `SqlStore`, and its mixins hold the rest: the outbox
(`outbox_sql.py`), the desk's mail and surveys (`desk_sql.py`), the knowledge base
(`kb_sql.py`). What a change means (the incident lifecycle) lives in `alerting/incidents.py`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from alerting.store.desk_sql import DeskQueries
from alerting.store.kb_sql import KbQueries
from alerting.store.model import (
    INCIDENT_COLUMNS,
    OCCURRENCE_MIRROR,
    ActiveState,
    AuditEntry,
    Breach,
    Incident,
    Note,
    NotFound,
    Occurrence,
    Problem,
    Row,
    audit_from,
    dumps,
    encode,
    incident_from,
    occurrence_from,
    problem_from,
)
from alerting.store.outbox_sql import OutboxQueries

_ACTIVE = "state IN ('open', 'acknowledged')"


class SqlStore(DeskQueries, KbQueries, OutboxQueries, ABC):
    backend: str
    url: str
    #: the collector that acts through this store, written to the audit log and outbox
    collector: str | None = None
    #: rows written through this store object (this process) so far: the daemon's tick reads
    #: the store again as soon as it moves (alerting/clockplan.py)
    changes: int = 0

    # ------------------------------------------------------------ what a backend supplies

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """One write transaction; nested use in the same task joins it."""

    @abstractmethod
    def consistent(self) -> AbstractAsyncContextManager[Any]:
        """Reads that must not see another task's uncommitted changes."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def schema_version(self) -> int: ...

    @abstractmethod
    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    @abstractmethod
    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows it changed."""

    async def _insert(self, sql: str, params: Sequence[Any]) -> int:
        row = await self._one(sql + " RETURNING id", params)
        assert row is not None
        self.changes += 1
        return int(row["id"])

    async def rows(self, table: str, order: str = "") -> AsyncIterator[Row]:
        """Every row of `table` (for `roomwatch store copy`); `table` is one of ours."""
        sql = f"SELECT * FROM {table}" + (f" ORDER BY {order}" if order else "")
        for row in await self._all(sql):
            yield row

    # ------------------------------------------------------------ incidents

    async def get(self, incident_id: int) -> Incident:
        row = await self._one("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        return incident_from(row)

    async def find_active(self, key: str) -> Incident | None:
        row = await self._one(f"SELECT * FROM incidents WHERE key = ? AND {_ACTIVE}", (key,))
        return incident_from(row) if row else None

    async def find_reopenable(self, key: str, resolved_after: float) -> Incident | None:
        row = await self._one(
            "SELECT * FROM incidents WHERE key = ? AND state = 'resolved' AND resolved_at >= ?"
            " ORDER BY resolved_at DESC LIMIT 1",
            (key, resolved_after),
        )
        return incident_from(row) if row else None

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
        return [incident_from(r) for r in await self._all(sql, params)]

    async def active(self, shards: Iterable[str] | None = None) -> list[Incident]:
        """Open and acknowledged incidents (of these shards only, when given)."""
        sql, params = f"SELECT * FROM incidents WHERE {_ACTIVE}", list[Any]()
        if shards is not None:
            chosen = list(shards)
            if not chosen:
                return []
            sql += f" AND shard IN ({','.join('?' * len(chosen))})"
            params.extend(chosen)
        return [incident_from(r) for r in await self._all(sql + " ORDER BY id", params)]

    async def active_states(self) -> list[ActiveState]:
        """Every open and acknowledged incident, just its state and acknowledgement."""
        rows = await self._all(
            f"SELECT id, state, acknowledged_at, acknowledged_by FROM incidents WHERE {_ACTIVE}"
            " ORDER BY id"
        )
        return [
            ActiveState(r["id"], r["state"], r["acknowledged_at"], r["acknowledged_by"])
            for r in rows
        ]

    async def active_near(self, device: str, site: str | None) -> list[Incident]:
        """Open incidents of a device (or, with `site`, of its site too): inhibit candidates."""
        if site is None:
            sql = f"SELECT * FROM incidents WHERE {_ACTIVE} AND device = ?"
            params: tuple[str, ...] = (device,)
        else:
            sql = f"SELECT * FROM incidents WHERE {_ACTIVE} AND (device = ? OR site = ?)"
            params = (device, site)
        return [incident_from(r) for r in await self._all(sql, params)]

    async def resolved_before(
        self, ts: float, shards: Iterable[str] | None = None
    ) -> list[Incident]:
        sql = "SELECT * FROM incidents WHERE state = 'resolved' AND resolved_at < ?"
        params: list[Any] = [ts]
        if shards is not None:
            chosen = list(shards)
            if not chosen:
                return []
            sql += f" AND shard IN ({','.join('?' * len(chosen))})"
            params.extend(chosen)
        return [incident_from(r) for r in await self._all(sql + " ORDER BY id", params)]

    async def insert_incident(self, values: Mapping[str, Any]) -> int:
        """Raises Conflict when the key has an open incident already (another collector or
        task recorded it first): the partial unique index decides."""
        names = [n for n in INCIDENT_COLUMNS if n != "id" and n in values]
        sql = f"INSERT INTO incidents ({','.join(names)}) VALUES ({','.join('?' * len(names))})"
        return await self._insert(sql, [encode(n, values[n]) for n in names])

    async def update_incident(self, incident_id: int, changes: Mapping[str, Any]) -> None:
        if not changes:
            return
        unknown = set(changes) - set(INCIDENT_COLUMNS)
        if unknown or "id" in changes:
            raise ValueError(f"not incident columns: {sorted(unknown)}")
        # column names come from the dataclass, never from input; values are parameters
        assignments = ", ".join(f"{n} = ?" for n in changes)
        params = [encode(n, v) for n, v in changes.items()]
        await self._exec(f"UPDATE incidents SET {assignments} WHERE id = ?", [*params, incident_id])
        mirrored = [n for n in changes if n in OCCURRENCE_MIRROR]
        if mirrored:
            # the incident row is its latest occurrence: keep that occurrence's row in step
            await self._exec(
                f"UPDATE occurrences SET {', '.join(f'{n} = ?' for n in mirrored)}"
                " WHERE incident_id = ? AND n = (SELECT occurrences FROM incidents WHERE id = ?)",
                [*(encode(n, changes[n]) for n in mirrored), incident_id, incident_id],
            )

    async def find_ticket(self, ticket: str) -> Incident | None:
        row = await self._one("SELECT * FROM incidents WHERE ticket = ?", (ticket,))
        return incident_from(row) if row else None

    async def to_recheck(self) -> list[Incident]:
        """Incidents resolved by hand whose condition the daemon has yet to look at."""
        rows = await self._all("SELECT * FROM incidents WHERE recheck = 1 ORDER BY id")
        return [incident_from(r) for r in rows]

    async def find_accepted(self, key: str, now: float) -> Incident | None:
        """The latest incident of `key` whose fault someone accepted until after `now`."""
        row = await self._one(
            "SELECT * FROM incidents WHERE key = ? AND accepted_until > ? ORDER BY id DESC LIMIT 1",
            (key, now),
        )
        return incident_from(row) if row else None

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
            "INSERT INTO audit (incident_id, problem_id, ts, actor, action, detail, collector)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (incident_id, problem_id, ts, actor, action, dumps(dict(detail or {})), self.collector),
        )

    async def audit_log(self, incident_id: int) -> list[AuditEntry]:
        rows = await self._all(
            "SELECT * FROM audit WHERE incident_id = ? ORDER BY id", (incident_id,)
        )
        return [audit_from(r) for r in rows]

    async def add_note(
        self, incident_id: int, ts: float, author: str, text: str, public: bool = False
    ) -> int:
        return await self._insert(
            "INSERT INTO notes (incident_id, ts, author, text, public) VALUES (?, ?, ?, ?, ?)",
            (incident_id, ts, author, text, int(public)),
        )

    async def notes(self, incident_id: int) -> list[Note]:
        rows = await self._all(
            "SELECT * FROM notes WHERE incident_id = ? ORDER BY id", (incident_id,)
        )
        return [
            Note(r["id"], r["incident_id"], r["ts"], r["author"], r["text"], bool(r["public"]))
            for r in rows
        ]

    async def record_breach(
        self,
        incident_id: int,
        clock: str,
        level: int,
        due: float,
        now: float,
        occurrence: int = 1,
    ) -> bool:
        """Record an SLA breach of one occurrence once; True when it is new."""
        return (
            await self._exec(
                "INSERT INTO breaches (incident_id, occurrence, clock, level, due, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (incident_id, occurrence, clock, level, due, now),
            )
            > 0
        )

    async def breaches(self, incident_id: int | None = None) -> list[Breach]:
        if incident_id is None:
            rows = await self._all("SELECT * FROM breaches ORDER BY recorded_at")
        else:
            rows = await self._all(
                "SELECT * FROM breaches WHERE incident_id = ? ORDER BY recorded_at",
                (incident_id,),
            )
        return [
            Breach(
                r["incident_id"],
                r["clock"],
                r["level"],
                r["due"],
                r["recorded_at"],
                r["occurrence"],
            )
            for r in rows
        ]

    # ------------------------------------------------------------ occurrences and problems

    async def add_occurrence(
        self,
        key: str,
        incident_id: int,
        ts: float,
        *,
        n: int = 1,
        level: int = 3,
        suppressed: str | None = None,
        note: str | None = None,
    ) -> None:
        """Start occurrence `n` of an incident (its steps then follow the incident row)."""
        await self._exec(
            "INSERT INTO occurrences (key, incident_id, ts, n, level, suppressed, active_since,"
            " note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, incident_id, ts, n, level, suppressed, ts, note),
        )

    async def occurrences(self, incident_id: int | None = None) -> list[Occurrence]:
        """Every occurrence (of one incident, when given), oldest first."""
        if incident_id is None:
            rows = await self._all("SELECT * FROM occurrences ORDER BY ts, incident_id, n")
        else:
            rows = await self._all(
                "SELECT * FROM occurrences WHERE incident_id = ? ORDER BY n", (incident_id,)
            )
        return [occurrence_from(r) for r in rows]

    async def occurrences_since(self, key: str, since: float) -> list[int]:
        rows = await self._all(
            "SELECT incident_id FROM occurrences WHERE key = ? AND ts >= ? ORDER BY ts",
            (key, since),
        )
        return [int(r["incident_id"]) for r in rows]

    async def problem_for_key(self, key: str) -> Problem | None:
        row = await self._one("SELECT * FROM problems WHERE key = ?", (key,))
        return problem_from(row) if row else None

    async def problem(self, problem_id: int) -> Problem:
        row = await self._one("SELECT * FROM problems WHERE id = ?", (problem_id,))
        if row is None:
            raise NotFound(f"no problem {problem_id}")
        return problem_from(row)

    async def problems(self) -> list[Problem]:
        return [problem_from(r) for r in await self._all("SELECT * FROM problems ORDER BY id")]

    async def insert_problem(self, key: str, now: float, occurrences: int) -> int:
        return await self._insert(
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
        return [incident_from(r) for r in rows]

    # ------------------------------------------------------------ copying a desk

    async def count(self, table: str) -> int:
        row = await self._one(f"SELECT COUNT(*) AS n FROM {table}")
        return int(row["n"]) if row else 0

    async def insert_copied(self, table: str, row: Mapping[str, Any]) -> int:
        """Insert a row copied from another store, ids included; 0 when it is there already."""
        names = list(row)
        values = [row[n] for n in names]
        sql = f"INSERT INTO {table} ({','.join(names)})"
        sql += f" VALUES ({','.join('?' * len(names))}) ON CONFLICT DO NOTHING"
        return await self._exec(sql, values)

    async def reset_ids(self, table: str) -> None:
        """After rows came in with their ids: new rows continue after the highest.
        (SQLite's AUTOINCREMENT follows explicit ids by itself.)"""
        return None
