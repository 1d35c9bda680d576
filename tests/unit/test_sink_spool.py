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
    batch = spool.peek(3)
    assert batch is not None
    assert batch.lines == lines(0, 3)
    spool.release()  # not delivered: the same rows come first again
    batch = spool.peek(4)
    assert batch is not None
    assert batch.lines == lines(0, 4)
    assert spool.remove_upto(batch.last_id) == 4
    assert spool.depth == 6
    rest = spool.peek(100)
    assert rest is not None
    assert rest.lines == lines(4, 6)
    assert spool.head_queued_at == 10.0


def test_spooled_rows_survive_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=100)
    spool.append(lines(0, 7), queued_at=5.0)
    batch = spool.peek(2)
    assert batch is not None
    spool.remove_upto(batch.last_id)
    spool.close()
    again = Spool(tmp_path / "s.sqlite", max_rows=100)
    assert again.depth == 5
    assert again.head_queued_at == 5.0
    batch = again.peek(100)
    assert batch is not None
    assert batch.lines == lines(2, 5)
    again.append(lines(7, 1), queued_at=6.0)
    assert again.depth == 6


def test_full_spool_drops_the_oldest_rows_and_says_how_many(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=10)
    assert spool.append(lines(0, 8), queued_at=1.0) == 0
    assert spool.append(lines(8, 5), queued_at=2.0) == 3
    assert spool.depth == 10
    batch = spool.peek(100)
    assert batch is not None
    assert batch.lines == lines(3, 10)


def test_rows_being_sent_are_not_dropped_until_settled(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=5)
    spool.append(lines(0, 5), queued_at=1.0)
    batch = spool.peek(2)
    assert batch is not None
    assert spool.append(lines(5, 3), queued_at=2.0) == 0  # deferred: head in flight
    assert spool.depth == 8
    spool.remove_upto(batch.last_id)  # delivered
    assert spool.enforce_bounds() == 1
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
    big = ["x" * 1000 + f" {i}" for i in range(1000)]  # about 1 MB of rows
    dropped = spool.append(big, queued_at=1.0)
    assert dropped > 700
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
