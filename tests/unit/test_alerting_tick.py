"""The alert service's tick reads the ticket store only when something can be due
(alerting/clockplan.py), on virtual time: what it plans comes on the second, what another
writer does is seen within STORE_LOOK_SECONDS, and idle seconds cost no query."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerting import clockplan, escalation, incidents, sla
from alerting.clockplan import STORE_LOOK_SECONDS, incident_wake
from alerting.config import AlertingConfig
from alerting.service import AlertService
from alerting.store import Incident, SqliteStore
from tests.unit.alerting_helpers import T0, Clock, fault, sent, service
from tests.unit.test_alerting_escalation import cfg


async def other_writer(tmp_path: Path) -> SqliteStore:
    """A second connection to the same file, as `roomwatch incidents ack` opens."""
    return await SqliteStore.open(f"sqlite:///{tmp_path / 'tickets.db'}")


def count_reads(svc: AlertService) -> list[str]:
    """Every query the service's store runs from now on (its SQL)."""
    seen: list[str] = []
    store: Any = svc.store
    for name in ("_all", "_one", "_exec"):
        inner = getattr(store, name)

        async def counted(sql: str, params: Any = (), _inner: Any = inner) -> Any:
            seen.append(sql)
            return await _inner(sql, params)

        setattr(store, name, counted)
    return seen


