"""Leases, heartbeats and saved shard state of the collectors sharing one PostgreSQL store.

Every time here is the database's clock (`clock_timestamp()`), the one clock all collectors
agree on, so a collector whose own clock is off cannot keep a lease alive or steal one early.

A lease row per shard: `holder`, `epoch`, `expires_at`. The holder renews it; anyone takes it
once it has expired; every change of holder (and every renewal after a lapse) raises the epoch,
so writes fenced with the older epoch are refused (postgres.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from alerting.store.model import CollectorBeat, Lease
from alerting.store.postgres import DB_NOW, PostgresStore

_CLAIM = f"""
INSERT INTO leases AS l (shard, holder, epoch, expires_at, renewed_at)
VALUES (%(shard)s, %(me)s, 1, {DB_NOW} + %(ttl)s, {DB_NOW})
ON CONFLICT (shard) DO UPDATE SET
    holder = EXCLUDED.holder,
    epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.epoch = %(mine)s::bigint
                      AND l.expires_at > EXCLUDED.renewed_at
                 THEN l.epoch ELSE l.epoch + 1 END,
    expires_at = EXCLUDED.expires_at,
    renewed_at = EXCLUDED.renewed_at
WHERE l.holder = EXCLUDED.holder OR l.expires_at <= EXCLUDED.renewed_at
RETURNING epoch
"""


async def claim(
    store: PostgresStore, shard: str, me: str, mine: int | None, ttl: float
) -> int | None:
    """Renew (or take) the lease of `shard`; its epoch, or None while another holds it.
    `mine` is the epoch this collector believes it holds: the epoch stays only when that
    lease is still alive, so a collector back from a pause gets a new epoch."""
    async with store.raw() as conn:
        cur = await conn.execute(
            _CLAIM.encode(), {"shard": shard, "me": me, "mine": mine, "ttl": ttl}
        )
        row = await cur.fetchone()
    return int(row["epoch"]) if row else None


async def release(store: PostgresStore, shard: str, me: str, epoch: int) -> None:
    """A clean stop hands the shard over now instead of after expiry."""
    async with store.raw() as conn:
        await conn.execute(
            f"UPDATE leases SET expires_at = {DB_NOW} WHERE shard = %s AND holder = %s"
            " AND epoch = %s".encode(),
            (shard, me, epoch),
        )


async def leases(store: PostgresStore) -> list[Lease]:
    async with store.raw() as conn:
        cur = await conn.execute(b"SELECT * FROM leases ORDER BY shard")
        rows = await cur.fetchall()
    return [
        Lease(r["shard"], r["holder"], int(r["epoch"]), r["expires_at"], r["renewed_at"])
        for r in rows
    ]


async def heartbeat(
    store: PostgresStore, name: str, shards: Iterable[str], failover: float
) -> None:
    async with store.raw() as conn:
        await conn.execute(
            f"INSERT INTO collectors AS c (name, shards, started_at, heartbeat_at, failover)"
            f" VALUES (%s, %s, {DB_NOW}, {DB_NOW}, %s) ON CONFLICT (name) DO UPDATE SET"
            " shards = EXCLUDED.shards, heartbeat_at = EXCLUDED.heartbeat_at,"
            " failover = EXCLUDED.failover".encode(),
            (name, json.dumps(sorted(shards)), failover),
        )


async def restarted(store: PostgresStore, name: str) -> None:
    async with store.raw() as conn:
        await conn.execute(
            f"UPDATE collectors SET started_at = {DB_NOW} WHERE name = %s".encode(), (name,)
        )


async def collectors(store: PostgresStore) -> list[CollectorBeat]:
    async with store.raw() as conn:
        cur = await conn.execute(
            f"SELECT *, {DB_NOW} - heartbeat_at AS silent_for FROM collectors ORDER BY name".encode()
        )
        rows = await cur.fetchall()
    return [
        CollectorBeat(
            r["name"],
            json.loads(r["shards"]),
            r["started_at"],
            r["heartbeat_at"],
            float(r["silent_for"]),
            r["failover"],
        )
        for r in rows
    ]


async def forget(store: PostgresStore, name: str) -> None:
    async with store.raw() as conn:
        await conn.execute(b"DELETE FROM collectors WHERE name = %s", (name,))


async def save_state(
    store: PostgresStore, shard: str, me: str, epoch: int, snapshot: dict[str, Any]
) -> bool:
    """Save the rule state of `shard`, only while this collector holds its lease."""
    async with store.raw() as conn:
        cur = await conn.execute(
            f"INSERT INTO shard_state AS s (shard, holder, epoch, snapshot, saved_at)"
            f" SELECT %(shard)s, %(me)s, %(epoch)s, %(snap)s, {DB_NOW} WHERE EXISTS"
            f" (SELECT 1 FROM leases WHERE shard = %(shard)s AND holder = %(me)s"
            f" AND epoch = %(epoch)s AND expires_at > {DB_NOW})"
            " ON CONFLICT (shard) DO UPDATE SET holder = EXCLUDED.holder,"
            " epoch = EXCLUDED.epoch, snapshot = EXCLUDED.snapshot,"
            " saved_at = EXCLUDED.saved_at".encode(),
            {"shard": shard, "me": me, "epoch": epoch, "snap": json.dumps(snapshot)},
        )
        return cur.rowcount > 0


async def load_state(store: PostgresStore, shard: str) -> dict[str, Any] | None:
    async with store.raw() as conn:
        cur = await conn.execute(b"SELECT snapshot FROM shard_state WHERE shard = %s", (shard,))
        row = await cur.fetchone()
    return json.loads(row["snapshot"]) if row else None


async def db_now(store: PostgresStore) -> float:
    async with store.raw() as conn:
        cur = await conn.execute(f"SELECT {DB_NOW} AS now".encode())
        row = await cur.fetchone()
    return float(row["now"]) if row else 0.0
