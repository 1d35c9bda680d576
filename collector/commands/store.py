"""`roomwatch store migrate|copy -c FILE`: the ticket store's schema and moving a desk.

Exit codes: 2 for a bad config, target URL or credentials entry and for a target that is not
this desk's copy (CopyError), 3 when a store is missing or cannot be reached."""

from __future__ import annotations

import argparse
import asyncio

from alerting.store import SchemaTooOld, StoreError, open_store, store_exists
from alerting.store.copy import copy_store
from alerting.store.migrations import latest_version
from alerting.store.urls import check_url, is_postgres_url, redact
from collector.commands.errors import ExitCode, NoAnswer, UsageError
from collector.config import DEFAULT_CONFIG, load_config
from collector.storeconn import open_configured
from inventory import load_credentials


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("store", help="migrate the ticket store, or copy it to PostgreSQL")
    cmds = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml")

    m = cmds.add_parser(
        "migrate", parents=[common], help="bring the ticket store to this roomwatch's schema"
    )
    m.set_defaults(func=_migrate)

    c = cmds.add_parser(
        "copy",
        parents=[common],
        help="copy the configured ticket store (incidents, audit, outbox, …) to another",
    )
    c.add_argument("--to", required=True, help="target store URL, e.g. postgresql://USER@HOST/DB")
    c.add_argument(
        "--to-credentials",
        help="credentials entry with the target's `password` (else libpq's ~/.pgpass)",
    )
    c.set_defaults(func=_copy)


def _migrate(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # a bad file: ConfigError, exit 2

    async def run() -> tuple[int, int]:
        try:
            store = await open_configured(config)
            before = await store.schema_version()  # already current: nothing to do
        except SchemaTooOld:
            store = None
            before = -1
        if store is None:
            store = await open_configured(config, upgrade=True)
        try:
            return before, await store.schema_version()
        finally:
            await store.close()

    before, after = asyncio.run(run())  # a store that fails: StoreError, exit 3
    where = redact(config.store)
    if before == after:
        print(f"{where}: schema version {after}, up to date")
    else:
        print(f"{where}: migrated to schema version {after} (of {latest_version()})")
    return ExitCode.OK


def _copy(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # a bad file: ConfigError, exit 2
    target_url: str = args.to
    password = None
    try:
        if is_postgres_url(target_url):
            check_url(target_url)
    except StoreError as exc:
        raise UsageError(f"error: {exc}") from None
    if not is_postgres_url(target_url) and not target_url.startswith("sqlite:"):
        raise UsageError(
            "error: --to: expected postgresql://USER@HOST:PORT/DATABASE or sqlite:PATH"
        )
    if not store_exists(config.store):
        raise NoAnswer(f"error: no ticket store at {config.store} to copy")
    if args.to_credentials:
        credentials, _ = load_credentials(config.credentials)  # ConfigError: exit 2
        try:
            password = credentials.entry(args.to_credentials)["password"]
        except KeyError:
            raise UsageError(
                f"error: --to-credentials: no entry {args.to_credentials!r} with a `password`"
                " in the credentials file"
            ) from None

    async def run() -> list[tuple[str, int, int, int]]:
        source = await open_configured(config)
        try:
            target = await open_store(target_url, password=password)
            try:
                results = await copy_store(source, target)
            finally:
                await target.close()
        finally:
            await source.close()
        return [(r.table, r.source, r.added, r.target) for r in results]

    # a target holding another desk's rows: CopyError, exit 2; a store that fails: exit 3
    rows = asyncio.run(run())
    print(f"{'table':<12} {'source':>8} {'added':>8} {'target':>8}")
    for table, source_n, added, target_n in rows:
        print(f"{table:<12} {source_n:>8} {added:>8} {target_n:>8}")
    print(f"copied to {redact(target_url)}; counts agree")
    return ExitCode.OK
