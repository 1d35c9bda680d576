"""The SQLite spool: order, persistence, bounds with drop-oldest, rows in flight."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collector.sinks.spool import Spool, SpoolBusy


def lines(start: int, count: int) -> list[str]:
    return [f"m,device=d f={i}.0 {i}" for i in range(start, start + count)]


def test_rows_come_back_in_order_and_leave_only_when_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=100)
    spool.append(lines(0, 5), queued_at=10.0)
    spool.append(lines(5, 5), queued_at=11.0)
    assert spool.depth == 10  # samples, not chunks
    batch = spool.peek(3)  # a poll is sent whole: at least one chunk, however long
    assert batch is not None
    assert batch.lines == lines(0, 5)
    spool.release()  # not delivered: the same rows come first again
    batch = spool.peek(7)  # the second chunk would make 10 > 7
    assert batch is not None
    assert (batch.lines, batch.count) == (lines(0, 5), 5)
    assert spool.remove_upto(batch.last_id) == 5
    assert spool.depth == 5
    rest = spool.peek(100)
    assert rest is not None
    assert rest.lines == lines(5, 5)
    assert rest.body == "\n".join(lines(5, 5))
    assert spool.head_queued_at == 11.0


def test_a_batch_takes_whole_chunks_up_to_its_limit(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=100)
    for start in (0, 3, 6):
        spool.append(lines(start, 3), queued_at=float(start))
    batch = spool.peek(7)
    assert batch is not None
    assert (batch.first_id, batch.last_id, batch.count) == (1, 2, 6)
    assert batch.lines == lines(0, 6)
    # A write that failed at line 4 settles the first chunk only (lines 0-2).
    assert batch.settled_before(4) == 1
    assert batch.settled_before(3) == 1
    assert batch.settled_before(2) == 0  # nothing whole before it
    assert batch.settled_before(6) == 2


def test_spooled_rows_survive_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=100)
    spool.append(lines(0, 2), queued_at=5.0)
    spool.append(lines(2, 5), queued_at=6.0)
    batch = spool.peek(2)
    assert batch is not None
    spool.remove_upto(batch.last_id)
    spool.close()
    again = Spool(tmp_path / "s.sqlite", max_rows=100)
    assert again.depth == 5
    assert again.head_queued_at == 6.0
    batch = again.peek(100)
    assert batch is not None
    assert batch.lines == lines(2, 5)
    again.append(lines(7, 1), queued_at=7.0)
    assert again.depth == 6


def test_full_spool_drops_the_oldest_polls_and_says_how_many(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=10)
    assert spool.append(lines(0, 4), queued_at=1.0) == 0
    assert spool.append(lines(4, 4), queued_at=2.0) == 0
    assert spool.append(lines(8, 5), queued_at=3.0) == 4  # the oldest poll, whole
    assert spool.depth == 9
    batch = spool.peek(100)
    assert batch is not None
    assert batch.lines == lines(4, 9)
    assert spool.head_queued_at == 2.0


def test_rows_being_sent_are_not_dropped_until_settled(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=5)
    spool.append(lines(0, 3), queued_at=1.0)
    spool.append(lines(3, 2), queued_at=2.0)
    batch = spool.peek(2)
    assert batch is not None and batch.count == 3
    assert spool.append(lines(5, 3), queued_at=3.0) == 0  # deferred: head in flight
    assert spool.depth == 8
    spool.release()  # not delivered after all: now the bound applies
    assert spool.enforce_bounds() == 3
    rest = spool.peek(100)
    assert rest is not None
    assert rest.lines == lines(3, 5)


def test_empty_spool_has_no_age_and_refills_cleanly(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=100)
    assert spool.peek(10) is None
    spool.append(lines(0, 2), queued_at=1.0)
    batch = spool.peek(10)
    assert batch is not None
    spool.remove_upto(batch.last_id)
    assert (spool.depth, spool.head_queued_at) == (0, None)
    spool.append(lines(2, 2), queued_at=3.0)
    assert (spool.depth, spool.head_queued_at) == (2, 3.0)
    again = spool.peek(10)
    assert again is not None
    assert again.lines == lines(2, 2)


def test_byte_bound_drops_oldest_until_the_database_fits(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=1_000_000, max_bytes=200_000)
    big = ["x" * 1000 + f" {i}" for i in range(1000)]  # about 1 MB, in polls of 10 lines
    dropped = sum(spool.append(big[i : i + 10], queued_at=float(i)) for i in range(0, 1000, 10))
    assert dropped > 700
    assert dropped % 10 == 0  # whole polls
    assert spool.used_bytes() <= 200_000
    batch = spool.peek(1_000_000)
    assert batch is not None
    assert batch.lines == big[dropped:]  # the newest are kept


def test_a_second_opener_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    first = Spool(tmp_path / "s.sqlite", max_rows=10)
    with pytest.raises(SpoolBusy, match=rf"in use by process {os.getpid()}"):
        Spool(tmp_path / "s.sqlite", max_rows=10)
    first.close()
    Spool(tmp_path / "s.sqlite", max_rows=10).close()


def test_closing_while_another_thread_writes_never_crashes_and_later_use_is_refused(
    tmp_path: Path,
) -> None:
    """The sink's spooler and sender use the spool from worker threads; a stop may close it
    while one of them is inside a transaction."""
    import threading

    from collector.sinks.spool import SpoolClosed

    spool = Spool(tmp_path / "s.sqlite", max_rows=10**9)
    outcomes: list[str] = []

    def writer() -> None:
        try:
            for i in range(100_000):
                spool.append([f"m v={i}"] * 50, float(i))
                spool.peek(10)
        except SpoolClosed:
            outcomes.append("closed")

    thread = threading.Thread(target=writer)
    thread.start()
    while spool.depth < 500:
        pass
    spool.close()
    thread.join(timeout=30)
    assert outcomes == ["closed"]
    with pytest.raises(SpoolClosed):
        spool.insert(["m v=1"], 0.0)
    reopened = Spool(tmp_path / "s.sqlite", max_rows=10**9)  # the lock was released
    try:
        assert reopened.depth >= 500
    finally:
        reopened.close()


def test_chunks_inserted_together_keep_their_order_and_the_oldest_time(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=100)
    spool.insert_chunks([(lines(0, 3), 10.0), ([], 11.0), (lines(3, 2), 12.0)])
    assert spool.depth == 5
    assert spool.head_queued_at == 10.0  # the age of the backlog is its oldest sample's
    batch = spool.peek(10)
    assert batch is not None and batch.lines == lines(0, 5)
    spool.remove_upto(batch.last_id)
    spool.insert_chunks([])
    assert spool.depth == 0 and spool.head_queued_at is None
    spool.close()
    reopened = Spool(tmp_path / "s.sqlite", max_rows=100)
    assert reopened.depth == 0
    reopened.close()


def test_a_spool_of_an_older_version_is_converted_and_its_marker_still_holds(
    tmp_path: Path,
) -> None:
    """Before chunks, a row was one line; an upgrade must neither lose nor resend them."""
    import sqlite3

    path = tmp_path / "s.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE spool (id INTEGER PRIMARY KEY, queued_at REAL NOT NULL,"
               " line TEXT NOT NULL)")  # fmt: skip
    db.executemany(
        "INSERT INTO spool VALUES (?, ?, ?)",
        [(i + 1, 100.0 + i, line) for i, line in enumerate(lines(0, 5))],
    )
    db.commit()
    db.close()
    # The old daemon had delivered rows 1-2 but not deleted them (disk full).
    (tmp_path / "s.sqlite.settled").write_text(f"{2:020d}\n")
    spool = Spool(path, max_rows=100)
    try:
        assert spool.depth == 3
        assert spool.head_queued_at == 102.0
        batch = spool.peek(100)
        assert batch is not None
        assert (batch.first_id, batch.lines) == (3, lines(2, 3))
        spool.append(lines(5, 2), queued_at=200.0)
        assert spool.depth == 5
    finally:
        spool.close()
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert ("spool",) not in tables


def test_a_batch_written_part_way_leaves_exactly_what_was_written(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=100)
    spool.append(lines(0, 4), queued_at=1.0)
    spool.append(lines(4, 4), queued_at=2.0)
    batch = spool.peek(100)
    assert batch is not None
    assert spool.remove_lines(batch, 6) == 6  # the first chunk and half of the second
    assert spool.depth == 2
    spool.close()
    again = Spool(tmp_path / "s.sqlite", max_rows=100)  # and it holds across a restart
    try:
        rest = again.peek(100)
        assert rest is not None
        assert rest.lines == lines(6, 2)
        assert again.depth == 2
    finally:
        again.close()
