"""The spooler task of an InfluxDB sink: samples accepted in memory → committed to the spool.

It takes every chunk waiting in memory, commits them in one SQLite transaction in a worker
thread (group commit), wakes the sender when a batch is ready, and keeps what could not be
committed (a full disk) in memory to try again. Samples wait in memory only until its next
commit, at most GROUP_COMMIT_S after they came: what a `kill -9` can lose."""

from __future__ import annotations

import asyncio
import logging

from collector.sinks.state import SinkState

log = logging.getLogger("roomwatch.sink")

GROUP_COMMIT_S = 0.2
# After a failed commit (disk full, permissions), the next try comes this much later.
_RETRY_S = 1.0


class Spooler:
    def __init__(self, state: SinkState) -> None:
        self._state = state

    async def run(self) -> None:
        state = self._state
        while True:
            await state.wake_spooler.wait()
            state.wake_spooler.clear()
            while state.pending:
                if state.closing.is_set():
                    # The last round: from here on submit() refuses (and counts), so this
                    # loop ends even while polls go on.
                    state.closed = True
                chunks = list(state.pending)
                state.pending.clear()
                committed: list[int] = []  # chunks committed so far, filled by _append
                try:
                    async with state.db_lock:
                        await asyncio.to_thread(self._append, chunks, committed)
                except Exception as exc:  # disk full, permissions: keep them in memory, retry
                    # Only what was not committed goes back: a committed chunk retried would
                    # be spooled (and written) twice.
                    state.pending_count -= sum(len(c[1]) for c in chunks[: len(committed)])
                    state.pending.extendleft(reversed(chunks[len(committed) :]))
                    state.set_spool_error(f"spool write failed: {type(exc).__name__}: {exc}")
                    if state.stopping.is_set():
                        state.wake_sender.set()  # a draining sender stops waiting for it
                    if state.closing.is_set():
                        log.error(
                            "sink %s: stopping with %d samples not spooled: they are lost"
                            " (the spool cannot be written: %s)",
                            state.name,
                            state.pending_count,
                            state.spool_error,
                        )
                        return
                    await state.sleep(_RETRY_S, state.closing)
                    continue
                state.pending_count -= sum(len(c[1]) for c in chunks)
                state.set_spool_error("")
                if state.spool is not None and state.spool.depth >= state.batch_limit:
                    state.wake_sender.set()
                if state.stopping.is_set():
                    state.wake_sender.set()  # a draining sender waits for this commit
                else:
                    # Group commit: polls arriving meanwhile are committed together (each
                    # round is a thread hand-off and a WAL commit; 1,000 switches make 17
                    # polls a second). Bounds what a kill -9 can lose to GROUP_COMMIT_S.
                    await state.sleep(GROUP_COMMIT_S, state.closing)
            if state.closing.is_set():
                state.closed = True
                return

    def _append(self, chunks: list[tuple[float, list[str]]], committed: list[int]) -> None:
        """Commit the chunks in one transaction, noting them in `committed` once durable.
        Runs in a worker thread."""
        state = self._state
        assert state.spool is not None
        encoded = [(lines, accepted_at) for accepted_at, lines in chunks]
        state.spool.insert_chunks(encoded)  # one transaction: all chunks or none
        committed.extend(len(lines) for lines, _ in encoded)
        state.counters["spooled_total"] += sum(len(lines) for lines, _ in encoded)
        try:
            dropped = state.spool.enforce_bounds()
        except Exception:  # the rows are committed; the bound is enforced again next time
            log.exception("sink %s: could not trim the full spool", state.name)
            return
        if dropped:
            state.note_dropped(dropped, "spool full")
