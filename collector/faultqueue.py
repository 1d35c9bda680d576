"""The durable local queue of fault changes a collector could not record because the ticket
store was unreachable (PostgreSQL down, network split).

Batches go in in the order the rule engine produced them and come out in that order, one at a
time, only after the store took the head: a firing fault and its later recovery are never
swapped, and a collector restarted during the outage replays what it had queued. It is a
SQLite file in `state_dir` (`fault-queue.db`). It also remembers which level-1 keys were told
directly during the outage (alerting/fallback.py), so the replay records that message as sent
instead of sending it again."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiosqlite

from rules.fault import Fault, FaultState, Suppression

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queued_at REAL NOT NULL,
    shard TEXT,
    faults TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS told (key TEXT PRIMARY KEY, ts REAL NOT NULL, channels TEXT NOT NULL);
"""


def fault_to_json(fault: Fault) -> dict[str, Any]:
    data = asdict(fault)
    data["state"] = fault.state.value
    data["suppressed"] = fault.suppressed.value if fault.suppressed else None
    return data


def fault_from_json(data: dict[str, Any]) -> Fault:
    values = dict(data)
    values["state"] = FaultState(values["state"])
    values["suppressed"] = Suppression(values["suppressed"]) if values["suppressed"] else None
    return Fault(**values)


class FaultQueue:
    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self.depth = 0

    @classmethod
    async def open(cls, path: Path) -> FaultQueue:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.executescript("PRAGMA journal_mode=WAL;" + _SCHEMA)
        queue = cls(db, path)
        async with db.execute("SELECT COUNT(*) FROM batches") as cur:
            row = await cur.fetchone()
        queue.depth = int(row[0]) if row else 0
        return queue

    async def close(self) -> None:
        await self._db.close()

    async def append(self, faults: list[Fault], now: float, shard: str | None = None) -> None:
        await self._db.execute(
            "INSERT INTO batches (queued_at, shard, faults) VALUES (?, ?, ?)",
            (now, shard, json.dumps([fault_to_json(f) for f in faults], ensure_ascii=False)),
        )
        self.depth += 1

    async def head(self) -> tuple[int, list[Fault], str | None] | None:
        async with self._db.execute(
            "SELECT id, faults, shard FROM batches ORDER BY id LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return int(row[0]), [fault_from_json(d) for d in json.loads(row[1])], row[2]

    async def pop(self, batch_id: int) -> None:
        await self._db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
        self.depth = max(0, self.depth - 1)

    async def remember_told(self, key: str, now: float, channels: list[str]) -> None:
        # should this fail, the message is at worst repeated once when the store is back
        with contextlib.suppress(sqlite3.Error):
            await self._db.execute(
                "INSERT OR REPLACE INTO told (key, ts, channels) VALUES (?, ?, ?)",
                (key, now, json.dumps(channels)),
            )

    async def told(self) -> set[str]:
        async with self._db.execute("SELECT key FROM told") as cur:
            return {str(r[0]) for r in await cur.fetchall()}

    async def forget_told(self, keys: set[str]) -> None:
        for key in keys:
            await self._db.execute("DELETE FROM told WHERE key = ?", (key,))
