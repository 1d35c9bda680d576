"""Escalation, SLA clocks, reminders and promotion as timelines on virtual time: push a fault
at t, expect these messages between t1 and t2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alerting.config import AlertingConfig
from rules.fault import Suppression
from tests.unit.alerting_helpers import Clock, fault, sent, service

DUTY = {
    "timezone": "Asia/Shanghai",
    "people": {
        "zhang": {"name": "Zhang", "email": "zhang@example.org", "phone": "13800000001"},
        "li": {"name": "Li", "email": "li@example.org"},
        "wang": {"name": "Wang", "email": "wang@example.org"},
    },
    "roles": {"team-lead": ["li"], "manager": ["wang"]},
    "shifts": [
        {"name": "day", "start": "07:30", "end": "18:30", "rotation": ["zhang"]},
        {"name": "night", "start": "18:30", "end": "07:30", "mode": "phone", "rotation": ["li"]},
    ],
}


def cfg(tmp_path: Path, **extra: Any) -> AlertingConfig:
    data: dict[str, Any] = {
        "language": "en",
        "notifiers": [{"type": "file", "path": str(tmp_path / "alerts.jsonl")}],
        "group": {"wait": "0s"},
        "duty": DUTY,
        "repeat": {1: "0s", 2: "0s", 3: "0s"},
    }
    data.update(extra)
    return AlertingConfig.model_validate(data)


async def run_until(svc: Any, clock: Clock, until: float, step: float = 30.0) -> None:
    while clock.now < until:
        clock.advance(min(step, until - clock.now))
        await svc.tick()


def told(tmp_path: Path) -> list[tuple[str, list[str]]]:
    return [(m["kind"], m["recipients"].get("people", [])) for m in sent(tmp_path)]


async def test_unacknowledged_level1_escalates_to_lead_then_manager(tmp_path: Path) -> None:
    clock = Clock()  # 12:00 in Shanghai: the day shift, zhang
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        start = clock.now
        await svc.handle([fault(level=1)])
        await svc.tick()
        assert told(tmp_path) == [("opened", ["zhang"])]
        await run_until(svc, clock, start + 4 * 60)
        assert len(told(tmp_path)) == 1  # nothing before the 5-minute respond clock
        await run_until(svc, clock, start + 6 * 60)
        assert told(tmp_path)[-1] == ("escalated", ["li"])
        await run_until(svc, clock, start + 14 * 60)
        assert len(told(tmp_path)) == 2
        await run_until(svc, clock, start + 16 * 60)
        assert told(tmp_path)[-1] == ("escalated", ["wang"])
    finally:
        await svc.close()


async def test_acknowledgement_stops_escalation(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        start = clock.now
        await svc.handle([fault(level=1)])
        await svc.tick()
        clock.advance(120)
        await svc.ack(1, "zhang")
        await run_until(svc, clock, start + 3600)
        assert told(tmp_path) == [("opened", ["zhang"])]
        assert "respond" not in [b.clock for b in await svc.store.breaches(1)]
    finally:
        await svc.close()


async def test_night_fault_goes_to_the_phone_duty(tmp_path: Path) -> None:
    clock = Clock()
    clock.advance(8 * 3600)  # 20:00 in Shanghai
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        await svc.handle([fault(level=2)])
        await svc.tick()
        assert told(tmp_path) == [("opened", ["li"])]
    finally:
        await svc.close()


async def test_sla_breaches_are_recorded_with_their_clock(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        start = clock.now
        await svc.handle([fault(level=2)])
        await run_until(svc, clock, start + 9 * 60)
        assert await svc.store.breaches(1) == []
        await run_until(svc, clock, start + 11 * 60)
        [respond] = await svc.store.breaches(1)
        assert (respond.clock, respond.level, respond.due) == ("respond", 2, start + 600)
        await svc.ack(1, "zhang")
        await run_until(svc, clock, start + 16 * 60)
        assert [b.clock for b in await svc.store.breaches(1)] == ["respond", "arrive"]
    finally:
        await svc.close()


async def test_arrival_in_time_keeps_the_on_site_clock_clean(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        start = clock.now
        await svc.handle([fault(level=1)])
        clock.advance(3 * 60)
        await svc.ack(1, "zhang")
        clock.advance(5 * 60)
        await svc.arrive(1, "zhang")
        await run_until(svc, clock, start + 3600, step=60)
        assert await svc.store.breaches(1) == []
    finally:
        await svc.close()


async def test_repair_breach_tells_the_managers(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        start = clock.now
        await svc.handle([fault(level=1)])
        clock.advance(60)
        await svc.ack(1, "zhang")
        await run_until(svc, clock, start + 4 * 3600 - 60, step=600)
        assert all(kind != "breach" for kind, _ in told(tmp_path))
        await run_until(svc, clock, start + 4 * 3600 + 60, step=60)
        breach = [m for m in sent(tmp_path) if m["kind"] == "breach"]
        assert len(breach) == 1
        assert breach[0]["recipients"]["people"] == ["wang"]
        assert "SLA BREACH: repair" in breach[0]["subject"]
    finally:
        await svc.close()


async def test_incident_unresolved_for_a_day_moves_up_one_level(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        start = clock.now
        await svc.handle([fault(level=3)])
        clock.advance(60)
        await svc.ack(1, "zhang")
        await run_until(svc, clock, start + 24 * 3600 - 120, step=3600)
        assert (await svc.store.get(1)).level == 3
        await run_until(svc, clock, start + 24 * 3600 + 60, step=60)
        incident = await svc.store.get(1)
        assert incident.level == 2
        assert any(
            a.action == "level" and a.actor == "system" for a in await svc.store.audit_log(1)
        )
    finally:
        await svc.close()


async def test_unacknowledged_incident_is_repeated_at_the_level_interval(tmp_path: Path) -> None:
    clock = Clock()
    escalation = {2: [{"after": "0m", "notify": ["on-duty"]}]}
    svc = await service(tmp_path, clock, cfg(tmp_path, repeat={2: "30m"}, escalation=escalation))
    try:
        start = clock.now
        await svc.handle([fault(level=2)])
        await svc.tick()
        await run_until(svc, clock, start + 29 * 60, step=60)
        assert [k for k, _ in told(tmp_path)] == ["opened"]
        await run_until(svc, clock, start + 31 * 60, step=60)
        assert told(tmp_path)[-1] == ("reminder", ["zhang"])
        await run_until(svc, clock, start + 61 * 60, step=60)
        assert [k for k, _ in told(tmp_path)] == ["opened", "reminder", "reminder"]
        await svc.ack(1, "zhang")
        await run_until(svc, clock, start + 3 * 3600, step=300)
        assert len(told(tmp_path)) == 3
    finally:
        await svc.close()


async def test_recovery_goes_to_everyone_who_was_told(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        start = clock.now
        await svc.handle([fault(level=1)])
        await run_until(svc, clock, start + 6 * 60)
        clock.advance(30)
        await svc.handle([fault(level=1, state="resolved")])
        await svc.tick()
        kind, people = told(tmp_path)[-1]
        assert kind == "resolved"
        assert sorted(people) == ["li", "zhang"]
    finally:
        await svc.close()


async def test_suppressed_incident_runs_no_clocks_until_the_suppression_ends(
    tmp_path: Path,
) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        start = clock.now
        await svc.handle([fault(level=1, suppressed=Suppression.MAINTENANCE)])
        await run_until(svc, clock, start + 3600, step=300)
        assert told(tmp_path) == []
        assert await svc.store.breaches(1) == []
        await svc.handle([fault(level=1)])  # the window ended, the fault is still there
        await svc.tick()
        assert told(tmp_path) == [("opened", ["zhang"])]
    finally:
        await svc.close()


async def test_flapping_incident_is_told_once_and_not_escalated(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path, repeat={1: "10m"}))
    try:
        start = clock.now
        await svc.handle([fault(level=1, suppressed=Suppression.FLAPPING)])
        await run_until(svc, clock, start + 3600, step=60)
        assert told(tmp_path) == [("opened", ["zhang"])]
    finally:
        await svc.close()


async def test_incident_nobody_can_be_told_of_says_so_in_its_audit_log(tmp_path: Path) -> None:
    clock = Clock()
    mail_only = [{"type": "email", "host": "127.0.0.1", "sender": "rw@example.org"}]
    svc = await service(tmp_path, clock, cfg(tmp_path, notifiers=mail_only, duty={}))
    try:
        await svc.handle([fault(level=1)])
        audit = [(a.action, a.detail.get("why")) for a in await svc.store.audit_log(1)]
        assert ("not-told", "no channel reaches anyone") in audit
        assert await svc.store.outbox_items() == []
    finally:
        await svc.close()


async def test_reminder_after_a_shift_change_reaches_the_incoming_duty_too(tmp_path: Path) -> None:
    # opened at 18:20 to the day shift (zhang), still unacknowledged when the night shift
    # (li) takes over at 18:30: the next reminder must not go to the day shift alone
    clock = Clock()
    clock.advance(6 * 3600 + 20 * 60)  # 18:20 in Shanghai
    escalation = {2: [{"after": "0m", "notify": ["on-duty"]}]}
    svc = await service(tmp_path, clock, cfg(tmp_path, repeat={2: "30m"}, escalation=escalation))
    try:
        start = clock.now
        await svc.handle([fault(level=2)])
        await svc.tick()
        assert told(tmp_path) == [("opened", ["zhang"])]
        await run_until(svc, clock, start + 31 * 60, step=60)  # 18:51
        reminders = [people for kind, people in told(tmp_path) if kind == "reminder"]
        assert sorted(p for people in reminders for p in people) == ["li", "zhang"]
        await run_until(svc, clock, start + 61 * 60, step=60)  # both heard: one more each
        reminders = [people for kind, people in told(tmp_path) if kind == "reminder"]
        assert sorted(p for people in reminders for p in people) == ["li", "li", "zhang", "zhang"]
    finally:
        await svc.close()


async def test_told_fault_whose_parent_went_down_and_came_back_is_not_called_untold(
    tmp_path: Path, caplog: Any
) -> None:
    # told, then suppressed by a parent going down, then the parent returns with the fault
    # still there: the first tier was already told, so "no channel reaches anyone" is false
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        await svc.handle([fault(level=2)])
        await svc.tick()
        clock.advance(60)
        await svc.handle([fault(level=2, suppressed=Suppression.DEPENDENCY)])
        clock.advance(300)
        await svc.handle([fault(level=2)])
        await svc.tick()
        assert told(tmp_path) == [("opened", ["zhang"])]
        actions = [(e.action, e.detail) for e in await svc.store.audit_log(1)]
        assert ("not-told", {"why": "no channel reaches anyone"}) not in actions
        assert "no alert channel reaches anyone" not in caplog.text
    finally:
        await svc.close()
