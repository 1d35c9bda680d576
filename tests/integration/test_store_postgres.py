"""The PostgreSQL ticket store with real processes: two collectors recording the same fault at
the same instant make one incident, and `roomwatch store copy` moves a month of SQLite history
so that the monthly report on PostgreSQL is the same document."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alerting.config import AlertingConfig
from alerting.reports import jobs
from alerting.reports.output import monthly
from alerting.reports.period import parse_period
from alerting.store import open_store
from collector.cli import main
from tests.fixtures.peers import REPO
from tests.fixtures.postgres import PG_PASSWORD
from tests.unit import test_reports_monthly as month

pytestmark = pytest.mark.integration


def test_two_processes_raising_one_fault_at_one_instant_make_one_incident(
    pg_store_url: str, tmp_path: Path
) -> None:
    start_at = time.time() + 2.5  # both have opened the store by then
    procs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.fixtures.store_race",
                    pg_store_url,
                    str(start_at),
                    str(tmp_path / name),
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    kinds = sorted(out.strip() for out, _ in results)
    assert kinds == ["opened", "updated"]  # one opened it; the other found it open

    async def check() -> tuple[int, int]:
        store = await open_store(pg_store_url, password=PG_PASSWORD)
        try:
            incidents = await store.list_incidents()
            queued = await store.outbox_items()
        finally:
            await store.close()
        return len(incidents), len([q for q in queued if q.kind == "opened"])

    assert asyncio.run(check()) == (1, 1)


async def _report(url: str, password: str | None) -> str:
    store = await open_store(url, password=password)
    try:
        report = await jobs.monthly_report(
            store,
            AlertingConfig(),
            month.inventory(),
            month.WINDOWS,
            parse_period("2026-11", month.TZ),
            month.REPORT_TIME,
        )
    finally:
        await store.close()
    return monthly(report, "csv", "en", month.REPORT_TIME)


def test_store_copy_moves_a_month_so_the_monthly_report_is_the_same(
    pg_store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'tickets.db'}"

    async def fill() -> None:
        store = await open_store(sqlite_url)
        try:
            await month.play(store, month.generate())
        finally:
            await store.close()

    asyncio.run(fill())
    (tmp_path / "credentials.yaml").write_text(
        f"ticket-db:\n  password: {PG_PASSWORD}\n", encoding="utf-8"
    )
    os.chmod(tmp_path / "credentials.yaml", 0o600)
    config = tmp_path / "roomwatch.yaml"
    config.write_text(
        "rules: []\ncredentials: credentials.yaml\nstore: sqlite:tickets.db\n", encoding="utf-8"
    )
    argv = ["store", "copy", "-c", str(config), "--to", pg_store_url]
    assert main([*argv, "--to-credentials", "ticket-db"]) == 0
    first = capsys.readouterr().out
    assert "counts agree" in first
    # again: nothing new (idempotent), the same counts
    assert main([*argv, "--to-credentials", "ticket-db"]) == 0
    again = capsys.readouterr().out
    audit_line = next(line for line in again.splitlines() if line.startswith("audit "))
    source_n, added, target_n = (int(x) for x in audit_line.split()[1:])
    assert added == 0 and source_n == target_n > 100

    on_sqlite = asyncio.run(_report(sqlite_url, None))
    on_postgres = asyncio.run(_report(pg_store_url, PG_PASSWORD))
    assert on_postgres == on_sqlite
    assert len(on_sqlite.splitlines()) > 20  # a month's report, not an empty one

    async def audit_order(url: str, password: str | None) -> list[tuple[int, str]]:
        store = await open_store(url, password=password)
        try:
            return [(r["id"], r["action"]) async for r in store.rows("audit", "id")]
        finally:
            await store.close()

    assert asyncio.run(audit_order(pg_store_url, PG_PASSWORD)) == asyncio.run(
        audit_order(sqlite_url, None)
    )

    async def new_row_continues_ids() -> tuple[int, int]:
        store = await open_store(pg_store_url, password=PG_PASSWORD)
        try:
            async with store.transaction():
                await store.audit(None, month.REPORT_TIME, "li", "after-copy")
            ids = [r["id"] async for r in store.rows("audit", "id")]
        finally:
            await store.close()
        return ids[-1], ids[-2]

    last, before = asyncio.run(new_row_continues_ids())
    assert last == before + 1


def test_copy_into_a_desk_that_holds_other_rows_is_refused_and_rolled_back(
    pg_store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def prepare() -> None:
        other = await open_store(pg_store_url, password=PG_PASSWORD)
        try:
            async with other.transaction():
                for n in range(3):
                    await other.audit(None, float(n), "other-desk", "note")
        finally:
            await other.close()
        mine = await open_store(f"sqlite:///{tmp_path / 'tickets.db'}")
        try:
            async with mine.transaction():
                await mine.audit(None, 1.0, "me", "note")
        finally:
            await mine.close()

    asyncio.run(prepare())
    config = tmp_path / "roomwatch.yaml"
    config.write_text("rules: []\nstore: sqlite:tickets.db\n", encoding="utf-8")
    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)  # libpq's own environment, not credentials
    code = main(["store", "copy", "-c", str(config), "--to", pg_store_url])
    assert code == 2
    assert "rows of another desk" in capsys.readouterr().err
