"""The sender task of an InfluxDB sink: spooled batches → the store, in order, rate-bounded.

A row leaves the spool only once the store answered 2xx (or refused its lines for good,
counted). A store that is down is retried with a backoff; a batch too large is halved; a
refused batch is split until the refused lines stand alone. The one case that can write a
batch twice is a write whose answer never came (timeout, or the daemon killed mid-request):
the batch is sent again, which InfluxDB stores once (the same point overwrites itself)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from collector.sinks.spool import Spool, SpoolBatch
from collector.sinks.state import SinkState
from collector.sinks.store import StoreError, StoreWriter

log = logging.getLogger("roomwatch.sink")

_BACKOFF_FIRST_S = 1.0
_BACKOFF_MAX_S = 30.0
# Writes spent per refused batch to find the refused lines (one bad line among 5,000 takes 26).
_ISOLATE_MAX_WRITES = 64


class Sender:
    def __init__(self, state: SinkState, writer: StoreWriter) -> None:
        self._state = state
        self._writer = writer
        self._unsettled: int | None = None  # last id of a written batch not yet deleted
        self._error = ""  # the unexpected failure being repeated, logged once
        self._failures = 0

    async def run(self) -> None:
        state = self._state
        assert state.spool is not None
        spool, writer = state.spool, self._writer
        stop_deadline: float | None = None
        backoff = _BACKOFF_FIRST_S
        while True:
            if state.stopping.is_set():
                if stop_deadline is None:
                    stop_deadline = state.clock.monotonic() + state.config.timeout
                # Keep sending while the store answers, until empty or out of time.
                left = stop_deadline - state.clock.monotonic()
                if not state.drain or not state.store_up or left <= 0:
                    return
                # (what is still in memory waits for the spooler, unless the spool is broken)
                waiting = state.pending_count and not state.spool_error
                if not spool.depth and not waiting and self._unsettled is None:
                    return
                if not spool.depth:
                    # the spooler wakes us after its next commit (or failure)
                    await state.wait(state.wake_sender, left)
                    state.wake_sender.clear()
                    continue
            elif spool.depth < state.batch_limit:
                await state.wait(state.wake_sender, state.config.flush_interval)
                state.wake_sender.clear()
                if not spool.depth:
                    continue
            try:
                delay = await self._send_next(spool, writer)
            except Exception as exc:  # SQLite trouble or a bug: the rows stay; try again later
                self._failed(exc)
                if state.stopping.is_set():
                    # No retry loop at stop: what is not settled stays spooled (and marked
                    # when it was delivered), and the next start carries on.
                    return
                delay = 0.0
            else:
                self._recovered()
            if delay is None:
                backoff = _BACKOFF_FIRST_S
            else:
                await state.sleep(delay if delay > 0 else backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    def _failed(self, exc: Exception) -> None:
        """Log an unexpected sending failure once (with its traceback) while it repeats."""
        what = f"{type(exc).__name__}: {exc}"
        self._failures += 1
        if what != self._error:
            self._error = what
            log.exception(
                "sink %s: sending failed unexpectedly (logged once while it lasts)",
                self._state.name,
            )

    def _recovered(self) -> None:
        if self._error:
            log.info(
                "sink %s: sending works again after %d failures (%s)",
                self._state.name,
                self._failures,
                self._error,
            )
            self._error, self._failures = "", 0

    async def _send_next(self, spool: Spool, writer: StoreWriter) -> float | None:
        if self._unsettled is not None:
            # A batch the store accepted is still in the spool (its delete failed): delete it,
            # never send it again.
            await self._settle(self._unsettled)
            return None
        await self._rate_limit(min(spool.depth, self._state.batch_limit))
        async with self._state.db_lock:
            batch = await asyncio.to_thread(spool.peek, self._state.batch_limit)
        if batch is None:
            return None
        return await self._send(batch, writer)

    async def _send(self, batch: SpoolBatch, writer: StoreWriter) -> float | None:
        """Write one batch and settle it in the spool. Returns None on success (or a batch the
        store refused for good), else how long to wait before retrying (0: use the backoff)."""
        state = self._state
        # A poll is one chunk and a batch whole chunks; a chunk longer than the store takes
        # in one write (its limit learnt from a 413, or a small batch_size) goes in parts.
        part = batch.lines[: state.batch_limit] if batch.count > state.batch_limit else None
        body = batch.body if part is None else "\n".join(part)
        try:
            await writer.write(body.encode("utf-8"))
        except StoreError as exc:
            state.counters["write_errors_total"] += 1
            if not exc.retry:
                return await self._isolate_refused(batch, part, writer, exc)
            if exc.kind == "too_large" and state.batch_limit > 1:
                state.batch_limit = max(1, state.batch_limit // 2)
                log.warning(
                    "sink %s: store says the batch is too large; sending %d at a time",
                    state.name,
                    state.batch_limit,
                )
                await self._release()
                return 0.01
            state.set_up(False, f"{exc.kind}: {exc}")
            await self._release()
            return exc.retry_after or 0.0
        except Exception as exc:  # a bug or an unexpected library error: keep the data, retry
            state.counters["write_errors_total"] += 1
            state.set_up(False, f"error: {type(exc).__name__}")
            log.exception("sink %s: unexpected write failure", state.name)
            await self._release()
            return 0.0
        state.set_up(True)
        if part is not None:
            state.counters["written_total"] += len(part)
            await self._settle_lines(batch, len(part))
            return None
        state.counters["written_total"] += batch.count
        await self._settle(batch.last_id)
        return None

    async def _isolate_refused(
        self,
        batch: SpoolBatch,
        part: list[str] | None,
        writer: StoreWriter,
        refusal: StoreError,
    ) -> float | None:
        """The store refused the batch (400/422). InfluxDB OSS 2 refuses a whole batch for its
        first bad point (a field type conflict, say), so the batch is halved, and halved again,
        until the refused lines stand alone: only those leave the spool unwritten; the rest is
        written in order. A store that had kept the valid lines (a partial write: InfluxDB
        1.x, 3) gets them again, which overwrites each point with itself. At most
        `_ISOLATE_MAX_WRITES` writes per batch, one always kept for each part not yet tried,
        so a refused part is split no further once the budget is short (a store refusing
        every line, such as points older than the bucket's retention) and is refused whole,
        while the good parts are still written. Returns as `_send` does."""
        state = self._state
        lines = batch.lines if part is None else part  # `part`: the batch's first lines
        untried: deque[tuple[int, int]] = deque()  # index ranges not yet written, in order
        writes = written = refused = 0
        first_refused: int | None = None

        def split_or_refuse(lo: int, hi: int) -> None:
            nonlocal refused, first_refused
            if hi - lo > 1 and writes + 2 + len(untried) <= _ISOLATE_MAX_WRITES:
                mid = (lo + hi) // 2
                untried.extendleft([(mid, hi), (lo, mid)])
                return
            refused += hi - lo
            first_refused = lo if first_refused is None else first_refused

        split_or_refuse(0, len(lines))
        while untried:
            lo, hi = untried.popleft()
            writes += 1
            try:
                await writer.write("\n".join(lines[lo:hi]).encode("utf-8"))
            except StoreError as exc:
                if exc.retry:  # the store went away meanwhile: keep what is left, retry
                    state.counters["written_total"] += written
                    state.counters["rejected_total"] += refused
                    if lo > 0:  # what was written leaves the spool, never sent twice
                        await self._settle_lines(batch, lo)
                    state.set_up(False, f"{exc.kind}: {exc}")
                    await self._release()
                    return exc.retry_after or 0.0
                split_or_refuse(lo, hi)
            else:
                written += hi - lo
        state.counters["written_total"] += written
        state.counters["rejected_total"] += refused
        log.error(
            "sink %s: store refused %d of %d samples (%s); they leave the spool (first: %s)",
            state.name,
            refused,
            len(lines),
            refusal,
            _short_line(lines[first_refused] if first_refused is not None else ""),
        )
        if written:
            state.set_up(True)
        if part is not None:
            await self._settle_lines(batch, len(part))
        else:
            await self._settle(batch.last_id)
        return None

    async def _settle(self, last_id: int) -> None:
        """Remove a delivered (or refused) batch from the spool; until that succeeds it is
        remembered as unsettled, so a failing delete never leads to a second write."""
        state = self._state
        assert state.spool is not None
        spool = state.spool
        self._unsettled = last_id
        async with state.db_lock:
            await asyncio.to_thread(spool.remove_upto, last_id)
            self._unsettled = None
            dropped = await asyncio.to_thread(spool.enforce_bounds)
        if dropped:
            state.note_dropped(dropped, "spool full")

    async def _settle_lines(self, batch: SpoolBatch, count: int) -> None:
        """Remove the first `count` lines of a batch written part-way."""
        assert self._state.spool is not None
        spool = self._state.spool
        async with self._state.db_lock:
            await asyncio.to_thread(spool.remove_lines, batch, count)

    async def _release(self) -> None:
        state = self._state
        assert state.spool is not None
        spool = state.spool
        async with state.db_lock:
            spool.release()
            dropped = await asyncio.to_thread(spool.enforce_bounds)
        if dropped:
            state.note_dropped(dropped, "spool full")

    async def _rate_limit(self, count: int) -> None:
        delay = self._state.limiter.take(count, self._state.clock.monotonic())
        if delay > 0:
            await self._state.clock.sleep(delay)


def _short_line(line: str, limit: int = 200) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
