"""The pure parts of running several collectors: which shard a device belongs to, the durable
fault queue's order across a restart, and `cluster status` on a desk that has no cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.cli import main
from collector.faultqueue import FaultQueue
from inventory.loader import load_inventory
from tests.unit.alerting_helpers import fault


def test_a_devices_shard_is_its_own_else_its_rooms_else_its_sites_else_site_and_room(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        """
sites:
  - id: dc1
    rooms: [hall-a, {id: hall-b, shard: north}]
  - id: branch
    shard: branches
devices:
  - {id: own, site: dc1, room: hall-a, kind: server, shard: web}
  - {id: by-room, site: dc1, room: hall-b, kind: server}
  - {id: by-site, site: branch, room: back, kind: server}
  - {id: room-default, site: dc1, room: hall-a, kind: server}
  - {id: site-default, site: dc1, kind: server}
  - {id: nowhere, kind: server}
""",
        encoding="utf-8",
    )
    inventory = load_inventory(path)
    shards = {d: inventory.shard_of(d) for d in inventory.devices}
    assert shards == {
        "own": "web",
        "by-room": "north",
        "by-site": "branches",
        "room-default": "dc1/hall-a",
        "site-default": "dc1",
        "nowhere": "default",
    }


async def test_fault_queue_replays_in_order_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "fault-queue.db"
    queue = await FaultQueue.open(path)
    await queue.append([fault("srv1", level=1)], 1.0)
    await queue.append([fault("srv1", level=1, state="resolved")], 2.0)
    await queue.remember_told(fault("srv1").key, 1.0, ["hook"])
    await queue.close()

    again = await FaultQueue.open(path)  # the collector restarted during the outage
    try:
        assert again.depth == 2
        head = await again.head()
        assert head is not None
        first_id, [first], _ = head
        assert first.firing and first.level == 1 and first.summary["en"] == "srv1 CPU high"
        await again.pop(first_id)
        head = await again.head()
        assert head is not None and not head[1][0].firing
        assert await again.told() == {fault("srv1").key}
    finally:
        await again.close()


def test_cluster_status_on_a_sqlite_desk_says_there_is_no_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "roomwatch.yaml"
    config.write_text("rules: []\nstore: sqlite:tickets.db\n", encoding="utf-8")
    assert main(["cluster", "status", "-c", str(config)]) == 2
    assert "store is SQLite" in capsys.readouterr().err


async def test_store_copy_knows_every_table_of_the_schema(tmp_path: Path) -> None:
    # a table added by a later migration but not to copy.TABLES would be left behind by
    # `roomwatch store copy` without a word
    import sqlite3

    from alerting.store import open_store
    from alerting.store.copy import DERIVED_TABLES, RUNTIME_TABLES, TABLES

    store = await open_store(f"sqlite:///{tmp_path / 't.db'}")
    await store.close()
    with sqlite3.connect(tmp_path / "t.db") as db:
        tables = {
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not r[0].startswith("sqlite_")
        }
    assert tables == {t for t, _ in TABLES} | set(RUNTIME_TABLES) | set(DERIVED_TABLES)
