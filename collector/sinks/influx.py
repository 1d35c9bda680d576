"""The InfluxDB v2 sink: every submitted sample goes through the durable spool to the store.

    submit() ──memory──▶ spooler task ──SQLite commit──▶ spool ──sender task──▶ InfluxDB v2
     (never blocks)       (group commit, in a thread)              (batches, in order, rate-bounded)

Spool-first means one path for every sample, healthy store or not: order is kept, a restart or
`kill -9` resumes from what is committed, and a row leaves the spool only once the store
answered 2xx (or refused its lines for good, counted). Samples sit in memory only until the
spooler's next commit (at most GROUP_COMMIT_S, a fifth of a second, after they came); that
short window is what a `kill -9` can lose.
The one case that can write a batch twice is a write whose answer never came (timeout, or the
daemon killed mid-request): the batch is sent again. InfluxDB stores a point with the same
measurement, tags, field and timestamp once (the second write overwrites the first), so the
stored data stays exact there; see README "Sending samples to InfluxDB".

(Over 400 lines on purpose: the sink is one state machine — memory queue, spool, store — whose
two tasks share its counters, events and the spool lock; split into modules they would share
private state across them. The pure parts live apart: lineproto.py, spool.py, store.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from collector.clock import Clock, SystemClock
from collector.sinks.config import SinkConfig
from collector.sinks.lineproto import LineEncoder, TagsFor
from collector.sinks.pacing import RateLimiter
from collector.sinks.spool import Spool, SpoolBatch
from collector.sinks.store import InfluxWriter, StoreError, StoreWriter
from core.sample import Sample

log = logging.getLogger("roomwatch.sink")

OWN_DEVICE = "roomwatch"
GROUP_COMMIT_S = 0.2
_BACKOFF_FIRST_S = 1.0
_BACKOFF_MAX_S = 30.0
_DROP_LOG_EVERY_S = 60.0
# Writes spent per refused batch to find the refused lines (one bad line among 5,000 takes 26).
_ISOLATE_MAX_WRITES = 64
# Series prefixes and inventory tags are cached; this often they are looked up again, so an
# inventory reload (a device moved to another site) shows within a minute.
_TAG_CACHE_S = 60.0


class InfluxSink:
    """One InfluxDB v2 store and its own spool. Built by `build_sinks`."""

    def __init__(
        self,
        config: SinkConfig,
        token: str,
        spool_path: Path,
        tags_for: TagsFor | None = None,
        *,
        writer: StoreWriter | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.name = config.name
        self.config = config
        self.spool_path = Path(spool_path)
        self._token = token
        # Every wait (backoff, flush interval, rate limit, stop deadline) runs on this clock,
        # so the unit tests drive the sink on virtual time instead of sleeping.
        self._clock: Clock = clock or SystemClock()
        self._encoder = LineEncoder(tags_for)
        self._encoder_since = self._clock.monotonic()
        self._writer = writer
        self._spool: Spool | None = None
        # Submitted, not yet committed: (accepted_at, encoded lines) chunks, oldest first.
        self._pending: deque[tuple[float, list[str]]] = deque()
        self._pending_count = 0
        self.max_pending = max(20 * config.batch_size, 200_000)
        self._db_lock = asyncio.Lock()
        self._wake_spooler = asyncio.Event()
        self._wake_sender = asyncio.Event()
        self._stopping = asyncio.Event()  # stop() called: the sender drains, then ends
        self._closing = asyncio.Event()  # the sender is done: the spooler commits, then ends
        self._closed = False  # the spooler is done: nothing more can be accepted
        self._drain = True
        self._tasks: list[asyncio.Task[None]] = []
        self._batch_limit = config.batch_size
        self._limiter = RateLimiter(config.spool.replay_rate, burst=config.batch_size)
        self._unsettled: int | None = None  # last id of a written batch not yet deleted
        self._sender_error = ""  # the unexpected failure being repeated, logged once
        self._sender_failures = 0
        self._up = True  # the store's last answer
        self._down_reason = ""
        self._spool_error = ""  # why the spool cannot be written now ("" when it can)
        self._last_drop_log: float | None = None  # monotonic; None: nothing logged yet
        self._dropped_since_log = 0
        self.counters = {
            "spooled_total": 0,
            "written_total": 0,
            "dropped_total": 0,
            "rejected_total": 0,
            "unencodable_total": 0,
            "write_errors_total": 0,
        }

    def __repr__(self) -> str:
        return f"InfluxSink({self.name!r}, url={self.config.url!r}, spool={str(self.spool_path)!r})"

    # ---- the daemon's interface -------------------------------------------------------------

    async def start(self) -> None:
        """Open the spool (resuming what a previous run left) and start sending. Raises
        SpoolBusy when another process holds the spool, OSError / sqlite3.Error when it cannot
        be opened (a set-up problem)."""
        spool_cfg = self.config.spool
        self._spool = await asyncio.to_thread(
            Spool, self.spool_path, spool_cfg.max_rows, spool_cfg.max_bytes
        )
        if self._writer is None:
            self._writer = InfluxWriter(self.config, self._token, gzip=self.config.gzip)
        if self.config.url.startswith("https:") and not self.config.verify_tls:
            log.warning(
                "sink %s: the server's TLS certificate is not verified (verify_tls: false)",
                self.name,
            )
        if self._spool.depth:
            log.info(
                "sink %s: resuming with %d spooled samples in %s",
                self.name,
                self._spool.depth,
                self.spool_path,
            )
        self._tasks = [
            asyncio.create_task(self._spooler(), name=f"sink-{self.name}-spooler"),
            asyncio.create_task(self._sender(), name=f"sink-{self.name}-sender"),
        ]

    def submit(self, samples: Sequence[Sample]) -> None:
        """Accept samples. Never blocks, never raises: if the spool cannot keep up (a broken
        disk), the oldest samples held in memory beyond `max_pending` are dropped, counted."""
        try:
            if not samples:
                return
            if self._closed:
                self._note_dropped(len(samples), "sink stopped", "newest ")
                return
            # Encoded now, on the loop (a quarter of a millisecond for a switch's poll), not
            # by the spooler's thread: the Sample objects die with the poll instead of
            # waiting up to a group commit in memory, where at 5,000 switches they were two
            # thirds of what each young garbage collection had to walk.
            self._refresh_encoder()
            accepted_at = self._clock.now()
            lines, skipped = self._encoder.encode(samples, default_ts=accepted_at)
            self.counters["unencodable_total"] += skipped
            if not lines:
                return
            self._pending.append((accepted_at, lines))
            self._pending_count += len(lines)
            # replay_rate bounds catch-up, not the room's own pace: what arrives live earns
            # its own passage (5,000 switches make 50,000 samples/s, above the default 20,000).
            self._limiter.credit(len(lines), self._clock.monotonic())
            while self._pending_count > self.max_pending and len(self._pending) > 1:
                _, oldest = self._pending.popleft()
                self._pending_count -= len(oldest)
                self._note_dropped(len(oldest), "memory queue full (spool not keeping up)")
            self._wake_spooler.set()
        except Exception:  # a sink must never break the collector
            log.exception("sink %s: submit failed", self.name)

    async def stop(self, drain: bool = True) -> None:
        """Keep sending for up to `timeout` while the store is up (not with `drain=False`, for
        a reload: the next sink on this spool carries on), then commit everything accepted
        to the spool; what is not sent stays there for the next start. Samples submitted
        meanwhile (polls go on during a reload) are spooled too."""
        if self._stopping.is_set():
            return
        self._drain = drain
        self._stopping.set()
        self._wake_sender.set()
        # start() made [spooler, sender]: the sender ends first, so the spooler keeps
        # committing what polls submit while the sender drains.
        for task in reversed(self._tasks):
            if task is self._tasks[0]:
                self._closing.set()
                self._wake_spooler.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._closing.set()
        self._closed = True
        self._tasks = []
        if self._spool is not None:
            left = self._spool.depth
            if left:
                log.info("sink %s: stopped with %d samples spooled", self.name, left)
            await asyncio.to_thread(self._spool.close)
        if self._writer is not None:
            await self._writer.close()

    def own_samples(self, now: float) -> Sequence[Sample]:
        labels = {"sink": self.name}
        up = Sample(
            OWN_DEVICE,
            "roomwatch.sink.up",
            1 if self.up else 0,
            dict(labels),
            ts=now,
            note=None if self.up else (self._down_reason or self._spool_error),
        )
        return [
            up,
            Sample(OWN_DEVICE, "roomwatch.spool.depth", self.depth(), dict(labels), ts=now),
            Sample(
                OWN_DEVICE,
                "roomwatch.spool.age_seconds",
                self.age_seconds(now),
                dict(labels),
                unit="s",
                ts=now,
            ),
            Sample(
                OWN_DEVICE,
                "roomwatch.spool.dropped_total",
                self.counters["dropped_total"],
                dict(labels),
                ts=now,
            ),
            Sample(
                OWN_DEVICE,
                "roomwatch.sink.written_total",
                self.counters["written_total"],
                dict(labels),
                ts=now,
            ),
        ]

    def stats(self) -> dict[str, float]:
        """Counters and gauges for the HTTP API's /metrics (the caller adds `sink=<name>`)."""
        out = {k: float(v) for k, v in self.counters.items()}
        out["up"] = 1.0 if self.up else 0.0
        out["spool_depth"] = float(self.depth())
        out["pending"] = float(self._pending_count)
        out["spool_age_seconds"] = self.age_seconds(self._clock.now())
        return out

    # ---- state ------------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        """The store takes writes and the spool can be written."""
        return self._up and not self._spool_error

    def depth(self) -> int:
        """Samples not yet in the store: spooled plus accepted-but-not-committed."""
        spooled = self._spool.depth if self._spool is not None else 0
        return spooled + self._pending_count

    def age_seconds(self, now: float) -> float:
        """Age of the oldest sample not yet in the store (0 when there is none)."""
        oldest: float | None = None
        if self._spool is not None and self._spool.head_queued_at is not None:
            oldest = self._spool.head_queued_at
        elif self._pending:
            oldest = self._pending[0][0]
        return max(0.0, now - oldest) if oldest is not None else 0.0

    def _note_dropped(self, count: int, why: str, which: str = "oldest ") -> None:
        self.counters["dropped_total"] += count
        self._dropped_since_log += count
        now = self._clock.monotonic()
        if self._last_drop_log is None or now - self._last_drop_log >= _DROP_LOG_EVERY_S:
            log.warning(
                "sink %s: %s: dropped the %d %ssamples (%d dropped in all)",
                self.name,
                why,
                self._dropped_since_log,
                which,
                self.counters["dropped_total"],
            )
            self._last_drop_log = now
            self._dropped_since_log = 0

    def _set_up(self, up: bool, reason: str = "") -> None:
        if up and not self._up:
            log.info(
                "sink %s: store reachable again; replaying %d spooled samples",
                self.name,
                self.depth(),
            )
        elif not up and (self._up or reason != self._down_reason):
            log.warning("sink %s: store write failed (%s); spooling", self.name, reason)
        self._up = up
        self._down_reason = "" if up else reason

    def _set_spool_error(self, reason: str) -> None:
        """The spool's own health, apart from the store's (a full disk while the store is
        fine must not flap `up` with every batch the sender still writes)."""
        if reason and reason != self._spool_error:
            log.error(
                "sink %s: %s; holding %d samples in memory", self.name, reason, self._pending_count
            )
        elif not reason and self._spool_error:
            log.info("sink %s: the spool can be written again", self.name)
        self._spool_error = reason

    # ---- spooler: memory -> SQLite ----------------------------------------------------------

    async def _spooler(self) -> None:
        while True:
            await self._wake_spooler.wait()
            self._wake_spooler.clear()
            while self._pending:
                if self._closing.is_set():
                    # The last round: from here on submit() refuses (and counts), so this
                    # loop ends even while polls go on.
                    self._closed = True
                chunks = list(self._pending)
                self._pending.clear()
                committed: list[int] = []  # chunks committed so far, filled by _append
                try:
                    async with self._db_lock:
                        await asyncio.to_thread(self._append, chunks, committed)
                except Exception as exc:  # disk full, permissions: keep them in memory, retry
                    # Only what was not committed goes back: a committed chunk retried would
                    # be spooled (and written) twice.
                    self._pending_count -= sum(len(c[1]) for c in chunks[: len(committed)])
                    self._pending.extendleft(reversed(chunks[len(committed) :]))
                    self._set_spool_error(f"spool write failed: {type(exc).__name__}: {exc}")
                    if self._stopping.is_set():
                        self._wake_sender.set()  # a draining sender stops waiting for it
                    if self._closing.is_set():
                        log.error(
                            "sink %s: stopping with %d samples not spooled: they are lost"
                            " (the spool cannot be written: %s)",
                            self.name,
                            self._pending_count,
                            self._spool_error,
                        )
                        return
                    await self._sleep(_BACKOFF_FIRST_S, self._closing)
                    continue
                self._pending_count -= sum(len(c[1]) for c in chunks)
                self._set_spool_error("")
                if self._spool is not None and self._spool.depth >= self._batch_limit:
                    self._wake_sender.set()
                if self._stopping.is_set():
                    self._wake_sender.set()  # a draining sender waits for this commit
                else:
                    # Group commit: polls arriving meanwhile are committed together (each
                    # round is a thread hand-off and a WAL commit; 1,000 switches make 17
                    # polls a second). Bounds what a kill -9 can lose to GROUP_COMMIT_S.
                    await self._sleep(GROUP_COMMIT_S, self._closing)
            if self._closing.is_set():
                self._closed = True
                return

    def _refresh_encoder(self) -> None:
        if self._clock.monotonic() - self._encoder_since > _TAG_CACHE_S:
            self._encoder.refresh_tags()
            self._encoder_since = self._clock.monotonic()

    def _append(self, chunks: list[tuple[float, list[str]]], committed: list[int]) -> None:
        """Commit the chunks in one transaction, noting them in `committed` once durable.
        Runs in a worker thread."""
        assert self._spool is not None
        encoded = [(lines, accepted_at) for accepted_at, lines in chunks]
        self._spool.insert_chunks(encoded)  # one transaction: all chunks or none
        committed.extend(len(lines) for lines, _ in encoded)
        self.counters["spooled_total"] += sum(len(lines) for lines, _ in encoded)
        try:
            dropped = self._spool.enforce_bounds()
        except Exception:  # the rows are committed; the bound is enforced again next time
            log.exception("sink %s: could not trim the full spool", self.name)
            return
        if dropped:
            self._note_dropped(dropped, "spool full")

    # ---- sender: SQLite -> store ------------------------------------------------------------

    async def _sender(self) -> None:
        assert self._spool is not None and self._writer is not None
        spool, writer = self._spool, self._writer
        stop_deadline: float | None = None
        backoff = _BACKOFF_FIRST_S
        while True:
            if self._stopping.is_set():
                if stop_deadline is None:
                    stop_deadline = self._clock.monotonic() + self.config.timeout
                # Keep sending while the store answers, until empty or out of time.
                left = stop_deadline - self._clock.monotonic()
                if not self._drain or not self._up or left <= 0:
                    return
                # (what is still in memory waits for the spooler, unless the spool is broken)
                waiting = self._pending_count and not self._spool_error
                if not spool.depth and not waiting and self._unsettled is None:
                    return
                if not spool.depth:
                    # the spooler wakes us after its next commit (or failure)
                    await self._wait(self._wake_sender, left)
                    self._wake_sender.clear()
                    continue
            elif spool.depth < self._batch_limit:
                await self._wait(self._wake_sender, self.config.flush_interval)
                self._wake_sender.clear()
                if not spool.depth:
                    continue
            try:
                delay = await self._send_next(spool, writer)
            except Exception as exc:  # SQLite trouble or a bug: the rows stay; try again later
                self._sender_failed(exc)
                if self._stopping.is_set():
                    # No retry loop at stop: what is not settled stays spooled (and marked
                    # when it was delivered), and the next start carries on.
                    return
                delay = 0.0
            else:
                self._sender_recovered()
            if delay is None:
                backoff = _BACKOFF_FIRST_S
            else:
                await self._sleep(delay if delay > 0 else backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    def _sender_failed(self, exc: Exception) -> None:
        """Log an unexpected sending failure once (with its traceback) while it repeats."""
        what = f"{type(exc).__name__}: {exc}"
        self._sender_failures += 1
        if what != self._sender_error:
            self._sender_error = what
            log.exception(
                "sink %s: sending failed unexpectedly (logged once while it lasts)", self.name
            )

    def _sender_recovered(self) -> None:
        if self._sender_error:
            log.info(
                "sink %s: sending works again after %d failures (%s)",
                self.name,
                self._sender_failures,
                self._sender_error,
            )
            self._sender_error, self._sender_failures = "", 0

    async def _send_next(self, spool: Spool, writer: StoreWriter) -> float | None:
        if self._unsettled is not None:
            # A batch the store accepted is still in the spool (its delete failed): delete it,
            # never send it again.
            await self._settle(self._unsettled)
            return None
        await self._rate_limit(min(spool.depth, self._batch_limit))
        async with self._db_lock:
            batch = await asyncio.to_thread(spool.peek, self._batch_limit)
        if batch is None:
            return None
        return await self._send(batch, writer)

    async def _send(self, batch: SpoolBatch, writer: StoreWriter) -> float | None:
        """Write one batch and settle it in the spool. Returns None on success (or a batch the
        store refused for good), else how long to wait before retrying (0: use the backoff)."""
        # A poll is one chunk and a batch whole chunks; a chunk longer than the store takes
        # in one write (its limit learnt from a 413, or a small batch_size) goes in parts.
        part = batch.lines[: self._batch_limit] if batch.count > self._batch_limit else None
        body = batch.body if part is None else "\n".join(part)
        try:
            await writer.write(body.encode("utf-8"))
        except StoreError as exc:
            self.counters["write_errors_total"] += 1
            if not exc.retry:
                return await self._isolate_refused(batch, part, writer, exc)
            if exc.kind == "too_large" and self._batch_limit > 1:
                self._batch_limit = max(1, self._batch_limit // 2)
                log.warning(
                    "sink %s: store says the batch is too large; sending %d at a time",
                    self.name,
                    self._batch_limit,
                )
                await self._release()
                return 0.01
            self._set_up(False, f"{exc.kind}: {exc}")
            await self._release()
            return exc.retry_after or 0.0
        except Exception as exc:  # a bug or an unexpected library error: keep the data, retry
            self.counters["write_errors_total"] += 1
            self._set_up(False, f"error: {type(exc).__name__}")
            log.exception("sink %s: unexpected write failure", self.name)
            await self._release()
            return 0.0
        self._set_up(True)
        if part is not None:
            self.counters["written_total"] += len(part)
            await self._settle_lines(batch, len(part))
            return None
        self.counters["written_total"] += batch.count
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
                    self.counters["written_total"] += written
                    self.counters["rejected_total"] += refused
                    if lo > 0:  # what was written leaves the spool, never sent twice
                        await self._settle_lines(batch, lo)
                    self._set_up(False, f"{exc.kind}: {exc}")
                    await self._release()
                    return exc.retry_after or 0.0
                split_or_refuse(lo, hi)
            else:
                written += hi - lo
        self.counters["written_total"] += written
        self.counters["rejected_total"] += refused
        log.error(
            "sink %s: store refused %d of %d samples (%s); they leave the spool (first: %s)",
            self.name,
            refused,
            len(lines),
            refusal,
            _short_line(lines[first_refused] if first_refused is not None else ""),
        )
        if written:
            self._set_up(True)
        if part is not None:
            await self._settle_lines(batch, len(part))
        else:
            await self._settle(batch.last_id)
        return None

    async def _settle(self, last_id: int) -> None:
        """Remove a delivered (or refused) batch from the spool; until that succeeds it is
        remembered as unsettled, so a failing delete never leads to a second write."""
        assert self._spool is not None
        spool = self._spool
        self._unsettled = last_id
        async with self._db_lock:
            await asyncio.to_thread(spool.remove_upto, last_id)
            self._unsettled = None
            dropped = await asyncio.to_thread(spool.enforce_bounds)
        if dropped:
            self._note_dropped(dropped, "spool full")

    async def _settle_lines(self, batch: SpoolBatch, count: int) -> None:
        """Remove the first `count` lines of a batch written part-way."""
        assert self._spool is not None
        spool = self._spool
        async with self._db_lock:
            await asyncio.to_thread(spool.remove_lines, batch, count)

    async def _release(self) -> None:
        assert self._spool is not None
        spool = self._spool
        async with self._db_lock:
            spool.release()
            dropped = await asyncio.to_thread(spool.enforce_bounds)
        if dropped:
            self._note_dropped(dropped, "spool full")

    async def _rate_limit(self, count: int) -> None:
        delay = self._limiter.take(count, self._clock.monotonic())
        if delay > 0:
            await self._clock.sleep(delay)

    async def _sleep(self, seconds: float, until: asyncio.Event | None = None) -> None:
        """Sleep, cut short by stop() (or by `until`)."""
        await self._wait(until or self._stopping, seconds)

    async def _wait(self, event: asyncio.Event, seconds: float) -> None:
        """Until `event` is set or `seconds` have passed on the sink's clock."""
        if event.is_set():
            return
        waiter = asyncio.ensure_future(event.wait())
        timer = asyncio.ensure_future(self._clock.sleep(seconds))
        try:
            await asyncio.wait((waiter, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            timer.cancel()


def _short_line(line: str, limit: int = 200) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
