"""The durable spool of one sink: encoded lines waiting for the store, in SQLite under the
state directory (`<state_dir>/spool/<sink>.sqlite`).

A row is a *chunk*: the lines of one poll (or one submit) as one text, with their count. A
switch's poll is 600 lines; a row per line cost an insert, a select and a delete per sample
(a fifth of the daemon's CPU at 1,000 switches), a row per poll costs them once per poll. The
sender takes whole chunks, so a chunk is written, settled or dropped as a whole.

Rows are appended at the tail and leave only from the head (sent, or dropped when full), so the
ids of the rows present are always one contiguous run, and replay order is id order. The depth
(lines, i.e. samples) is kept as a running count. WAL with `synchronous=NORMAL`: a committed row
survives the process being killed (`kill -9`); the last commits may be lost only if the machine
itself loses power.

Bounds: at most `max_rows` samples (lines), and (optionally) at most `max_bytes` of used
database pages. When full, the oldest chunks are dropped, never the newest: after an outage
longer than the spool holds, the most recent history is what is kept. Chunks being sent right
now are never dropped (they could be in the store already).

Delivered rows are marked durably before they are deleted: `<file>.settled` holds the last id
the store accepted, in a few bytes allocated when the spool opens and overwritten in place, so
it can still be written when the disk is full and SQLite cannot delete (a delete needs room in
its journal). A restart skips the rows the marker covers instead of writing them again.

A spool written by an older roomwatch (table `spool`, one line a row) is converted when it is
opened, keeping its ids, so its settled marker still means the same rows.

One process at a time: the spool holds an exclusive lock (`<file>.lock`, released by the
kernel even on `kill -9`), so two daemons pointed at one state directory cannot both replay
the same rows. Not thread-safe: the sink calls it from one worker thread at a time.

(Over our modules' 400 lines: what a row, the settled marker and the bounds mean on disk is
one format, kept in one place so that a change to one cannot miss the others.)"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    queued_at REAL NOT NULL,
    lines INTEGER NOT NULL,     -- how many lines `body` holds
    body TEXT NOT NULL          -- the lines, joined by newlines
);
"""

# An older roomwatch's table: one line a row. Converted on open, ids kept.
_OLD_TABLE = "spool"


