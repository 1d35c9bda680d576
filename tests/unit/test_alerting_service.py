"""The alert service on virtual time: incidents from fault events, and what gets told when."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rules.fault import Suppression
from tests.unit.alerting_helpers import Clock, config, fault, sent, service


async def test_firing_fault_opens_incident_and_tells_the_channel(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault(level=2)])
        await svc.tick()
        [incident] = await svc.store.list_incidents()
        assert (incident.state, incident.level, incident.device) == ("open", 2, "srv1")
        [message] = sent(tmp_path)
        assert message["kind"] == "opened"
        assert "[L2 ALERT]" in message["subject"] and "srv1" in message["subject"]
        assert f"roomwatch incidents ack {incident.id} --by NAME" in message["text"]
    finally:
        await svc.close()


async def test_repeated_firing_event_keeps_one_incident_and_one_message(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault()])
        clock.advance(30)
        await svc.handle([fault(value=98.0)])
        await svc.tick()
        incidents = await svc.store.list_incidents()
        assert len(incidents) == 1 and incidents[0].value == 98.0
        assert len(sent(tmp_path)) == 1
    finally:
        await svc.close()


async def test_level_change_updates_the_same_incident_and_tells_who_was_told(
    tmp_path: Path,
) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault(level=3)])
        await svc.tick()
        clock.advance(60)
        await svc.handle([fault(level=1)])
        await svc.tick()
        [incident] = await svc.store.list_incidents()
        assert incident.level == 1
        kinds = [m["kind"] for m in sent(tmp_path)]
        assert kinds == ["opened", "level"]
        assert "up from L3" in sent(tmp_path)[1]["subject"]
        actions = [a.action for a in await svc.store.audit_log(incident.id)]
        assert "level" in actions
    finally:
        await svc.close()


async def test_recovery_resolves_and_sends_a_resolved_notice(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault()])
        await svc.tick()
        clock.advance(120)
        await svc.handle([fault(state="resolved", value=20.0)])
        await svc.tick()
        [incident] = await svc.store.list_incidents()
        assert incident.state == "resolved" and incident.resolved_by == "rules"
        last = sent(tmp_path)[-1]
        assert last["kind"] == "resolved" and last["subject"].startswith("[RESOLVED L2]")
    finally:
        await svc.close()


async def test_suppressed_fault_is_recorded_but_never_told(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault(suppressed=Suppression.DEPENDENCY)])
        clock.advance(3600)
        await svc.tick()
        await svc.handle([fault(state="resolved")])
        await svc.tick()
        [incident] = await svc.store.list_incidents()
        assert incident.suppressed == "dependency" and incident.state == "resolved"
        assert sent(tmp_path) == []
        assert await svc.store.breaches(incident.id) == []
    finally:
        await svc.close()


async def test_fault_recurring_within_reopen_window_reopens_the_incident(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, config(tmp_path, reopen_window="10m"))
    try:
        await svc.handle([fault()])
        await svc.tick()
        clock.advance(60)
        await svc.handle([fault(state="resolved")])
        await svc.tick()
        clock.advance(120)
        await svc.handle([fault()])
        await svc.tick()
        [incident] = await svc.store.list_incidents()
        assert (incident.state, incident.occurrences) == ("open", 2)
        assert [m["kind"] for m in sent(tmp_path)] == ["opened", "resolved", "reopened"]
    finally:
        await svc.close()


async def test_fault_after_reopen_window_opens_a_new_incident(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, config(tmp_path, reopen_window="10m"))
    try:
        await svc.handle([fault()])
        clock.advance(60)
        await svc.handle([fault(state="resolved")])
        clock.advance(11 * 60)
        await svc.tick()  # closes the resolved one
        await svc.handle([fault()])
        states = sorted((i.id, i.state) for i in await svc.store.list_incidents())
        assert states == [(1, "closed"), (2, "open")]
    finally:
        await svc.close()


async def test_audit_log_names_who_did_what(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.handle([fault()])
        clock.advance(60)
        await svc.ack(1, "zhang", note="looking")
        clock.advance(60)
        await svc.arrive(1, "zhang")
        clock.advance(60)
        await svc.resolve(1, "zhang", note="restarted the job")
        log = [(a.actor, a.action) for a in await svc.store.audit_log(1)]
        assert ("rules", "opened") in log
        assert ("zhang", "acknowledged") in log
        assert ("zhang", "arrived") in log
        assert ("zhang", "resolved") in log
        notes = [n.text for n in await svc.store.notes(1)]
        assert notes == ["looking", "restarted the job"]
    finally:
        await svc.close()


async def test_an_ack_made_outside_the_daemon_is_logged_when_the_daemon_sees_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from alerting import incidents

    caplog.set_level(logging.INFO, logger="roomwatch")
    clock = Clock()
    svc = await service(tmp_path, clock)
    await svc.handle([fault("srv1", level=1), fault("srv2", level=2)])
    await svc.tick()  # the daemon's first look: nothing acknowledged yet
    async with svc.store.transaction():  # as `roomwatch incidents ack 1 --by zhang` does
        await incidents.acknowledge(svc.store, 1, "zhang", clock(), None)
    await svc.ack(2, "li")  # through the daemon (the API): logged by it already
    await svc.tick()
    await svc.tick()
    await svc.close()
    outside = [r.getMessage() for r in caplog.records if "outside this daemon" in r.getMessage()]
    assert outside == [
        "incident 1 acknowledged by zhang (outside this daemon: the CLI, or another collector)"
    ]
    assert sum("incident 2 acknowledged by li" in r.getMessage() for r in caplog.records) == 1
