"""The one way to change maintenance windows: validate, add, end and list them, for
`roomwatch maintenance` and the HTTP API alike, each change holding the file's lock.

A change is a read-modify-write of one YAML file. Without a lock, two writers at the same
moment (an admin at the console, a script on the API) both read the old file, and the second
rename drops the window of the first. The lock is `fcntl.flock` on `.NAME.lock` beside the
file (the name `roomwatch maintenance` has always used, so an older CLI and a newer daemon
still exclude each other), held from the read to the rename. Readers take no lock: the file
is replaced atomically, never seen half-written.

The lock blocks until the other writer is done (milliseconds): async code calls `add` and
`end` in a thread."""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from inventory.model import Selector
from rules.maintenance import (
    PERIODS,
    MaintenanceWindow,
    end_window,
    load_windows,
    next_id,
    save_windows,
)

WINDOW_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class WindowError(ValueError):
    """A window that cannot be set as asked; the message says what is wrong."""


class UnknownWindow(LookupError):
    def __init__(self, window_id: str) -> None:
        super().__init__(f"no maintenance window {window_id!r}")
        self.window_id = window_id


class WindowOver(Exception):
    """Ending a window that is over already (it would move its recorded end)."""

    def __init__(self, window_id: str) -> None:
        super().__init__(f"maintenance window {window_id!r} is already over")
        self.window_id = window_id


@dataclass(frozen=True)
class WindowRequest:
    """A window as asked for; `validate` makes it a MaintenanceWindow or says why not."""

    selector: Selector
    reason: str = ""
    start: float | None = None  # None: now
    end: float | None = None
    duration: float | None = None  # seconds from the start, when no end is given
    every: str | None = None  # daily | weekly
    created_by: str | None = None
    id: str | None = None  # None: the next free mw-N


def validate(
    request: WindowRequest, existing: Sequence[MaintenanceWindow], now: float
) -> MaintenanceWindow:
    """The window `request` asks for, among `existing`. Raises WindowError."""
    start = now if request.start is None else request.start
    if request.end is not None:
        end = request.end
    elif request.duration is not None:
        end = start + request.duration
    else:
        raise WindowError("give an end or a duration")
    if end <= start:
        raise WindowError("the end must be after the start")
    every = request.every
    if every is not None:
        if every not in PERIODS:
            raise WindowError(f"every: expected daily or weekly, found {every!r}")
        if end - start >= PERIODS[every]:
            raise WindowError(f"a {every} window must be shorter than its period")
    elif end <= now:
        raise WindowError("the window would already be over: its end is in the past")
    window_id = request.id or next_id(existing)
    if not WINDOW_ID.fullmatch(window_id):
        # The id is a path segment of /api/maintenance/{id}/end: keep it addressable.
        raise WindowError(f"id: letters, digits, '.', '_' and '-' only (found {window_id!r})")
    if any(w.id == window_id for w in existing):
        raise WindowError(f"a window {window_id!r} exists already")
    return MaintenanceWindow(
        id=window_id,
        selector=request.selector,
        start=start,
        end=end,
        every=every,
        reason=request.reason,
        created_by=request.created_by,
    )


class MaintenanceService:
    """The windows of one maintenance file. A bad file raises ConfigError (with its lines)
    from every method, and is left as it is."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def windows(self) -> list[MaintenanceWindow]:
        return load_windows(self.path)

    def add(self, request: WindowRequest, now: float) -> MaintenanceWindow:
        """Validate `request` against the windows in the file and append it, under the lock
        (so its id is free at the moment it is written). Raises WindowError."""
        with self._locked():
            windows = load_windows(self.path)
            window = validate(request, windows, now)
            save_windows(self.path, [*windows, window])
        return window

    def end(self, window_id: str, now: float) -> MaintenanceWindow:
        """Cut a window (or a recurring series) short at `now`, under the lock. Raises
        UnknownWindow, or WindowOver when it is over already."""
        with self._locked():
            windows = load_windows(self.path)
            found = next((w for w in windows if w.id == window_id), None)
            if found is None:
                raise UnknownWindow(window_id)
            if found.finished(now):
                raise WindowOver(window_id)
            ended = end_window(found, now)
            save_windows(self.path, [ended if w.id == window_id else w for w in windows])
        return ended

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / f".{self.path.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield
