"""One way to write a moment for people: ISO 8601 with its offset, to the second, in local
time unless a zone is given (`2026-12-01T22:28:05+08:00`). The CLI, the alerts and the
maintenance windows all write times this way, so a time copied from one into another (or into
a ticket, or `--until`) means the same everywhere. Reports, which state their zone once at the
top, keep a shorter `YYYY-MM-DD HH:MM` in their tables."""

from __future__ import annotations

import datetime as dt


def iso_time(ts: float, tz: dt.tzinfo | None = None) -> str:
    moment = dt.datetime.fromtimestamp(ts, tz) if tz is not None else dt.datetime.fromtimestamp(ts)
    return moment.astimezone(tz).isoformat(timespec="seconds")
