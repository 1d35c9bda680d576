"""The durable spool of one sink: encoded lines waiting for the store, in SQLite under the
state directory (`<state_dir>/spool/<sink>.sqlite`).

Rows are appended at the tail and leave only from the head (sent, or dropped when full), so the
ids of the rows present are always one contiguous run: the depth is `tail - head + 1` without
counting, and replay order is id order. WAL with `synchronous=NORMAL`: a committed row survives
the process being killed (`kill -9`); the last commits may be lost only if the machine itself
loses power.

Bounds: at most `max_rows` rows, and (optionally) at most `max_bytes` of used database pages.
When full, the oldest rows are dropped, never the newest: after an outage longer than the
spool holds, the most recent history is what is kept. Rows being sent right now are never
dropped (they could be in the store already).

Delivered rows are marked durably before they are deleted: `<file>.settled` holds the last id
the store accepted, in a few bytes allocated when the spool opens and overwritten in place, so
it can still be written when the disk is full and SQLite cannot delete (a delete needs room in
its journal). A restart skips the rows the marker covers instead of writing them again.

One process at a time: the spool holds an exclusive lock (`<file>.lock`, released by the
kernel even on `kill -9`), so two daemons pointed at one state directory cannot both replay
the same rows. Not thread-safe: the sink calls it from one worker thread at a time."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY,
    queued_at REAL NOT NULL,
    line TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class SpoolBatch:
    """Rows [first_id, last_id] from the head of the spool, in order."""

    first_id: int
    last_id: int
    lines: list[str]

    @property
    def body(self) -> str:
        return "\n".join(self.lines)


class SpoolBusy(RuntimeError):
    """Another process holds this spool."""


class SpoolClosed(RuntimeError):
    """The spool was closed (the sink is stopping); nothing more can be read or written."""


_T = TypeVar("_T")
_P = ParamSpec("_P")


def _serialized(
    method: Callable[Concatenate[Spool, _P], _T],
) -> Callable[Concatenate[Spool, _P], _T]:
    """One operation on the spool at a time, and none after `close`.

    The sink's spooler and sender run spool operations in worker threads; one SQLite
    connection shared by two threads would interleave their transactions, and closing it
    while a statement runs crashes the process."""

    @functools.wraps(method)
    def run(self: Spool, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        with self._mutex:
            if self._closed:
                raise SpoolClosed(f"spool {self.path} is closed")
            return method(self, *args, **kwargs)

    return run


class Spool:
    def __init__(self, path: Path, max_rows: int, max_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._mutex = threading.RLock()
        self._closed = False
        self._lock_fd = _lock(self.path.with_name(self.path.name + ".lock"))
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        self.head, self.tail, self.head_queued_at = self._read_bounds()
        # Rows up to this id are being sent: protected from drop-oldest.
        self.protected_upto = 0
        self._settled_fd = _open_marker(self.path.with_name(self.path.name + ".settled"))
        settled = _read_marker(self._settled_fd)
        if not self.depth:
            self._mark_settled(0)  # ids start again at 1 in an empty spool
        elif settled >= self.head:
            # delivered before the last stop, but the delete did not happen (disk full)
            with contextlib.suppress(sqlite3.Error), self._transaction():
                self._db.execute("DELETE FROM spool WHERE id <= ?", (settled,))
            self._set_head(min(settled, self.tail) + 1)

    def _read_bounds(self) -> tuple[int, int, float | None]:
        row = self._db.execute("SELECT MIN(id), MAX(id) FROM spool").fetchone()
        if row[0] is None:
            return 0, 0, None
        queued = self._db.execute("SELECT queued_at FROM spool WHERE id = ?", (row[0],))
        return int(row[0]), int(row[1]), float(queued.fetchone()[0])

    @property
    def depth(self) -> int:
        return 0 if self.head_queued_at is None else self.tail - self.head + 1

    @_serialized
    def append(self, lines: Sequence[str], queued_at: float) -> int:
        """Append lines in one transaction, then enforce the bounds. Returns how many of the
        oldest rows were dropped to make room."""
        self.insert(lines, queued_at)
        return self.enforce_bounds()

    def insert(self, lines: Sequence[str], queued_at: float) -> None:
        """Append lines in one transaction (all or none), without enforcing the bounds."""
        self.insert_chunks([(lines, queued_at)])

    @_serialized
    def insert_chunks(self, chunks: Sequence[tuple[Sequence[str], float]]) -> None:
        """Append several polls' lines, each with its time, in one transaction (all or none):
        a busy sink commits what piled up since its last commit at once, not one transaction
        per poll (each costs a WAL commit)."""
        chunks = [(lines, queued_at) for lines, queued_at in chunks if lines]
        if not chunks:
            return
        was_empty = not self.depth
        start = self.tail + 1

        def rows() -> Iterator[tuple[int, float, str]]:
            next_id = start
            for lines, queued_at in chunks:
                for line in lines:
                    yield next_id, queued_at, line
                    next_id += 1

        with self._transaction():
            self._db.executemany("INSERT INTO spool (id, queued_at, line) VALUES (?, ?, ?)", rows())
        if was_empty:
            self.head, self.head_queued_at = start, chunks[0][1]
        self.tail = start + sum(len(lines) for lines, _ in chunks) - 1

    @_serialized
    def peek(self, limit: int) -> SpoolBatch | None:
        """The oldest `limit` rows, marked as being sent (protected from drop-oldest until
        `remove_upto` or `release`)."""
        if not self.depth:
            return None
        rows = self._db.execute(
            "SELECT id, line FROM spool WHERE id >= ? ORDER BY id LIMIT ?", (self.head, limit)
        ).fetchall()
        batch = SpoolBatch(int(rows[0][0]), int(rows[-1][0]), [r[1] for r in rows])
        self.protected_upto = batch.last_id
        return batch

    @_serialized
    def remove_upto(self, last_id: int) -> int:
        """Forget the head rows up to `last_id` (sent, or refused by the store) in one commit.
        Returns how many."""
        self.protected_upto = 0
        if not self.depth or last_id < self.head:
            return 0
        last_id = min(last_id, self.tail)
        removed = last_id - self.head + 1
        self._mark_settled(last_id)  # raises only when even that cannot be written
        try:
            with self._transaction():
                self._db.execute("DELETE FROM spool WHERE id <= ?", (last_id,))
        except sqlite3.Error:
            # Disk full: the rows stay in the file until a later delete covers them, but the
            # marker says they were delivered, so neither this process nor the next sends them.
            pass
        self._set_head(last_id + 1)
        return removed

    def _mark_settled(self, last_id: int) -> None:
        if self._settled_fd is None:
            return
        os.pwrite(self._settled_fd, f"{last_id:020d}\n".encode(), 0)
        os.fsync(self._settled_fd)

    @_serialized
    def release(self) -> None:
        """The batch being sent was not delivered: it stays, first in line."""
        self.protected_upto = 0

    def _set_head(self, new_head: int) -> None:
        if new_head > self.tail:
            self.head, self.head_queued_at = self.tail + 1, None
            return
        self.head = new_head
        row = self._db.execute("SELECT queued_at FROM spool WHERE id = ?", (new_head,)).fetchone()
        self.head_queued_at = float(row[0])

    @_serialized
    def used_bytes(self) -> int:
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        return (pages - free) * self._page_size

    @_serialized
    def enforce_bounds(self) -> int:
        """Drop the oldest rows beyond the bounds. Returns how many were dropped. While the
        head is being sent nothing is dropped (the sink calls this again once it is done), so
        the spool may exceed its bound by one batch for the length of one write."""
        if self.protected_upto >= self.head and self.depth:
            return 0
        dropped = 0
        excess = self.depth - self.max_rows
        if excess > 0:
            dropped += self._drop_oldest(excess)
        if self.max_bytes is not None:
            # Page accounting is coarse: drop 1 % of the rows at a time until under the bound.
            while self.depth and self.used_bytes() > self.max_bytes:
                dropped += self._drop_oldest(max(1, self.depth // 100))
        return dropped

    def _drop_oldest(self, count: int) -> int:
        last = min(self.head + count - 1, self.tail)
        dropped = last - self.head + 1
        with self._transaction():
            self._db.execute("DELETE FROM spool WHERE id <= ?", (last,))
        self._set_head(last + 1)
        return dropped

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        with self._mutex:  # waits for an operation in another thread to finish
            if self._closed:
                return
            self._closed = True
            self._db.close()
            if self._settled_fd is not None:
                os.close(self._settled_fd)
            os.close(self._lock_fd)  # releases the lock


_MARKER_BYTES = 21  # twenty digits and a newline


def _open_marker(path: Path) -> int | None:
    """The settled marker's file, its bytes allocated now (while there is room) so that later
    writes overwrite them in place. None when it cannot be made: deletes are then the only
    record, as before the marker existed."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_size < _MARKER_BYTES:
            os.pwrite(fd, b"0".rjust(_MARKER_BYTES - 1, b"0") + b"\n", 0)
            os.fsync(fd)
    except OSError:
        os.close(fd)
        return None
    return fd


def _read_marker(fd: int | None) -> int:
    if fd is None:
        return 0
    text = os.pread(fd, _MARKER_BYTES, 0).decode("ascii", errors="replace").strip()
    return int(text) if text.isdigit() else 0


def _lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise SpoolBusy(f"spool {path.with_suffix('')} is in use by process {holder}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
