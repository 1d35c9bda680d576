"""The ticket store: schema versions, one open incident per key, the append-only audit log,
problems from recurring keys, signed acknowledge links, planned-work notices."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from alerting import acklink
from alerting.config import NoticeConfig
from alerting.notices import due_phase
from alerting.store import Conflict, StoreError, open_store, sqlite_path
from alerting.store.migrations import latest_version
from inventory.credentials import Credentials
from tests.unit.alerting_helpers import Clock, config, fault, sent, service


async def test_new_store_is_at_the_latest_schema_version_and_in_wal_mode(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert await store.schema_version() == latest_version()
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_store_from_a_newer_roomwatch_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "b.db") as db:
        db.execute(f"PRAGMA user_version = {latest_version() + 1}")
    with pytest.raises(StoreError, match="newer"):
        await open_store(f"sqlite:///{tmp_path / 'b.db'}")


def test_store_urls() -> None:
    assert sqlite_path("sqlite:////var/lib/roomwatch/r.db") == "/var/lib/roomwatch/r.db"
    assert sqlite_path("sqlite:///var/lib/roomwatch/r.db") == "/var/lib/roomwatch/r.db"
    with pytest.raises(StoreError):
        sqlite_path("postgresql://db/roomwatch")


async def test_audit_log_cannot_be_rewritten(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    await svc.handle([fault()])
    await svc.close()
    with (
        sqlite3.connect(tmp_path / "tickets.db") as db,
        pytest.raises(sqlite3.DatabaseError, match="append-only"),
    ):
        db.execute("UPDATE audit SET actor = 'someone else'")


async def test_database_refuses_a_second_open_incident_for_one_key(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault()])
        incident = await svc.store.get(1)
        values = {k: v for k, v in incident.to_json().items() if k != "id"}
        with pytest.raises(Conflict):
            async with svc.store.transaction():
                await svc.store.insert_incident(values)
    finally:
        await svc.close()


async def test_key_recurring_three_times_in_a_week_opens_a_problem(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, config(tmp_path, reopen_window="0s"))
    try:
        for _ in range(3):
            await svc.handle([fault()])
            clock.advance(600)
            await svc.handle([fault(state="resolved")])
            clock.advance(86400)
            await svc.tick()
        [problem] = await svc.store.problems()
        assert problem.key == "cpu-high|srv1"
        linked = [i.id for i in await svc.store.incidents_of_problem(problem.id)]
        assert linked == [1, 2, 3]
    finally:
        await svc.close()


async def test_later_alerts_of_a_problem_carry_its_workaround(tmp_path: Path) -> None:
    from alerting import problems

    clock = Clock()
    svc = await service(tmp_path, clock, config(tmp_path, reopen_window="0s"))
    try:
        for _ in range(3):
            await svc.handle([fault()])
            clock.advance(60)
            await svc.handle([fault(state="resolved")])
            clock.advance(3600)
        await svc.tick()
        async with svc.store.transaction():
            await problems.annotate(
                svc.store,
                1,
                "li",
                clock.now,
                root_cause="batch job at 3am",
                workaround="kill the batch job",
            )
        await svc.handle([fault()])
        await svc.tick()
        assert "kill the batch job" in sent(tmp_path)[-1]["text"]
    finally:
        await svc.close()


def test_signed_ack_link_verifies_until_it_expires() -> None:
    link = acklink.make_link("https://rw.example.org", "s3cret", 12, now=1000, ttl=3600)
    assert link.startswith("https://rw.example.org/ack/12?exp=4600&sig=")
    sig = link.rsplit("sig=", 1)[1]
    assert acklink.verify("s3cret", 12, "4600", sig, now=2000)
    assert not acklink.verify("s3cret", 13, "4600", sig, now=2000)  # another incident
    assert not acklink.verify("s3cret", 12, "9999", sig, now=2000)  # a stretched expiry
    assert not acklink.verify("s3cret", 12, "4600", sig, now=5000)  # expired


async def test_service_acknowledges_from_a_signed_link(tmp_path: Path) -> None:
    clock = Clock()
    cfg = config(tmp_path, ack_link={"base_url": "https://rw.example.org", "credentials": "ack"})
    creds = Credentials({"ack": {"secret": "s3cret"}})
    svc = await service(tmp_path, clock, cfg, credentials=creds)
    try:
        await svc.handle([fault()])
        await svc.tick()
        text = sent(tmp_path)[0]["text"]
        link = next(w for w in text.split() if w.startswith("https://rw.example.org/ack/1?"))
        query = dict(p.split("=") for p in link.split("?")[1].split("&"))
        from alerting.incidents import IncidentError

        with pytest.raises(IncidentError):
            await svc.ack_link(1, query["exp"], "0" * 64, by="zhang")
        incident = await svc.ack_link(1, query["exp"], query["sig"], by="zhang")
        assert (incident.state, incident.acknowledged_by) == ("acknowledged", "zhang")
        assert "s3cret" not in text
    finally:
        await svc.close()


def test_notice_phases_before_during_and_after_the_window() -> None:
    notice = NoticeConfig.model_validate(
        {
            "id": "ups-swap",
            "title": {"zh": "UPS 更换", "en": "UPS replacement"},
            "content": {"en": "UPS A is replaced"},
            "start": "2026-11-28 22:00",
            "end": "2026-11-29 02:00",
            "scope": "partial",
            "urgency": "urgent",
        }
    )

    def phase(text: str) -> str | None:
        return due_phase(notice, dt.datetime.fromisoformat(text))

    assert phase("2026-11-27 21:00") is None
    assert phase("2026-11-27 22:30") == "before:86400"
    assert phase("2026-11-28 21:30") == "before:3600"
    assert phase("2026-11-28 23:00") == "start"
    assert phase("2026-11-29 03:00") == "end"
    assert phase("2026-11-30 03:00") is None


async def test_notice_is_announced_once_per_phase_to_its_audience(tmp_path: Path) -> None:
    clock = Clock()  # 2025-11-23 12:00 Asia/Shanghai
    notice = {
        "id": "ups-swap",
        "title": {"zh": "UPS 更换", "en": "UPS replacement"},
        "content": {"en": "UPS A is replaced; power may blink."},
        "action": {"en": "save your work"},
        "start": "2025-11-23T13:00:00+08:00",
        "end": "2025-11-23T15:00:00+08:00",
        "scope": "all",
    }
    svc = await service(tmp_path, clock, config(tmp_path, notices=[notice]))
    try:
        for _ in range(4):
            await svc.tick()
            clock.advance(60)
        assert [m["subject"] for m in sent(tmp_path)] == ["[NOTICE] UPS replacement (upcoming)"]
        assert "save your work" in sent(tmp_path)[0]["text"]
        clock.advance(3600)
        await svc.tick()
        clock.advance(3 * 3600)
        await svc.tick()
        assert [m["subject"].split("(")[1] for m in sent(tmp_path)] == [
            "upcoming)",
            "starting now)",
            "completed)",
        ]
    finally:
        await svc.close()


async def test_a_failing_transaction_never_takes_another_tasks_writes_with_it(
    tmp_path: Path,
) -> None:
    import asyncio

    store = await open_store(f"sqlite:///{tmp_path / 'c.db'}")
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

    try:
        results = await asyncio.gather(failing(), other(), return_exceptions=True)
        assert isinstance(results[0], RuntimeError) and results[1] is None
        async with store.consistent():
            rows = await store._all("SELECT actor, action FROM audit")
        assert [(r["actor"], r["action"]) for r in rows] == [("b", "kept")]
    finally:
        await store.close()
