"""`roomwatch cluster status -c FILE [--json]`: the collectors sharing the PostgreSQL store,
the shards each holds, lease holders and epochs, and how long ago each last heartbeat was."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from alerting.store import is_postgres_url
from alerting.store.postgres import PostgresStore
from collector.cluster import status
from collector.commands.errors import ExitCode, UsageError
from collector.config import DEFAULT_CONFIG, load_config
from collector.storeconn import open_configured


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cluster", help="collectors, shards and leases of a shared store")
    cmds = p.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    s = cmds.add_parser("status", help="who holds which shard, last heartbeats")
    s.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")
    s.add_argument("--json", action="store_true", help="one JSON document")
    s.set_defaults(func=_status)


def _status(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # a bad file: ConfigError, exit 2
    if not is_postgres_url(config.store):
        raise UsageError(
            "error: this desk's store is SQLite: one collector, no leases (docs/scale.md says"
            " how to move to PostgreSQL)"
        )

    async def read() -> dict[str, Any]:
        store = await open_configured(config)
        try:
            assert isinstance(store, PostgresStore)
            return await status(store)
        finally:
            await store.close()

    found = asyncio.run(read())  # a store that does not answer: StoreError, exit 3
    if args.json:
        print(json.dumps(found, ensure_ascii=False, sort_keys=True))
        return ExitCode.OK
    print(f"{'collector':<20} {'state':<7} {'heartbeat':>10}  shards")
    for c in found["collectors"]:
        age = f"{c['heartbeat_age']:.0f}s ago"
        print(f"{c['name']:<20} {c['state']:<7} {age:>10}  {', '.join(c['shards']) or '-'}")
    print()
    print(f"{'shard':<20} {'holder':<20} {'epoch':>6}  lease")
    for lease in found["leases"]:
        left = f"{lease['expires_in']:.0f}s left" if lease["held"] else "expired"
        print(f"{lease['shard']:<20} {lease['holder']:<20} {lease['epoch']:>6}  {left}")
    return ExitCode.OK
