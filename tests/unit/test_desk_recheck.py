"""A fault resolved by hand while its condition still holds, through the real rule engine and
alerting service on virtual time: the engine keeps the fault firing (it emits nothing new, the
condition never changed), the daemon's recheck asks it, and the incident reopens as a new
occurrence that says why. A maintenance window holds the reopen until it ends."""

from __future__ import annotations

from pathlib import Path

from inventory.model import Selector
from rules.maintenance import MaintenanceWindow
from tests.unit.alerting_helpers import Clock, service
from tests.unit.rules_cases.helpers import engine_for, feed, s
from tests.unit.test_rules_engine import TEMPERATURE


async def test_hand_resolved_while_hot_reopens_at_the_next_evaluation(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    clock = Clock(0.0)
    svc = await service(tmp_path, clock)
    try:
        for t in (0.0, 60.0, 120.0):
            clock.now = t
            await svc.handle(feed(engine, t, s("sensor1", "ambient.temperature", 31)))
        [incident] = await svc.store.list_incidents()
        assert engine.firing(120.0)[0].key == incident.key
        clock.now = 180.0
        await svc.resolve(incident.id, "li")
        # still 31 °C: the engine has nothing new to say, the tile would stay green
        assert feed(engine, 180.0, s("sensor1", "ambient.temperature", 31)) == []
        clock.now = 181.0
        [change] = await svc.recheck(lambda: engine.firing(181.0))
        assert change.kind == "reopened" and change.incident.state == "open"
        history = await svc.store.occurrences(incident.id)
        assert [(o.n, o.resolved_by) for o in history] == [(1, "li"), (2, None)]
        assert history[1].note == "still failing after it was resolved by hand by li"
        assert "reopened" in [a.action for a in await svc.store.audit_log(incident.id)]
    finally:
        await svc.close()


async def test_a_maintenance_window_holds_the_reopen_until_it_ends(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    clock = Clock(0.0)
    svc = await service(tmp_path, clock)
    try:
        for t in (0.0, 60.0, 120.0):
            clock.now = t
            await svc.handle(feed(engine, t, s("sensor1", "ambient.temperature", 31)))
        [incident] = await svc.store.list_incidents()
        await svc.resolve(incident.id, "li")
        window = MaintenanceWindow("mw", Selector(id=("sensor1",)), 150.0, 600.0, reason="swap")
        engine.set_maintenance([window])
        clock.now = 200.0
        await svc.handle(engine.tick(200.0))
        assert await svc.recheck(lambda: engine.firing(200.0)) == []
        assert (await svc.store.get(incident.id)).state == "resolved"
        clock.now = 601.0
        # the window ends with the fault still there: the engine says so, and it reopens
        [change] = await svc.handle(engine.tick(601.0))
        assert change.kind == "reopened" and not change.incident.quiet
        assert (await svc.store.occurrences(incident.id))[-1].note == (
            "still failing after it was resolved by hand by li"
        )
        assert await svc.recheck(lambda: engine.firing(601.0)) == []
    finally:
        await svc.close()


async def test_a_condition_gone_by_the_recheck_leaves_it_resolved(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    clock = Clock(0.0)
    svc = await service(tmp_path, clock)
    try:
        for t in (0.0, 60.0, 120.0):
            clock.now = t
            await svc.handle(feed(engine, t, s("sensor1", "ambient.temperature", 31)))
        [incident] = await svc.store.list_incidents()
        await svc.resolve(incident.id, "li")
        for t in (130.0, 200.0, 400.0):
            clock.now = t
            await svc.handle(feed(engine, t, s("sensor1", "ambient.temperature", 22)))
        assert await svc.recheck(lambda: engine.firing(400.0)) == []
        assert await svc.store.to_recheck() == []
        assert (await svc.store.get(incident.id)).state == "resolved"
    finally:
        await svc.close()
