"""Leases, fencing and claimed sending in the PostgreSQL store itself, in one process with two
store connections standing for two collectors: the database's clock decides who holds a
shard, a write under a lost lease is refused and leaves nothing, and a claimed outbox row goes
to one sender until its claim lapses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from alerting.store import Fenced, open_store
from alerting.store import cluster as leases
from alerting.store import postgres as pg
from alerting.store.postgres import PostgresStore
from tests.fixtures.postgres import PG_PASSWORD

pytestmark = pytest.mark.integration


@pytest.fixture
async def two(pg_store_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    a = await open_store(pg_store_url, password=PG_PASSWORD, collector="a")
    b = await open_store(pg_store_url, password=PG_PASSWORD, collector="b")
    assert isinstance(a, PostgresStore) and isinstance(b, PostgresStore)
    yield a, b
    await a.close()
    await b.close()


async def audit_actors(store: PostgresStore) -> list[str]:
    return [r["actor"] async for r in store.rows("audit", "id")]


async def test_a_write_under_a_lost_lease_is_refused_and_leaves_nothing(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    held_a: dict[str, int] = {}
    a.fences = lambda: held_a
    assert await leases.claim(a, "hall-a", "a", None, ttl=2.0) == 1
    held_a["hall-a"] = 1
    assert await leases.claim(b, "hall-a", "b", None, ttl=2.0) is None  # a holds it
    async with a.transaction():
        await a.audit(None, 1.0, "a", "while-holding")

    await asyncio.sleep(2.3)  # a "pauses" past its lease; b takes the shard over
    assert await leases.claim(b, "hall-a", "b", None, ttl=5.0) == 2
    with pytest.raises(Fenced, match="hall-a"):
        async with a.transaction():
            await a.audit(None, 2.0, "a", "after-losing")
    assert await audit_actors(a) == ["a"]
    # a renewing with the epoch it believed in gets nothing: b holds it, alive
    assert await leases.claim(a, "hall-a", "a", 1, ttl=5.0) is None
    # b renewing keeps its epoch; a clean stop hands the shard over at once
    assert await leases.claim(b, "hall-a", "b", 2, ttl=5.0) == 2
    await leases.release(b, "hall-a", "b", 2)
    assert await leases.claim(a, "hall-a", "a", None, ttl=5.0) == 3


async def test_a_takeover_waits_for_the_old_holders_write_under_way(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    a.fences = lambda: {"hall-a": 1}
    assert await leases.claim(a, "hall-a", "a", None, ttl=0.3) == 1
    inside = asyncio.Event()

    async def slow_write() -> None:
        async with a.transaction():  # locks the lease row FOR SHARE
            await a.audit(None, 1.0, "a", "under-way")
            inside.set()
            await asyncio.sleep(1.5)  # the lease expires meanwhile

    async def take_over() -> float:
        await inside.wait()
        await asyncio.sleep(0.5)
        started = asyncio.get_running_loop().time()
        assert await leases.claim(b, "hall-a", "b", None, ttl=5.0) == 2
        return asyncio.get_running_loop().time() - started

    _, waited = await asyncio.gather(slow_write(), take_over())
    assert waited >= 0.3  # it waited for the write to commit rather than overtake it
    assert await audit_actors(a) == ["a"]


async def test_a_claimed_row_goes_to_one_sender_until_its_claim_lapses(
    two: tuple[PostgresStore, PostgresStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two
    async with a.transaction():
        for n in range(4):
            await a.enqueue(
                incident_id=None,
                notifier="hook",
                kind="notice",
                dedup=f"notice:n{n}:start:hook",
                group_key="",
                recipients={},
                payload={"kind": "notice"},
                now=1.0,
                due=1.0,
            )
    monkeypatch.setattr(pg, "CLAIM_SECONDS", 2.0)
    # at once, two at most each: whichever query reaches the server first, the rows split two
    # and two with none in both (b asking for more than its share is checked just below)
    got_a, got_b = await asyncio.gather(a.due_outbox(10.0, 2), b.due_outbox(10.0, 2))
    ids_a, ids_b = {i.id for i in got_a}, {i.id for i in got_b}
    assert len(ids_a) == 2 and len(ids_b) == 2 and not ids_a & ids_b
    # asked again, b gets its own claims back (a restarted sender), never a's
    assert {i.id for i in await b.due_outbox(10.0, 10)} == ids_b
    async with a.transaction():
        await a.mark_sent(got_a, 11.0)
    await asyncio.sleep(2.3)  # b "died" holding its claims: they lapse
    again = await a.due_outbox(12.0, 10)
    assert {i.id for i in again} == ids_b
    sent_by = {r["sent_by"] async for r in a.rows("outbox") if r["state"] == "sent"}
    assert sent_by == {"a"}
