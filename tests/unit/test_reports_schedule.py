"""When reports fall due, and how a due report is built once, kept, and mailed through the
outbox (delivered here by the file channel, the way the daemon's tick delivers it)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from alerting.config import AlertingConfig
from alerting.outbox import Outbox
from alerting.reports.config import ReportsConfig
from alerting.reports.schedule import ReportScheduler, due_reports
from alerting.service import build_notifiers
from alerting.store import TicketStore, open_store
from core.sample import Sample
from inventory.credentials import Credentials
from inventory.model import Device, Inventory, Site
from probes.base import ProbeSettings

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TZ)


SCHEDULE = ReportsConfig.model_validate(
    {
        "timezone": "Asia/Shanghai",
        "monthly": {"at": "08:00", "quarterly": True},
        "inspection": {"at": "08:30"},
    }
)


def due(moment: dt.datetime) -> list[str]:
    return [d.name for d in due_reports(SCHEDULE, moment)]


def test_monthly_report_is_due_from_the_first_day_at_its_time_for_the_month_before() -> None:
    assert due(local(12, 1, 7, 59)) == []
    assert due(local(12, 1, 8, 0)) == ["monthly-2026-11"]
    assert due(local(12, 7, 6, 0)) == ["monthly-2026-11"]  # caught up after downtime
    assert due(local(12, 8, 6, 0)) == []


def test_quarterly_report_is_due_on_the_first_day_of_a_quarter() -> None:
    assert due(local(1, 1, 8, 0, year=2027)) == ["monthly-2026-12", "quarterly-2026Q4"]
    assert due(local(11, 1, 8, 0)) == ["monthly-2026-10"]


def test_inspection_sheet_is_due_every_day_from_its_time() -> None:
    assert due(local(11, 23, 8, 29)) == []
    assert due(local(11, 23, 8, 30)) == ["inspection-2026-11-23"]
    assert due(local(11, 23, 23, 59)) == ["inspection-2026-11-23"]


def test_nothing_is_scheduled_without_the_section() -> None:
    assert due_reports(ReportsConfig(), local(12, 1, 9)) == []


def config(tmp_path: Path) -> AlertingConfig:
    return AlertingConfig.model_validate(
        {
            "language": "en",
            "notifiers": [
                {"type": "file", "name": "reports-file", "path": str(tmp_path / "sent.jsonl")},
                {"type": "email", "name": "mail", "host": "127.0.0.1", "sender": "rw@example.org"},
            ],
            "reports": {
                "timezone": "Asia/Shanghai",
                "monthly": {
                    "at": "08:00",
                    "notifiers": ["reports-file", "mail"],
                    "to": ["boss@example.org"],
                },
                "inspection": {"at": "08:30", "notifiers": ["reports-file"], "format": "md"},
            },
        }
    )


INVENTORY = Inventory(
    sites={"dc1": Site("dc1", "DC 1")},
    devices={"th1": Device("th1", "Room sensor", "sensor", 2, site="dc1", room="A")},
)


async def tick(
    scheduler: ReportScheduler,
    store: TicketStore,
    cfg: AlertingConfig,
    now: float,
    samples: list[Sample],
) -> list[Path]:
    return await scheduler.tick(
        now,
        store=store,
        config=cfg,
        inventory=INVENTORY,
        rules=[],
        samples=lambda: samples,
        windows=lambda: [],
    )


@pytest.fixture
async def store() -> AsyncIterator[TicketStore]:
    opened = await open_store("sqlite://:memory:")
    yield opened
    await opened.close()


async def test_due_report_is_built_once_kept_and_queued_on_its_channels(
    tmp_path: Path, store: TicketStore
) -> None:
    cfg = config(tmp_path)
    scheduler = ReportScheduler(tmp_path / "reports")
    now = local(12, 1, 8, 5).timestamp()
    written = await tick(scheduler, store, cfg, now, [])
    assert written == [tmp_path / "reports" / "monthly-2026-11.html"]
    assert "Monthly service report 2026-11" in written[0].read_text(encoding="utf-8")
    rows = await store.outbox_items()
    assert [(r.notifier, r.kind, r.dedup) for r in rows] == [
        ("reports-file", "report", "report:monthly:2026-11:reports-file"),
        ("mail", "report", "report:monthly:2026-11:mail"),
    ]
    assert rows[1].recipients["emails"] == ["boss@example.org"]
    # the next tick, and a restarted daemon, neither rebuild nor queue it again
    assert await tick(scheduler, store, cfg, now + 1, []) == []
    assert await tick(ReportScheduler(tmp_path / "reports"), store, cfg, now + 2, []) == []
    assert len(await store.outbox_items()) == 2


async def test_queued_report_is_delivered_as_itself_through_the_outbox(
    tmp_path: Path, store: TicketStore
) -> None:
    cfg = config(tmp_path)
    now = local(12, 1, 8, 5).timestamp()
    await tick(ReportScheduler(tmp_path / "reports"), store, cfg, now, [])
    notifiers = build_notifiers(cfg, Credentials({}), tmp_path)
    outbox = Outbox(store, {"reports-file": notifiers["reports-file"]}, cfg, lambda: TZ)
    assert await outbox.deliver(now + 60) == 1
    sent = [json.loads(line) for line in (tmp_path / "sent.jsonl").read_text().splitlines()]
    assert len(sent) == 1
    assert sent[0]["kind"] == "report"
    assert sent[0]["subject"] == "[roomwatch] Monthly service report 2026-11"
    assert "## Incidents and SLA by level" in sent[0]["text"]  # the whole report, in Markdown
    # sent means sent: the next delivery sends nothing again
    assert await outbox.deliver(now + 120) == 0


async def test_inspection_sheet_waits_for_the_first_readings(
    tmp_path: Path, store: TicketStore
) -> None:
    cfg = config(tmp_path)
    scheduler = ReportScheduler(tmp_path / "reports")
    now = local(11, 23, 8, 31).timestamp()
    assert await tick(scheduler, store, cfg, now, []) == []
    reading = Sample("th1", "ambient.temperature", 23.5, {}, "C", now)
    written = await tick(scheduler, store, cfg, now + 1, [reading])
    assert written == [tmp_path / "reports" / "inspection-2026-11-23.md"]
    sheet = written[0].read_text(encoding="utf-8")
    assert "| th1 | Room sensor | - | 23.5 |" in sheet
    assert [r.dedup for r in await store.outbox_items()] == [
        "report:inspection:2026-11-23:reports-file"
    ]


async def test_inspection_sheet_waits_for_every_device_to_answer_once_or_for_the_grace(
    tmp_path: Path, store: TicketStore
) -> None:
    cfg = config(tmp_path)
    polled = Device(
        "srv", "Server", "server", 2, site="dc1", room="A", probes=(ProbeSettings(type="local"),)
    )
    late = Device(
        "sw", "Switch", "switch", 2, site="dc1", room="A", probes=(ProbeSettings(type="local"),)
    )
    inventory = Inventory(sites=INVENTORY.sites, devices={"srv": polled, "sw": late})
    scheduler = ReportScheduler(tmp_path / "reports")
    now = local(11, 23, 9, 0).timestamp()
    first = [Sample("srv", "device.up", 1, {}, None, now)]

    async def run(at: float, samples: list[Sample]) -> list[Path]:
        return await scheduler.tick(
            at,
            store=store,
            config=cfg,
            inventory=inventory,
            rules=[],
            samples=lambda: samples,
            windows=lambda: [],
        )

    assert await run(now, first) == []  # the switch has not answered yet
    assert await run(now + 60, first) == []
    both = [*first, Sample("sw", "device.up", 0, {}, None, now + 61)]
    assert len(await run(now + 61, both)) == 1  # everyone answered (the switch: down)


async def test_inspection_sheet_goes_out_after_the_grace_even_if_a_device_never_answers(
    tmp_path: Path, store: TicketStore
) -> None:
    cfg = config(tmp_path)
    never = Device("sw", "Switch", "switch", 2, site="dc1", probes=(ProbeSettings(type="local"),))
    inventory = Inventory(sites=INVENTORY.sites, devices={**INVENTORY.devices, "sw": never})
    scheduler = ReportScheduler(tmp_path / "reports")
    now = local(11, 23, 9, 0).timestamp()
    samples = [Sample("th1", "ambient.temperature", 22.0, {}, None, now)]

    async def run(at: float) -> list[Path]:
        return await scheduler.tick(
            at,
            store=store,
            config=cfg,
            inventory=inventory,
            rules=[],
            samples=lambda: samples,
            windows=lambda: [],
        )

    assert await run(now) == []
    assert await run(now + 119) == []
    assert len(await run(now + 120)) == 1
