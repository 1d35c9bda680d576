"""Edge collectors on one PostgreSQL store, as real processes (issue 14, tests a, b, d):
active/standby per shard with leases on the database clock, fencing of a collector that lost
its lease, exactly one message per step, and a silent collector named in an incident."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.cluster import (
    Desk,
    WebhookReceiver,
    eventually,
    start_collector,
    stop_collector,
    wait_started,
    write_collector,
    write_desk,
)
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration

FAILOVER = 5.0  # collector.failover in these tests: a standby takes over within it


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def test_standby_takes_over_a_killed_collector_and_nothing_is_sent_twice(
    tmp_path: Path, pg_store_url: str, website: Website, hook: WebhookReceiver
) -> None:
    write_desk(tmp_path, pg_store_url, website.port, hook.port, escalate_after="12s")
    desk = Desk(pg_store_url)
    configs = {name: write_collector(tmp_path, name) for name in ("c1", "c2")}
    procs = {name: start_collector(config) for name, config in configs.items()}
    try:
        wait_started(*configs.values())
        eventually(lambda: desk.holder("hall-a") is not None, "a holder for shard hall-a")
        website.healthy = False
        eventually(lambda: hook.kinds() == ["opened"], "the opened message")
        opened_at = hook.received[0][0]
        active = desk.holder("hall-a")
        assert active in procs
        standby = next(name for name in procs if name != active)

        procs[active].send_signal(signal.SIGKILL)
        killed_at = time.time()
        procs[active].wait(timeout=10)
        taken_at = eventually(lambda: desk.holder("hall-a") == standby, "the takeover")
        assert taken_at - killed_at <= FAILOVER

        # escalation carries on from the store's clocks, on time, from the standby
        eventually(lambda: "escalated" in hook.kinds(), "the escalation", timeout=30)
        escalated_at = hook.received[hook.kinds().index("escalated")][0]
        assert 12.0 - 1.5 <= escalated_at - opened_at <= 12.0 + 3.0

        website.healthy = True
        eventually(lambda: "resolved" in hook.kinds(), "the recovery", timeout=30)
        time.sleep(2.5)  # anything doubled would have arrived by now
        assert hook.kinds() == ["opened", "escalated", "resolved"]
        [(incident_id, _key, state, shard)] = desk.incidents()
        assert (state, shard) == ("resolved", "hall-a")
        senders = desk.query(
            "SELECT kind, sent_by FROM outbox WHERE incident_id = %s ORDER BY id", (incident_id,)
        )
        assert senders == [("opened", active), ("escalated", standby), ("resolved", standby)]
        actors = {row[0] for row in desk.query("SELECT DISTINCT collector FROM audit")}
        assert {active, standby} <= actors
    finally:
        for proc in procs.values():
            stop_collector(proc)


def test_a_paused_collector_writes_and_sends_nothing_after_losing_its_lease(
    tmp_path: Path, pg_store_url: str, website: Website, hook: WebhookReceiver
) -> None:
    write_desk(tmp_path, pg_store_url, website.port, hook.port, escalate_after="1h")
    desk = Desk(pg_store_url)
    configs = {name: write_collector(tmp_path, name) for name in ("c1", "c2")}
    procs = {name: start_collector(config) for name, config in configs.items()}
    try:
        wait_started(*configs.values())
        eventually(lambda: desk.holder("hall-a") is not None, "a holder for shard hall-a")
        active = desk.holder("hall-a")
        assert active in procs
        standby = next(name for name in procs if name != active)
        os.kill(procs[active].pid, signal.SIGSTOP)
        eventually(lambda: desk.holder("hall-a") == standby, "the takeover")
        # the fault starts while the old holder sleeps: the standby alone tells of it
        website.healthy = False
        eventually(lambda: hook.kinds() == ["opened"], "the opened message")
        audit_before = desk.query("SELECT count(*) FROM audit WHERE collector = %s", (active,))
        os.kill(procs[active].pid, signal.SIGCONT)
        time.sleep(FAILOVER)  # it wakes believing it holds the shard, polls, tries to write
        assert hook.kinds() == ["opened"]
        assert desk.query("SELECT count(*) FROM audit WHERE collector = %s", (active,)) == (
            audit_before
        )
        assert desk.holder("hall-a") == standby
        log = (tmp_path / f"{active}.log").read_text(encoding="utf-8")
        assert f"collector {active} lost shard hall-a" in log
        assert [row[2] for row in desk.incidents()] == ["open"]
    finally:
        for proc in procs.values():
            stop_collector(proc)


def test_a_collector_dying_with_no_standby_is_named_in_an_incident(
    tmp_path: Path, pg_store_url: str, website: Website, hook: WebhookReceiver
) -> None:
    write_desk(
        tmp_path,
        pg_store_url,
        website.port,
        hook.port,
        devices={"shop-a": "hall-a", "shop-b": "hall-b"},
        escalate_after="1h",
    )
    desk = Desk(pg_store_url)
    a = start_collector(write_collector(tmp_path, "edge-a", shards=["hall-a"]))
    eventually(lambda: desk.holder("*") == "edge-a", "edge-a holding the desk lease")
    b = start_collector(write_collector(tmp_path, "edge-b", shards=["hall-b"]))
    try:
        wait_started(tmp_path / "edge-b.yaml")
        eventually(lambda: desk.holder("hall-b") == "edge-b", "edge-b on its shard")
        b.send_signal(signal.SIGKILL)
        b.wait(timeout=10)
        eventually(lambda: "opened" in hook.kinds(), "the silent-collector alert", timeout=20)
        [doc] = [d for _, d in hook.received]
        assert "edge-b" in doc["text"] and "hall-b" in doc["text"]
        rows = desk.query("SELECT key, level, device, state FROM incidents")
        assert rows == [("collector-silent|edge-b", 1, "edge-b", "open")]
        # it comes back: the incident resolves
        b = start_collector(write_collector(tmp_path, "edge-b", shards=["hall-b"]))
        eventually(
            lambda: desk.query("SELECT state FROM incidents") == [("resolved",)],
            "the silent-collector incident resolving",
        )
    finally:
        stop_collector(a)
        stop_collector(b)
