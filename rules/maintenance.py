"""Maintenance windows: when selected devices are worked on, their faults are recorded as in
maintenance and not alerted; a fault still present when the window ends is alerted then.

Windows live in one YAML file (default `<state_dir>/maintenance.yaml`), written by
`roomwatch maintenance add|end` and read by the daemon whenever it changes:

    windows:
      - id: mw-1
        select: {id: "core-sw*"}            # kind, site, id glob, tags, labels
        start: "2026-11-23T02:00:00+08:00"
        end: "2026-11-23T04:00:00+08:00"
        reason: "switch firmware upgrade"
      - id: mw-2
        select: {kind: ups, site: dc1}
        start: "2026-11-24T01:00:00+08:00"  # first occurrence
        end: "2026-11-24T01:30:00+08:00"
        every: weekly                       # daily | weekly: repeats start…end each period
        reason: "weekly UPS self-test"

`ended` (set by `maintenance end`) cuts a window, or a recurring series, short. Recurrence
is a fixed 24 h / 7 d period from the first occurrence (times in a zone with summer time
shift by an hour across the change). Writes are atomic (temporary file, then rename)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from core.atomic import write_atomic
from core.timefmt import iso_time
from core.yamlsource import ConfigError, ErrorItem, LineDict, LineList, load_yaml
from inventory.model import KINDS, Device, Selector

PERIODS = {"daily": 86400.0, "weekly": 7 * 86400.0}
WINDOW_KEYS = ("id", "select", "start", "end", "every", "reason", "ended", "created_by")
SELECT_KEYS = ("kind", "site", "id", "tags", "labels")


@dataclass(frozen=True)
class MaintenanceWindow:
    id: str
    selector: Selector
    start: float  # POSIX seconds
    end: float
    every: str | None = None  # "daily" | "weekly"
    reason: str = ""
    ended: float | None = None  # cut short at this time
    created_by: str | None = None

    def selects(self, device: Device) -> bool:
        return self.selector.matches(device)

    def active(self, now: float) -> bool:
        if now < self.start or (self.ended is not None and now >= self.ended):
            return False
        if self.every is None:
            return now < self.end
        period = PERIODS[self.every]
        return (now - self.start) % period < (self.end - self.start)

    def current_end(self, now: float) -> float | None:
        """When the occurrence active at `now` ends (None when none is active)."""
        if not self.active(now):
            return None
        if self.every is None:
            end = self.end
        else:
            period = PERIODS[self.every]
            end = now - (now - self.start) % period + (self.end - self.start)
        return min(end, self.ended) if self.ended is not None else end

    def finished(self, now: float) -> bool:
        """True when the window will never be active again."""
        if self.ended is not None and now >= self.ended:
            return True
        return self.every is None and now >= self.end


def parse_time(text: Any) -> float:
    """POSIX seconds from an ISO 8601 time ("2026-11-23T02:00:00+08:00", "2026-11-23 02:00");
    a time without an offset is local time. Raises ValueError."""
    if isinstance(text, datetime):
        moment = text
    elif isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    elif isinstance(text, str):
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"not a time: {text!r} (write it like 2026-11-23T02:00+08:00)"
            ) from None
    else:
        raise ValueError(f"not a time: {text!r}")
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as an admin typing at the console means it
    return moment.timestamp()


def format_time(ts: float) -> str:
    return iso_time(ts)


def selector_from(raw: Any) -> Selector:
    """A Selector from a `select:` mapping; raises ValueError naming the bad key."""
    if raw is None:
        return Selector()
    if not isinstance(raw, dict):
        raise ValueError("'select' must be a mapping (kind, site, id, tags, labels)")
    values: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        if key not in SELECT_KEYS:
            raise ValueError(f"select: unknown key {key!r} (known: {', '.join(SELECT_KEYS)})")
        if key == "labels":
            continue
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"select.{key}: expected a name or a list of names")
        values[key] = tuple(value)
    for kind in values.get("kind", ()):
        if kind not in KINDS:
            raise ValueError(f"select.kind: unknown kind {kind!r}")
    labels = raw.get("labels") or {}
    if not isinstance(labels, dict):
        raise ValueError("select.labels: expected a mapping")
    return Selector(
        kind=values.get("kind", ()),
        site=values.get("site", ()),
        id=values.get("id", ()),
        tags=values.get("tags", ()),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
    )


def selector_to_yaml(selector: Selector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("kind", "site", "id", "tags"):
        values = getattr(selector, key)
        if values:
            out[key] = values[0] if len(values) == 1 else list(values)
    if selector.labels:
        out["labels"] = dict(selector.labels)
    return out


def load_windows(path: str | Path) -> list[MaintenanceWindow]:
    """The windows in a maintenance file; a missing file has none. Raises ConfigError
    listing every bad entry with its line."""
    path = Path(path)
    if not path.exists():
        return []
    data = load_yaml(path)
    if data is None:
        return []
    if not isinstance(data, LineDict) or not isinstance(data.get("windows", []), list):
        raise ConfigError.single(path, "expected a mapping with 'windows:' (a list)", 1, 1)
    items = data.get("windows") or []
    errors: list[ErrorItem] = []
    out: list[MaintenanceWindow] = []
    ids: set[str] = set()
    for i, raw in enumerate(items):
        line, col = items.positions[i] if isinstance(items, LineList) else (0, 0)
        try:
            window = _window(raw)
        except ValueError as exc:
            errors.append(ErrorItem(str(path), line, col, f"windows[{i}]: {exc}"))
            continue
        if window.id in ids:
            errors.append(
                ErrorItem(str(path), line, col, f"windows[{i}]: duplicate id {window.id!r}")
            )
        ids.add(window.id)
        out.append(window)
    if errors:
        raise ConfigError(errors)
    return out


def _window(raw: Any) -> MaintenanceWindow:
    if not isinstance(raw, dict):
        raise ValueError("expected a mapping")
    for key in raw:
        if key not in WINDOW_KEYS:
            raise ValueError(f"unknown key {key!r} (known: {', '.join(WINDOW_KEYS)})")
    for key in ("id", "start", "end"):
        if key not in raw:
            raise ValueError(f"missing {key!r}")
    every = raw.get("every")
    if every is not None and every not in PERIODS:
        raise ValueError(f"every: expected daily or weekly, found {every!r}")
    start, end = parse_time(raw["start"]), parse_time(raw["end"])
    if end <= start:
        raise ValueError("end must be after start")
    if every is not None and end - start >= PERIODS[every]:
        raise ValueError(f"a {every} window must be shorter than its period")
    ended = raw.get("ended")
    return MaintenanceWindow(
        id=str(raw["id"]),
        selector=selector_from(raw.get("select")),
        start=start,
        end=end,
        every=every,
        reason=str(raw.get("reason") or ""),
        ended=None if ended is None else parse_time(ended),
        created_by=None if raw.get("created_by") is None else str(raw["created_by"]),
    )


def save_windows(path: str | Path, windows: Sequence[MaintenanceWindow]) -> None:
    """Write the maintenance file atomically (a reader never sees half a file)."""
    path = Path(path)
    doc = {"windows": [_window_yaml(w) for w in windows]}
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    write_atomic(path, text)


def _window_yaml(window: MaintenanceWindow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": window.id,
        "select": selector_to_yaml(window.selector),
        "start": format_time(window.start),
        "end": format_time(window.end),
    }
    if window.every:
        out["every"] = window.every
    out["reason"] = window.reason
    if window.ended is not None:
        out["ended"] = format_time(window.ended)
    if window.created_by:
        out["created_by"] = window.created_by
    return out


def end_window(window: MaintenanceWindow, now: float) -> MaintenanceWindow:
    """The window cut short at `now` (a future one-off window is cut before it starts)."""
    return replace(window, ended=now)


def next_id(windows: Sequence[MaintenanceWindow]) -> str:
    used = {w.id for w in windows}
    n = len(windows) + 1
    while f"mw-{n}" in used:
        n += 1
    return f"mw-{n}"