@dataclass(frozen=True, slots=True)
class SpoolBatch:
    """Chunks [first_id, last_id] from the head of the spool, in order."""

    first_id: int
    last_id: int
    bodies: list[str]
    counts: list[int]  # lines per chunk

    @property
    def count(self) -> int:
        return sum(self.counts)

    @property
    def body(self) -> str:
        return "\n".join(self.bodies)

    @property
    def lines(self) -> list[str]:
        # Encoded lines never hold a newline (the encoder turns them into spaces).
        return self.body.split("\n")

    def settled_before(self, line_index: int) -> int:
        """The id of the last chunk that lies wholly before line `line_index` of this batch
        (first_id - 1 when none does): how far a batch written only up to there may be
        settled."""
        settled, seen = self.first_id - 1, 0
        for offset, count in enumerate(self.counts):
            seen += count
            if seen > line_index:
                break
            settled = self.first_id + offset
        return settled


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
        self.max_rows = max_rows  # samples (lines), not chunks: what the admin sets
        self.max_bytes = max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._mutex = threading.RLock()
        self._closed = False
        self._lock_fd = _lock(self.path.with_name(self.path.name + ".lock"))
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._convert_old_rows()
        self._page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        self.head, self.tail, self.head_queued_at = self._read_bounds()
        self._lines = self._count_lines(self.head, self.tail)
        # Chunks up to this id are being sent: protected from drop-oldest.
        self.protected_upto = 0
        self._settled_fd = _open_marker(self.path.with_name(self.path.name + ".settled"))
        settled = _read_marker(self._settled_fd)
        if not self.depth:
            self._mark_settled(0)  # ids start again at 1 in an empty spool
        elif settled >= self.head:
            # delivered before the last stop, but the delete did not happen (disk full)
            with contextlib.suppress(sqlite3.Error), self._transaction():
                self._db.execute("DELETE FROM chunks WHERE id <= ?", (settled,))
            self._set_head(min(settled, self.tail) + 1)
            if self.depth:
                self._lines = self._count_lines(self.head, self.tail)

    def _convert_old_rows(self) -> None:
        """One line a row (before chunks) → one chunk a row, same ids, in one transaction."""
        found = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_OLD_TABLE,)
        ).fetchone()
        if found is None:
            return
        with self._transaction():
            self._db.execute(
                "INSERT INTO chunks (id, queued_at, lines, body)"
                " SELECT id, queued_at, 1, line FROM spool ORDER BY id"
            )
            self._db.execute("DROP TABLE spool")

    def _read_bounds(self) -> tuple[int, int, float | None]:
        row = self._db.execute("SELECT MIN(id), MAX(id) FROM chunks").fetchone()
        if row[0] is None:
            return 0, 0, None
        queued = self._db.execute("SELECT queued_at FROM chunks WHERE id = ?", (row[0],))
        return int(row[0]), int(row[1]), float(queued.fetchone()[0])

    def _count_lines(self, first: int, last: int) -> int:
        row = self._db.execute(
            "SELECT COALESCE(SUM(lines), 0) FROM chunks WHERE id BETWEEN ? AND ?", (first, last)
        ).fetchone()
        return int(row[0])

    @property
    def depth(self) -> int:
        """Samples (lines) in the spool."""
        return 0 if self.head_queued_at is None else self._lines

    @_serialized
    def append(self, lines: Sequence[str], queued_at: float) -> int:
        """Append lines as one chunk, then enforce the bounds. Returns how many of the
        oldest samples were dropped to make room."""
        self.insert(lines, queued_at)
        return self.enforce_bounds()

    def insert(self, lines: Sequence[str], queued_at: float) -> None:
        """Append lines as one chunk, without enforcing the bounds."""
        self.insert_chunks([(lines, queued_at)])

    @_serialized
    def insert_chunks(self, chunks: Sequence[tuple[Sequence[str], float]]) -> None:
        """Append several polls' lines, each poll a chunk with its time, in one transaction
        (all or none): a busy sink commits what piled up since its last commit at once, not
        one transaction per poll (each costs a WAL commit)."""
        chunks = [(lines, queued_at) for lines, queued_at in chunks if lines]
        if not chunks:
            return
        was_empty = not self.depth
        start = self.tail + 1
        rows = [
            (start + offset, queued_at, len(lines), "\n".join(lines))
            for offset, (lines, queued_at) in enumerate(chunks)
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT INTO chunks (id, queued_at, lines, body) VALUES (?, ?, ?, ?)", rows
            )
        if was_empty:
            self.head, self.head_queued_at, self._lines = start, chunks[0][1], 0
        self.tail = start + len(rows) - 1
        self._lines += sum(row[2] for row in rows)

    @_serialized
    def peek(self, limit: int) -> SpoolBatch | None:
        """The oldest whole chunks holding at most `limit` lines (always at least one chunk,
        however long), marked as being sent (protected from drop-oldest until `remove_upto`
        or `release`)."""
        if not self.depth:
            return None
        cursor = self._db.execute(
            "SELECT id, lines, body FROM chunks WHERE id >= ? ORDER BY id", (self.head,)
        )
        ids: list[int] = []
        counts: list[int] = []
        bodies: list[str] = []
        total = 0
        try:
            for chunk_id, count, body in cursor:
                if ids and total + count > limit:
                    break
                ids.append(int(chunk_id))
                counts.append(int(count))
                bodies.append(str(body))
                total += count
                if total >= limit:
                    break
        finally:
            cursor.close()
        batch = SpoolBatch(ids[0], ids[-1], bodies, counts)
        self.protected_upto = batch.last_id
        return batch

    @_serialized
    def remove_upto(self, last_id: int) -> int:
        """Forget the head chunks up to `last_id` (sent, or refused by the store) in one
        commit. Returns how many samples (lines) they held."""
        self.protected_upto = 0
        if not self.depth or last_id < self.head:
            return 0
        last_id = min(last_id, self.tail)
        removed = self._count_lines(self.head, last_id)
        self._mark_settled(last_id)  # raises only when even that cannot be written
        try:
            with self._transaction():
                self._db.execute("DELETE FROM chunks WHERE id <= ?", (last_id,))
        except sqlite3.Error:
            # Disk full: the rows stay in the file until a later delete covers them, but the
            # marker says they were delivered, so neither this process nor the next sends them.
            pass
        self._lines -= removed
        self._set_head(last_id + 1)
        return removed

    @_serialized
    def remove_lines(self, batch: SpoolBatch, count: int) -> int:
        """Forget the first `count` lines of `batch` (a write that stopped part-way): the
        chunks wholly among them leave as with `remove_upto`, and the chunk cut in two keeps
        only its unwritten lines, so nothing delivered is sent again. Returns how many."""
        whole = batch.settled_before(count)
        removed = self.remove_upto(whole) if whole >= batch.first_id else 0
        self.protected_upto = 0
        cut = whole + 1
        left = count - removed
        if left <= 0 or cut > batch.last_id or cut != self.head:
            return removed
        offset = cut - batch.first_id
        rest = batch.bodies[offset].split("\n")[left:]
        try:
            with self._transaction():
                self._db.execute(
                    "UPDATE chunks SET lines = ?, body = ? WHERE id = ?",
                    (len(rest), "\n".join(rest), cut),
                )
        except sqlite3.Error:  # disk full: those lines are written again (the store keeps
            return removed  # each point once)
        self._lines -= left
        return removed + left

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
            self.head, self.head_queued_at, self._lines = self.tail + 1, None, 0
            return
        self.head = new_head
        row = self._db.execute("SELECT queued_at FROM chunks WHERE id = ?", (new_head,)).fetchone()
        self.head_queued_at = float(row[0])

    @_serialized
    def used_bytes(self) -> int:
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        return (pages - free) * self._page_size

    @_serialized
    def enforce_bounds(self) -> int:
        """Drop the oldest chunks beyond the bounds. Returns how many samples were dropped.
        While the head is being sent nothing is dropped (the sink calls this again once it is
        done), so the spool may exceed its bound by one batch for the length of one write."""
        if self.protected_upto >= self.head and self.depth:
            return 0
        dropped = 0
        excess = self.depth - self.max_rows
        if excess > 0:
            dropped += self._drop_oldest(excess)
        if self.max_bytes is not None:
            # Page accounting is coarse: drop 1 % of the samples at a time until under it.
            while self.depth and self.used_bytes() > self.max_bytes:
                dropped += self._drop_oldest(max(1, self.depth // 100))
        return dropped

    def _drop_oldest(self, count: int) -> int:
        """Drop whole chunks from the head until at least `count` lines are gone."""
        last, dropped = self.head - 1, 0
        cursor = self._db.execute(
            "SELECT id, lines FROM chunks WHERE id >= ? ORDER BY id", (self.head,)
        )
        try:
            for chunk_id, lines in cursor:
                last, dropped = int(chunk_id), dropped + int(lines)
                if dropped >= count:
                    break
        finally:
            cursor.close()
        if last < self.head:
            return 0
        with self._transaction():
            self._db.execute("DELETE FROM chunks WHERE id <= ?", (last,))
        self._lines -= dropped
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
