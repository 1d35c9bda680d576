"""Occurrences are first-class, on both backends (SQLite and a real PostgreSQL 15): a reopen
keeps the earlier occurrence's acknowledgement, escalation, breach and resolution; a breach is
recorded once per occurrence (the same clock can breach again after a reopen); a store from
before occurrences (schema 3) with reopened incidents is migrated with each occurrence's steps
recovered from its audit log; people's tickets get a number; an incident resolved by hand while its fault still
holds reopens as a new occurrence that says so."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from alerting.service import AlertService
from alerting.store import TicketStore, open_store
from alerting.store.migrations import migrations
from inventory.credentials import Credentials
from tests.fixtures.postgres import PG_PASSWORD
from tests.unit.alerting_helpers import T0, Clock, config, fault, inventory

pytestmark = pytest.mark.integration

MIN = 60.0
ESCALATION = {
    "escalation": {
        1: [{"after": "0m", "notify": ["on-duty"]}, {"after": "5m", "notify": ["role:manager"]}],
    },
    "duty": {
        "people": {"li": {"name": "Li", "email": "li@example.org"}},
        "roles": {"manager": ["li"]},
        "shifts": [{"name": "all", "start": "00:00", "end": "00:00", "rotation": ["li"]}],
    },
}


@pytest.fixture(params=("sqlite", "postgresql"))
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tickets.db'}"
    url: str = request.getfixturevalue("pg_store_url")
    return url


def password(url: str) -> str | None:
    return PG_PASSWORD if url.startswith("postgresql:") else None


@pytest.fixture
async def desk(store_url: str, tmp_path: Path) -> AsyncIterator[tuple[AlertService, Clock]]:
    clock = Clock()
    svc = await AlertService.open(
        config(tmp_path, **ESCALATION),
        store_url,
        inventory(),
        Credentials({}),
        clock,
        state_dir=tmp_path,
        password=password(store_url),
    )
    svc.delivery_budget = None
    yield svc, clock
    await svc.close()


async def test_a_reopen_keeps_the_first_occurrences_ack_escalation_and_breach(
    desk: tuple[AlertService, Clock],
) -> None:
    svc, clock = desk
    await svc.handle([fault(level=1)])
    await svc.tick()
    clock.advance(6 * MIN)  # respond target (5 min) missed, second tier due
    await svc.tick()
    [incident] = await svc.store.list_incidents()
    await svc.ack(incident.id, "li")
    clock.advance(14 * MIN)
    await svc.handle([fault(level=1, state="resolved", ts=clock())])
    clock.advance(10 * MIN)
    await svc.handle([fault(level=1, ts=clock())])  # back within the reopen window
    await svc.tick()
    clock.advance(6 * MIN)
    await svc.tick()  # the second occurrence misses the respond target too
    await svc.ack(incident.id, "zhang")

    incident = await svc.store.get(incident.id)
    assert (incident.occurrences, incident.acknowledged_by) == (2, "zhang")
    first, second = await svc.store.occurrences(incident.id)
    assert (first.n, first.acknowledged_by, first.acknowledged_at) == (1, "li", T0 + 6 * MIN)
    assert first.resolved_at == T0 + 20 * MIN and first.resolved_by == "rules"
    assert first.tier == 2 and first.escalations == 1
    assert (second.n, second.ts, second.acknowledged_by) == (2, T0 + 30 * MIN, "zhang")
    assert second.resolved_at is None and second.tier == 2
    # the same clock breached in both occurrences: two records, not one
    breaches = [(b.occurrence, b.clock) for b in await svc.store.breaches(incident.id)]
    assert breaches.count((1, "respond")) == 1 and breaches.count((2, "respond")) == 1


async def test_people_tickets_are_numbered_and_run_the_sla_clocks(
    desk: tuple[AlertService, Clock],
) -> None:
    svc, clock = desk
    ticket = await svc.open_ticket(
        "desk", title="Printer offline", level=1, reporter="Ms Zhou", contact="13900000000"
    )
    assert ticket.ticket == f"RW-2025-{ticket.id:06d}"
    assert (await svc.store.find_ticket(ticket.ticket)) == ticket
    assert ticket.source == "phone" and ticket.reporter == "Ms Zhou"
    clock.advance(6 * MIN)
    await svc.tick()
    assert [b.clock for b in await svc.store.breaches(ticket.id)] == ["respond"]
    [occurrence] = await svc.store.occurrences(ticket.id)
    assert occurrence.tier == 2  # escalated like a monitored incident
    await svc.resolve(ticket.id, "li")
    assert not (await svc.store.get(ticket.id)).recheck  # nothing for the rules to look at


async def test_a_hand_resolve_while_the_fault_holds_reopens_with_a_note(
    desk: tuple[AlertService, Clock],
) -> None:
    svc, clock = desk
    await svc.handle([fault()])
    [incident] = await svc.store.list_incidents()
    clock.advance(MIN)
    await svc.resolve(incident.id, "li")
    clock.advance(MIN)
    # the next evaluation: the rule still finds the fault
    [change] = await svc.recheck(lambda: [fault(ts=clock())])
    assert change.kind == "reopened"
    reopened = await svc.store.get(incident.id)
    assert reopened.state == "open" and not reopened.recheck
    second = (await svc.store.occurrences(incident.id))[-1]
    assert second.note == "still failing after it was resolved by hand by li"
    # resolved again and accepted until later: no reopen while the acceptance lasts
    await svc.accept(incident.id, "li", clock() + 1800, "known: fan replacement ordered")
    assert await svc.recheck(lambda: [fault(ts=clock())]) == []
    assert (await svc.store.get(incident.id)).state == "resolved"
    clock.advance(1801)  # the acceptance ended (inside the reopen window)
    [change] = await svc.recheck(lambda: [fault(ts=clock())])
    assert change.incident.occurrences == 3
    third = (await svc.store.occurrences(incident.id))[-1]
    assert third.note == "still failing after the acceptance by li ended"
    # a fault that is gone when looked at: nothing reopens, nothing left to look at
    await svc.resolve(incident.id, "li")
    assert await svc.recheck(lambda: []) == []
    assert await svc.store.to_recheck() == []


OCCURRENCES_STEP = 4  # 0004_occurrences: the step that made occurrences first-class


def _before_occurrences(url: str) -> None:
    """A store at the schema before occurrences, holding an incident that reopened: the first
    occurrence's acknowledgement exists only in the audit log (what the old reopen left)."""
    backend = "sqlite" if url.startswith("sqlite:") else "postgresql"
    steps = [m.sql for m in migrations(backend) if m.version < OCCURRENCES_STEP]
    last = OCCURRENCES_STEP - 1
    ts = T0
    rows = [
        ("opened", ts, "rules", {"level": 2}),
        ("acknowledged", ts + 120, "li", {}),
        ("told", ts + 60, "system", {"step": "tier:1", "what": "escalated", "people": []}),
        ("resolved", ts + 600, "rules", {}),
        ("reopened", ts + 900, "rules", {"level": 2, "occurrence": 2}),
    ]
    incident = (
        "INSERT INTO incidents (key, rule, device, level, state, since, opened_at, active_since,"
        " level_since, updated_at, occurrences, tier) VALUES"
        f" ('k', 'r', 'srv1', 2, 'open', {ts}, {ts}, {ts + 900}, {ts + 900}, {ts + 900}, 2, 1)"
    )
    statements = [incident]
    statements += [
        f"INSERT INTO audit (incident_id, ts, actor, action, detail) VALUES (1, {t}, '{a}',"
        f" '{action}', '{json.dumps(d, sort_keys=True)}')"
        for action, t, a, d in rows
    ]
    statements += [
        f"INSERT INTO occurrences (key, incident_id, ts) VALUES ('k', 1, {ts})",
        f"INSERT INTO occurrences (key, incident_id, ts) VALUES ('k', 1, {ts + 900})",
        f"INSERT INTO breaches (incident_id, clock, level, due, recorded_at) VALUES"
        f" (1, 'arrive', 2, {ts + 900}, {ts + 905})",
    ]
    if url.startswith("sqlite:"):
        import sqlite3

        with sqlite3.connect(url[len("sqlite:///") :]) as db:
            db.executescript("\n".join(steps) + f"\nPRAGMA user_version = {last};")
            for sql in statements:
                db.execute(sql)
        return
    dsn = url.split("?")[0] + f"?password={PG_PASSWORD}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        for number, sql in enumerate(steps, 1):
            conn.execute(sql.encode())
            conn.execute(
                "INSERT INTO schema_version (version, name) VALUES (%s, 'step')", (number,)
            )
        for sql in statements:
            conn.execute(sql.encode())


async def test_migrating_an_older_store_recovers_each_occurrence_from_the_audit_log(
    store_url: str,
) -> None:
    _before_occurrences(store_url)
    store: TicketStore = await open_store(store_url, password=password(store_url), upgrade=True)
    try:
        first, second = await store.occurrences(1)
        assert (first.n, first.acknowledged_at, first.acknowledged_by) == (1, T0 + 120, "li")
        assert (first.resolved_at, first.resolved_by, first.tier) == (T0 + 600, "rules", 1)
        assert (second.n, second.ts, second.acknowledged_at, second.tier) == (2, T0 + 900, None, 1)
        [breach] = await store.breaches(1)
        assert breach.occurrence == 2
        assert (await store.get(1)).ticket == "RW-2025-000001"
    finally:
        await store.close()
