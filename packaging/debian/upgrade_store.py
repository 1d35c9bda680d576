"""Run by the package's postinst after an upgrade, as the roomwatch user, with the package's
venv Python: when the SQLite ticket store is at an older schema than the new roomwatch needs,
copy it (SQLite's online backup, consistent even while something reads it) to
<state_dir>/backups/ and then migrate it (`roomwatch store migrate`), so the restarted daemon
finds the schema it needs. The five newest backups are kept.

A PostgreSQL store is left alone: several collectors share it, so the admin backs it up
(pg_dump) and migrates it once, deliberately (docs/upgrade.md). Exit 0 unless the migration
itself failed; a config that does not load is reported and skipped (the daemon's own
`roomwatch check` before its start says what is wrong)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from alerting.store.migrations import latest_version
from alerting.store.sqlite import sqlite_path
from alerting.store.urls import is_postgres_url
from collector.config import DEFAULT_CONFIG, load_config
from core.yamlsource import ConfigError

KEEP = 5


def main() -> int:
    config_path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CONFIG
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"roomwatch upgrade: {config_path} does not load ({exc}); store not migrated")
        return 0
    if is_postgres_url(config.store):
        print(
            "roomwatch upgrade: the ticket store is PostgreSQL: back it up (pg_dump) and run"
            f" 'roomwatch store migrate -c {config_path}' once, from one collector"
        )
        return 0
    path = Path(sqlite_path(config.store))
    if not path.exists():
        return 0  # a first start creates it at the current schema
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        current = int(db.execute("PRAGMA user_version").fetchone()[0])
    newest = latest_version("sqlite")
    if current >= newest:
        return 0
    backups = config.state_dir / "backups"
    backups.mkdir(mode=0o750, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    copy = backups / f"{path.stem}-schema{current}-{stamp}.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as source, sqlite3.connect(copy) as dest:
        source.backup(dest)
    print(f"roomwatch upgrade: ticket store at schema {current}, copied to {copy}")
    for old in sorted(backups.glob(f"{path.stem}-schema*.db"))[:-KEEP]:
        old.unlink()
    done = subprocess.run(
        [sys.executable, "-m", "collector.cli", "store", "migrate", "-c", str(config_path)],
        check=False,
    )
    if done.returncode != 0:
        print(f"roomwatch upgrade: migration failed; the copy before it is {copy}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
