"""Edge collectors on one PostgreSQL store, as real processes (issue 14, tests a, b, d):
active/standby per shard with leases on the database clock, fencing of a collector that lost
its lease, exactly one message per step, and a silent collector named in an incident."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
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
from tests.fixtures.peers import REPO, free_port
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration

FAILOVER = 5.0  # collector.failover in these tests: a standby takes over within it
OUTAGE = 20.0  # seconds the store is down in the outage test (the issue says a minute)
ROOMWATCH = (sys.executable, "-m", "collector.cli")


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
        # within collector.failover (bench_failover.py: worst 3.35 s of 5 s), plus one lease
        # round of slack for a CI machine whose two cores are busy with other tests
        assert taken_at - killed_at <= FAILOVER + 1.0, f"takeover took {taken_at - killed_at:.1f} s"

        # escalation carries on from the store's clocks, on time, from the standby
        eventually(lambda: "escalated" in hook.kinds(), "the escalation", timeout=30)
        escalated_at = hook.received[hook.kinds().index("escalated")][0]
        late = escalated_at - opened_at
        assert 12.0 - 1.5 <= late <= 12.0 + 5.0, f"escalated {late:.1f} s after opening"

        website.healthy = True
        eventually(lambda: "resolved" in hook.kinds(), "the recovery", timeout=30)
        time.sleep(2.5)  # anything doubled would have arrived by now
        assert hook.kinds() == ["opened", "escalated", "resolved"], hook.kinds()
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
    api_port = free_port()
    a_config = write_collector(tmp_path, "edge-a", shards=["hall-a"], api_port=api_port)
    a = start_collector(a_config)
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

        # what an admin sees: the CLI, the API and /metrics of the live collector
        shown = subprocess.run(
            [*ROOMWATCH, "cluster", "status", "--json", "-c", str(a_config)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=30,
        )
        assert shown.returncode == 0, shown.stderr
        status = json.loads(shown.stdout)
        states = {c["name"]: c["state"] for c in status["collectors"]}
        assert states == {"edge-a": "live", "edge-b": "silent"}
        holders = {lease["shard"]: lease["holder"] for lease in status["leases"]}
        assert holders["hall-a"] == "edge-a" and holders["*"] == "edge-a"
        assert not next(lease for lease in status["leases"] if lease["shard"] == "hall-b")["held"]
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/api/cluster") as reply:
            assert {c["name"] for c in json.load(reply)["collectors"]} == {"edge-a", "edge-b"}
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics") as reply:
            metrics = reply.read().decode()
        assert 'roomwatch_collector_info{collector="edge-a"} 1' in metrics
        assert 'roomwatch_shard_lease_epoch{collector="edge-a",shard="hall-a"}' in metrics
        # it comes back: the incident resolves
        b = start_collector(write_collector(tmp_path, "edge-b", shards=["hall-b"]))
        eventually(
            lambda: desk.query("SELECT state FROM incidents") == [("resolved",)],
            "the silent-collector incident resolving",
        )
    finally:
        stop_collector(a)
        stop_collector(b)


def test_a_single_box_pings_its_dead_mans_switch_until_it_dies(
    tmp_path: Path, website: Website, hook: WebhookReceiver
) -> None:
    (tmp_path / "inventory.yaml").write_text("devices: []\n", encoding="utf-8")
    config = tmp_path / "box.yaml"
    config.write_text(
        "inventory: inventory.yaml\nrules: []\nstate_dir: state\napi: {enabled: false}\n"
        "collector:\n"
        f"  heartbeat_url: http://127.0.0.1:{hook.port}/ping/6f1c-secret\n"
        "  heartbeat_interval: 1s\n",
        encoding="utf-8",
    )
    box = start_collector(config)
    try:
        eventually(lambda: len(hook.pings) >= 3, "three heartbeat pings")
        box.send_signal(signal.SIGKILL)  # the box dies: the switch hears nothing more
        box.wait(timeout=10)
        count = len(hook.pings)
        time.sleep(2.5)
        assert len(hook.pings) == count
        gaps = [b - a for a, b in zip(hook.pings, hook.pings[1:], strict=False)]
        assert all(0.5 <= gap <= 2.0 for gap in gaps), gaps
    finally:
        stop_collector(box)
    assert "6f1c-secret" not in config.with_suffix(".log").read_text(encoding="utf-8")


def test_a_store_outage_mid_incident_loses_and_doubles_nothing_and_level_1_still_goes_out(
    tmp_path: Path, website: Website, hook: WebhookReceiver
) -> None:
    till = Website()  # a second site: one incident before the outage, one during it
    server = PostgresServer()  # its own server: this test stops it
    proc = None
    try:
        url = server.url(server.create_database())
        write_desk(
            tmp_path,
            url,
            website.port,
            hook.port,
            devices={"shop": "hall-a", "till": "hall-a"},
            ports={"till": till.port},
            escalate_after="1h",
        )
        config = write_collector(tmp_path, "solo")
        proc = start_collector(config)
        wait_started(config)
        desk = Desk(url)
        eventually(lambda: desk.holder("hall-a") == "solo", "solo on its shard")
        website.healthy = False  # the shop's incident opens through the store
        eventually(lambda: told(hook) == [("opened", "shop", False)], "the shop's alert")

        server.stop()
        down_at = time.time()
        till.healthy = False
        # level 1 is told without the store, straight from the fault
        eventually(lambda: len(told(hook)) == 2, "the level-1 fallback message")
        assert told(hook)[1] == ("opened", "till", True)
        website.healthy = True  # both mended during the outage: recoveries wait in the queue
        till.healthy = True
        time.sleep(max(0.0, down_at + OUTAGE - time.time()))
        assert len(told(hook)) == 2
        assert (tmp_path / "state-solo" / "fault-queue.db").exists()

        server.start()
        eventually(lambda: len(told(hook)) >= 4, "both recoveries after the outage", 40)
        time.sleep(3)  # anything doubled would have come by now
        assert sorted(told(hook)[2:]) == [("resolved", "shop", False), ("resolved", "till", False)]
        assert len(told(hook)) == 4
        rows = desk.query("SELECT id, device, state FROM incidents ORDER BY id")
        assert [(device, state) for _, device, state in rows] == [
            ("shop", "resolved"),
            ("till", "resolved"),
        ]
        till_id = rows[1][0]
        actions = [
            row[0]
            for row in desk.query(
                "SELECT action FROM audit WHERE incident_id = %s ORDER BY id", (till_id,)
            )
        ]
        assert actions[0] == "opened" and "told" in actions and actions[-1] == "resolved"
        via = desk.query(
            "SELECT detail FROM audit WHERE incident_id = %s AND detail LIKE %s",
            (till_id, "%fallback%"),
        )
        assert len(via) == 1
        assert proc.poll() is None  # it polled on throughout
    finally:
        if proc is not None:
            stop_collector(proc)
        server.close()
        till.close()


def told(hook: WebhookReceiver) -> list[tuple[str, str, bool]]:
    """(kind, device, told during the outage) of each message, in arrival order."""
    out = []
    for _, doc in hook.received:
        [item] = doc["items"]
        out.append((doc["kind"], item["device"], bool(item.get("fallback"))))
    return out