async def tick_for(svc: AlertService, clock: Clock, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(1)
        await svc.tick()


async def test_idle_seconds_read_the_store_once_per_look(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.tick()  # the first look
        await svc.recheck(list)
        queries = count_reads(svc)
        seconds_read = 0
        for _ in range(60):
            before = len(queries)
            clock.advance(1)
            await svc.tick()
            await svc.recheck(list)
            seconds_read += len(queries) > before
        # nothing due: the store is read once per STORE_LOOK_SECONDS (it was every second)
        assert seconds_read == 60 // STORE_LOOK_SECONDS
    finally:
        await svc.close()


async def test_a_fault_recorded_here_is_told_at_the_next_tick(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    try:
        await svc.tick()
        clock.advance(1)
        await svc.tick()  # planned the next look 5 s ahead
        await svc.handle([fault("srv1")])
        clock.advance(1)
        await svc.tick()
        assert [m["kind"] for m in sent(tmp_path)] == ["opened"]
    finally:
        await svc.close()


async def test_an_ack_by_another_writer_is_noticed_within_the_bound(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roomwatch")
    clock = Clock()
    svc = await service(tmp_path, clock)
    cli = await other_writer(tmp_path)
    try:
        await svc.handle([fault("srv1", level=2)])
        await svc.tick()
        async with cli.transaction():
            await incidents.acknowledge(cli, 1, "zhang", clock(), None)
        noticed_after = None
        for second in range(1, 10):
            clock.advance(1)
            await svc.tick()
            if any("outside this daemon" in r.getMessage() for r in caplog.records):
                noticed_after = second
                break
        assert noticed_after is not None and noticed_after <= STORE_LOOK_SECONDS
        assert svc.stats()["incidents_acknowledged"] == 1
    finally:
        await cli.close()
        await svc.close()


async def test_a_notification_queued_by_another_writer_is_delivered_within_the_bound(
    tmp_path: Path,
) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    cli = await other_writer(tmp_path)
    try:
        await tick_for(svc, clock, 3)
        async with cli.transaction():  # e.g. the CLI's resolve queues the recovery notice
            assert await cli.enqueue(
                incident_id=None,
                notifier="file",
                kind="notice",
                dedup="from-the-cli",
                group_key="",
                recipients={"people": [], "names": []},
                payload={"kind": "notice", "notice": "n1", "phase": "start", "ts": clock()},
                now=clock(),
                due=clock(),
            )
        queued = clock()
        while not sent(tmp_path):
            assert clock() - queued < STORE_LOOK_SECONDS, "not delivered within the bound"
            clock.advance(1)
            await svc.tick()
        assert len(sent(tmp_path)) == 1
        await tick_for(svc, clock, 20)
        assert len(sent(tmp_path)) == 1  # sent once
    finally:
        await cli.close()
        await svc.close()


async def told_at(svc: AlertService, clock: Clock, tmp_path: Path, until: float) -> list[Any]:
    """(kind, seconds since `clock` was first read) of each message, ticking every second."""
    start = clock.now
    out: list[tuple[str, float]] = []
    while clock.now < start + until:
        clock.advance(1)
        before = len(sent(tmp_path))
        await svc.tick()
        out += [(m["kind"], clock.now - start) for m in sent(tmp_path)[before:]]
    return out


async def test_escalation_tiers_come_on_the_second(tmp_path: Path) -> None:
    clock = Clock()  # Shanghai noon: zhang on duty, li the team lead, wang the manager
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        await svc.handle([fault(level=1)])
        await svc.tick()
        # level 1: the team lead at the 5-minute respond clock, the manager at 15 minutes
        assert await told_at(svc, clock, tmp_path, 16 * 60) == [
            ("escalated", 300.0),
            ("escalated", 900.0),
        ]
    finally:
        await svc.close()


async def test_an_ack_by_another_writer_a_second_before_a_tier_stops_it(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    cli = await other_writer(tmp_path)
    try:
        start = clock.now
        await svc.handle([fault(level=1)])
        await svc.tick()
        await tick_for(svc, clock, 298)  # the look due at 300 s is planned by now
        clock.advance(1)
        async with cli.transaction():
            await incidents.acknowledge(cli, 1, "zhang", clock(), None)
        await tick_for(svc, clock, 20 * 60)
        assert clock.now - start > 900  # past both later tiers
        assert [m["kind"] for m in sent(tmp_path)] == ["opened"]
    finally:
        await cli.close()
        await svc.close()


async def test_a_reminder_comes_on_the_second(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path, repeat={1: "0s", 2: "7m", 3: "0s"}))
    try:
        await svc.handle([fault(level=2)])
        await svc.tick()
        # level 2's team lead comes at 10 minutes; the reminder 7 minutes after the opening
        assert await told_at(svc, clock, tmp_path, 8 * 60) == [("reminder", 420.0)]
    finally:
        await svc.close()


async def test_a_clock_set_back_does_not_stop_the_looks(tmp_path: Path) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock)
    cli = await other_writer(tmp_path)
    try:
        await svc.tick()
        clock.advance(-3600)  # the wall clock corrected by an hour
        async with cli.transaction():
            await cli.enqueue(
                incident_id=None,
                notifier="file",
                kind="notice",
                dedup="after-the-jump",
                group_key="",
                recipients={"people": [], "names": []},
                payload={"kind": "notice", "notice": "n1", "phase": "start", "ts": clock()},
                now=clock(),
                due=clock(),
            )
        await svc.tick()
        assert len(sent(tmp_path)) == 1
    finally:
        await cli.close()
        await svc.close()


# -- the plan mirrors the clocks ---------------------------------------------------------


def incidents_to_plan() -> Iterator[Incident]:
    """Incidents in many states of their clocks (ids only tell them apart)."""
    ids = itertools.count(1)
    for level, state, tier, told, acked, suppressed in itertools.product(
        (1, 2, 3),
        ("open", "acknowledged"),
        (0, 1, 2, 3),
        (None, T0 + 30),
        (None, T0 + 200),
        (None, "flapping", "maintenance"),
    ):
        if state == "acknowledged" and acked is None:
            continue
        yield Incident(
            id=next(ids),
            key=f"k{level}",
            rule="cpu-high",
            grp="hosts",
            device="srv1",
            metric="cpu.usage",
            site="dc1",
            labels={},
            level=level,
            state=state,
            suppressed=suppressed,
            stale=False,
            summary={"en": "CPU high"},
            runbook=None,
            value=97.0,
            since=T0,
            opened_at=T0,
            active_since=T0,
            level_since=T0,
            updated_at=T0,
            acknowledged_at=acked,
            acknowledged_by="zhang" if acked is not None else None,
            arrived_at=None,
            arrived_by=None,
            resolved_at=None,
            resolved_by=None,
            closed_at=None,
            assignee=None,
            occurrences=1,
            problem_id=None,
            tier=tier,
            reminders=0,
            last_notified_at=told,
        )


def something_due(incident: Incident, config: AlertingConfig, after: float, t: float) -> bool:
    """Whether the clocks of Dispatcher.run_clocks have anything new to do at `t` that they
    had not at `after` (the pure predicates of sla.py and escalation.py)."""
    tiers = config.tiers_for(incident.level)
    newly = {i for i, _ in escalation.due_tiers(incident, tiers, t)} - {
        i for i, _ in escalation.due_tiers(incident, tiers, after)
    }
    interval = config.repeat_for(incident.level)
    reminder = escalation.reminder_due(incident, interval, t) and not escalation.reminder_due(
        incident, interval, after
    )
    promote = sla.promotion_due(incident, config.promote_after, t) and not sla.promotion_due(
        incident, config.promote_after, after
    )
    targets = config.sla_for(incident.level)
    breached = {c.clock for c in sla.breaches(incident, targets, t)} - {
        c.clock for c in sla.breaches(incident, targets, after)
    }
    return bool(newly or reminder or promote or breached)


def test_the_plan_wakes_exactly_when_a_clock_first_has_something_to_do() -> None:
    config = cfg(Path("/nonexistent"), repeat={1: "30m", 2: "1h", 3: "0s"})
    config = config.model_copy(update={"promote_after": 7200.0})
    looked = T0 + 100
    checked = 0
    for incident in incidents_to_plan():
        wake = incident_wake(incident, config, looked)
        if wake is None:
            assert not something_due(incident, config, looked, looked + 86400 * 2)
            continue
        if wake <= looked:
            continue  # held at this look (a tier or reminder due): looked at again next tick
        assert not something_due(incident, config, looked, wake - 1), incident
        assert something_due(incident, config, looked, wake), incident
        checked += 1
    assert checked > 50  # the grid plans something for most of them


def test_next_look_is_never_later_than_the_bound() -> None:
    config = cfg(Path("/nonexistent"))
    assert clockplan.next_look([], None, config, T0) == T0 + STORE_LOOK_SECONDS
    assert clockplan.next_look([], T0 + 2, config, T0) == T0 + 2


async def test_a_breached_clock_is_recorded_once_and_not_asked_again_at_every_look(
    tmp_path: Path,
) -> None:
    clock = Clock()
    svc = await service(tmp_path, clock, cfg(tmp_path))
    try:
        await svc.handle([fault(level=1)])
        await svc.tick()
        queries = count_reads(svc)
        await tick_for(svc, clock, 20 * 60)  # respond (5 min) and arrive (10 min) run out
        assert sorted(b.clock for b in await svc.store.breaches(1)) == ["arrive", "respond"]
        inserts = sum(q.startswith("INSERT INTO breaches") for q in queries)
        # each recorded, then asked once more (the answer "recorded already" is remembered);
        # it was asked again at every look, every second, as long as the incident stayed open
        assert inserts == 4
    finally:
        await svc.close()
