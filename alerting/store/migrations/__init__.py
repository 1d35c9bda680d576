"""Versioned schema of the ticket store, one numbered SQL file per step and backend:
`NNNN_what.sqlite.sql` and `NNNN_what.postgresql.sql`, applied in order, each inside one
transaction with the record of its number. Both backends keep the same numbers, so "schema 2"
means the same tables on either. Never edit a released step: add the next number for both.

SQLite keeps its version in `PRAGMA user_version`; PostgreSQL in the `schema_version` table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

BACKENDS = ("sqlite", "postgresql")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(sqlite|postgresql)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def migrations(backend: str) -> tuple[Migration, ...]:
    """The steps of `backend`, in order. Raises ValueError for a gap in the numbers (a step
    missing for one backend would leave its databases without a table the code expects)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown store backend {backend!r}")
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match and match.group(3) == backend:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise ValueError(
            f"{backend} migrations are not numbered 1..N: {[m.version for m in found]}"
        )
    return tuple(found)


def latest_version(backend: str = "sqlite") -> int:
    return migrations(backend)[-1].version


def pending(backend: str, current: int) -> tuple[Migration, ...]:
    return tuple(m for m in migrations(backend) if m.version > current)
