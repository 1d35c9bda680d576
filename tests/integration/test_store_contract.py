"""The ticket store contract, run against both backends: SQLite (one box) and a real
PostgreSQL 15 server (a desk of several collectors). Whatever alerting, the CLI and the
reports rely on must hold on either: schema versions, one open incident per key, the
append-only audit log in order, outbox dedup and order, all-or-nothing transactions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from alerting.service import AlertService
from alerting.store import (
    Conflict,
    SchemaTooOld,
    StoreError,
    TicketStore,
    open_store,
)
from alerting.store.migrations import latest_version, migrations
from inventory.credentials import Credentials
from tests.fixtures.postgres import PG_PASSWORD
from tests.unit.alerting_helpers import T0, Clock, config, fault, inventory, sent

pytestmark = pytest.mark.integration

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tickets.db'}"
    url: str = request.getfixturevalue("pg_store_url")
    return url


def password(url: str) -> str | None:
    return PG_PASSWORD if url.startswith("postgresql:") else None


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[TicketStore]:
    opened = await open_store(store_url, password=password(store_url), collector="edge-a")
    yield opened
    await opened.close()


def incident_values(key: str = "cpu-high|srv1", **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "key": key,
        "rule": "cpu-high",
        "grp": "hosts",
        "device": "srv1",
        "metric": "cpu.usage",
        "site": "dc1",
        "labels": {"core": "0"},
        "level": 2,
        "state": "open",
        "summary": {"zh": "CPU 过高", "en": "CPU high"},
        "value": 97.5,
        "since": T0,
        "opened_at": T0,
        "active_since": T0,
        "level_since": T0,
        "updated_at": T0,
        "shard": "dc1/hall-a",
    }
    values.update(changes)
    return values


async def test_new_store_is_at_the_latest_schema(store: TicketStore) -> None:
    assert await store.schema_version() == latest_version(store.backend) == latest_version()


async def _make_old_store(url: str) -> None:
    """A database at schema 1, as roomwatch 0.1 left it."""
    first = migrations("sqlite" if url.startswith("sqlite:") else "postgresql")[0]
    if url.startswith("sqlite:"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///") :]) as db:
            db.executescript(first.sql + "\nPRAGMA user_version = 1;")
        return
    dsn = url.split("?")[0] + f"?password={PG_PASSWORD}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        conn.execute(first.sql.encode())
        conn.execute("INSERT INTO schema_version (version, name) VALUES (1, 'initial')")


async def test_an_older_schema_is_refused_until_migrated(store_url: str) -> None:
    await _make_old_store(store_url)
    with pytest.raises(SchemaTooOld, match="roomwatch store migrate -c FILE"):
        await open_store(store_url, password=password(store_url))
    upgraded = await open_store(store_url, password=password(store_url), upgrade=True)
    try:
        assert await upgraded.schema_version() == latest_version()
        async with upgraded.transaction():
            incident_id = await upgraded.insert_incident(incident_values())
        assert (await upgraded.get(incident_id)).shard == "dc1/hall-a"
    finally:
        await upgraded.close()


async def test_incident_round_trip_keeps_json_unicode_and_times(store: TicketStore) -> None:
    async with store.transaction():
        incident_id = await store.insert_incident(incident_values())
        await store.update_incident(incident_id, {"stale": True, "value": None, "level": 1})
    got = await store.get(incident_id)
    assert got.labels == {"core": "0"}
    assert got.summary["zh"] == "CPU 过高"
    assert got.stale is True and got.value is None and got.level == 1
    assert got.opened_at == T0
    assert [i.id for i in await store.active(["dc1/hall-a"])] == [incident_id]
    assert await store.active(["dc2"]) == []


async def test_one_open_incident_per_key_is_the_databases_rule(store: TicketStore) -> None:
    async with store.transaction():
        first = await store.insert_incident(incident_values())
    with pytest.raises(Conflict):
        async with store.transaction():
            await store.insert_incident(incident_values())
    async with store.transaction():
        await store.update_incident(first, {"state": "resolved", "resolved_at": T0 + 60})
        second = await store.insert_incident(incident_values(opened_at=T0 + 120))
    assert second != first
    assert [i.id for i in await store.active()] == [second]


async def test_audit_log_keeps_order_names_the_collector_and_cannot_be_rewritten(
    store: TicketStore,
) -> None:
    async with store.transaction():
        incident_id = await store.insert_incident(incident_values())
        for n, action in enumerate(("opened", "told", "acknowledged", "resolved")):
            await store.audit(incident_id, T0 + n, "rules", action, {"n": n})
    log = await store.audit_log(incident_id)
    assert [e.action for e in log] == ["opened", "told", "acknowledged", "resolved"]
    assert {e.collector for e in log} == {"edge-a"}
    sql_store: Any = store
    for statement in ("UPDATE audit SET actor = 'someone else'", "DELETE FROM audit"):
        with pytest.raises(Exception, match="append-only"):
            async with store.transaction():
                await sql_store._exec(statement)
    assert [e.actor for e in await store.audit_log(incident_id)] == ["rules"] * 4


async def test_outbox_dedup_order_and_record(store: TicketStore) -> None:
    async def put(dedup: str, due: float) -> bool:
        return await store.enqueue(
            incident_id=None,
            notifier="ops",
            kind="opened",
            dedup=dedup,
            group_key="",
            recipients={"people": ["li"]},
            payload={"kind": "opened", "text": "机房"},
            now=T0,
            due=due,
        )

    async with store.transaction():
        assert await put("incident:1:1:tier:0:ops", T0 + 5)
        assert await put("incident:1:1:resolved:ops", T0 + 1)
        assert not await put("incident:1:1:tier:0:ops", T0)  # the same step again: nothing
    async with store.consistent():
        due = await store.due_outbox(T0 + 10, 10)
    assert [i.dedup for i in due] == ["incident:1:1:resolved:ops", "incident:1:1:tier:0:ops"]
    assert due[0].payload["text"] == "机房"
    async with store.transaction():
        await store.mark_sent(due[:1], T0 + 11)
        await store.mark_retry(due[1:], "timed out", T0 + 60)
    assert await store.outbox_counts() == {"sent": 1, "pending": 1}
    assert [r["outbox_id"] for r in await store.sent_log()] == [due[0].id]
    async with store.consistent():
        assert await store.due_outbox(T0 + 30, 10) == []
    async with store.transaction():
        assert not await put("incident:1:1:resolved:ops", T0)  # sent: still never again


async def _counted_in_full(store: TicketStore) -> dict[str, int]:
    """The outbox's rows per state as a scan of every row says (what the figures were before
    the sent ones were tallied)."""
    sql_store: Any = store
    rows = await sql_store._all("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
    return {r["state"]: int(r["n"]) for r in rows}


async def test_outbox_counts_follow_every_change_of_state(store: TicketStore) -> None:
    # the sent figure is a tally kept by triggers, not a scan: it must still say what a scan
    # of every row says, whichever way a row changes (sent again, failed then sent, a hand
    # edit back to pending, a deleted row)
    sql_store: Any = store
    async with store.transaction():
        for n in range(5):
            assert await store.enqueue(
                incident_id=None,
                notifier="ops",
                kind="opened",
                dedup=f"step:{n}",
                group_key="",
                recipients={},
                payload={"text": str(n)},
                now=T0,
                due=T0 + n,
            )
    assert await store.outbox_summary() == ({"pending": 5}, T0)
    items = await store.outbox_items()
    async with store.transaction():
        await store.mark_sent(items[:2], T0 + 10)
        await store.mark_failed(items[2:3], "refused")
        await store.mark_retry(items[3:4], "timed out", T0 + 60)
    assert await store.outbox_summary() == ({"sent": 2, "failed": 1, "pending": 2}, T0 + 4)
    async with store.transaction():
        await store.mark_sent(items[:1], T0 + 20)  # recorded again: still one sent row
        await store.mark_sent(items[2:3], T0 + 20)  # the failed one went after all
    assert await store.outbox_counts() == {"sent": 3, "pending": 2}
    async with store.transaction():
        await sql_store._exec("UPDATE outbox SET state = 'pending' WHERE id = ?", (items[0].id,))
        await sql_store._exec("DELETE FROM outbox WHERE id = ?", (items[1].id,))
    assert await store.outbox_counts() == {"sent": 1, "pending": 3}
    assert await store.outbox_counts() == await _counted_in_full(store)


async def test_an_upgraded_store_counts_the_rows_it_had_sent(store_url: str) -> None:
    await _make_old_store(store_url)
    old = "sqlite" if store_url.startswith("sqlite:") else "postgresql"
    values = "(?, ?, ?, ?, ?, ?, ?)" if old == "sqlite" else "(%s, %s, %s, %s, %s, %s, %s)"
    rows = [(f"old:{n}", state, T0) for n, state in enumerate(["sent", "sent", "pending"])]
    insert = (
        f"INSERT INTO outbox (notifier, kind, dedup, payload, created, due, state) VALUES {values}"
    )
    if old == "sqlite":
        import sqlite3

        with sqlite3.connect(store_url[len("sqlite:///") :]) as db:
            for dedup, state, ts in rows:
                db.execute(insert, ("ops", "opened", dedup, "{}", ts, ts, state))
    else:
        dsn = store_url.split("?")[0] + f"?password={PG_PASSWORD}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            for dedup, state, ts in rows:
                conn.execute(insert.encode(), ("ops", "opened", dedup, "{}", ts, ts, state))
    upgraded = await open_store(store_url, password=password(store_url), upgrade=True)
    try:
        assert await upgraded.outbox_counts() == {"sent": 2, "pending": 1}
    finally:
        await upgraded.close()


async def test_a_failing_transaction_rolls_back_alone(store: TicketStore) -> None:
    inside = asyncio.Event()

    async def failing() -> None:
        async with store.transaction():
            await store.audit(None, 1.0, "a", "doomed")
            inside.set()
            await asyncio.sleep(0.05)  # another task acts meanwhile
            raise RuntimeError("bug")

    async def other() -> None:
        await inside.wait()
        async with store.transaction():
            await store.audit(None, 2.0, "b", "kept")

    results = await asyncio.gather(failing(), other(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    rows = [dict(r) async for r in store.rows("audit", "id")]
    assert [(r["actor"], r["action"]) for r in rows] == [("b", "kept")]


async def test_breaches_problems_and_notes(store: TicketStore) -> None:
    async with store.transaction():
        incident_id = await store.insert_incident(incident_values())
        assert await store.record_breach(incident_id, "respond", 2, T0 + 900, T0 + 901)
        assert not await store.record_breach(incident_id, "respond", 2, T0 + 900, T0 + 950)
        problem_id = await store.insert_problem("cpu-high|srv1", T0, 3)
        await store.update_problem(problem_id, {"workaround": "重启服务"})
        await store.update_incident(incident_id, {"problem_id": problem_id})
        await store.add_note(incident_id, T0, "li", "on my way")
    assert [b.recorded_at for b in await store.breaches(incident_id)] == [T0 + 901]
    assert (await store.problem_for_key("cpu-high|srv1")).workaround == "重启服务"  # type: ignore[union-attr]
    assert [i.id for i in await store.incidents_of_problem(problem_id)] == [incident_id]
    assert [n.text for n in await store.notes(incident_id)] == ["on my way"]


async def test_alert_service_opens_tells_and_resolves_on_either_backend(
    store_url: str, tmp_path: Path
) -> None:
    clock = Clock()
    svc = await AlertService.open(
        config(tmp_path),
        store_url,
        inventory(),
        Credentials({}),
        clock,
        state_dir=tmp_path,
        password=password(store_url),
    )
    svc.delivery_budget = None
    try:
        await svc.handle([fault()])
        await svc.tick()
        clock.advance(120)
        await svc.handle([fault(state="resolved", ts=clock())])
        await svc.tick()
        await svc.tick()
        [incident] = await svc.store.list_incidents()
        assert incident.state == "resolved"
    finally:
        await svc.close()
    assert [m["kind"] for m in sent(tmp_path)] == ["opened", "resolved"]


def test_a_password_in_a_postgresql_url_is_refused() -> None:
    with pytest.raises(StoreError, match="does not belong in the store URL"):
        asyncio.run(open_store("postgresql://rw:hunter2@127.0.0.1:5432/rw"))
