"""What the two tasks of one InfluxDB sink share: the memory queue of accepted samples, the
spool, the counters, the store's and the spool's health, and the events and lock through
which the spooler (spooler.py) and the sender (sender.py) hand work to each other.

One object per sink, read and written only on the sink's event loop (the spooler's worker
thread touches the spool and the counters only while it holds `db_lock`)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from collector.clock import Clock
from collector.sinks.config import SinkConfig
from collector.sinks.pacing import RateLimiter
from collector.sinks.spool import Spool

log = logging.getLogger("roomwatch.sink")

_DROP_LOG_EVERY_S = 60.0


class SinkState:
    def __init__(self, config: SinkConfig, clock: Clock) -> None:
        self.name = config.name
        self.config = config
        # Every wait (backoff, flush interval, rate limit, stop deadline) runs on this clock,
        # so the unit tests drive the sink on virtual time instead of sleeping.
        self.clock = clock
        self.spool: Spool | None = None  # opened by the sink's start()
        # Submitted, not yet committed: (accepted_at, encoded lines) chunks, oldest first.
        self.pending: deque[tuple[float, list[str]]] = deque()
        self.pending_count = 0
        self.db_lock = asyncio.Lock()
        self.wake_spooler = asyncio.Event()
        self.wake_sender = asyncio.Event()
        self.stopping = asyncio.Event()  # stop() called: the sender drains, then ends
        self.closing = asyncio.Event()  # the sender is done: the spooler commits, then ends
        self.closed = False  # the spooler is done: nothing more can be accepted
        self.drain = True
        self.batch_limit = config.batch_size
        self.limiter = RateLimiter(config.spool.replay_rate, burst=config.batch_size)
        self.store_up = True  # the store's last answer
        self.down_reason = ""
        self.spool_error = ""  # why the spool cannot be written now ("" when it can)
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

    # ---- health -----------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        """The store takes writes and the spool can be written."""
        return self.store_up and not self.spool_error

    def depth(self) -> int:
        """Samples not yet in the store: spooled plus accepted-but-not-committed."""
        spooled = self.spool.depth if self.spool is not None else 0
        return spooled + self.pending_count

    def age_seconds(self, now: float) -> float:
        """Age of the oldest sample not yet in the store (0 when there is none)."""
        oldest: float | None = None
        if self.spool is not None and self.spool.head_queued_at is not None:
            oldest = self.spool.head_queued_at
        elif self.pending:
            oldest = self.pending[0][0]
        return max(0.0, now - oldest) if oldest is not None else 0.0

    def note_dropped(self, count: int, why: str, which: str = "oldest ") -> None:
        self.counters["dropped_total"] += count
        self._dropped_since_log += count
        now = self.clock.monotonic()
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

    def set_up(self, up: bool, reason: str = "") -> None:
        if up and not self.store_up:
            log.info(
                "sink %s: store reachable again; replaying %d spooled samples",
                self.name,
                self.depth(),
            )
        elif not up and (self.store_up or reason != self.down_reason):
            log.warning("sink %s: store write failed (%s); spooling", self.name, reason)
        self.store_up = up
        self.down_reason = "" if up else reason

    def set_spool_error(self, reason: str) -> None:
        """The spool's own health, apart from the store's (a full disk while the store is
        fine must not flap `up` with every batch the sender still writes)."""
        if reason and reason != self.spool_error:
            log.error(
                "sink %s: %s; holding %d samples in memory", self.name, reason, self.pending_count
            )
        elif not reason and self.spool_error:
            log.info("sink %s: the spool can be written again", self.name)
        self.spool_error = reason

    # ---- waiting on the sink's clock --------------------------------------------------------

    async def sleep(self, seconds: float, until: asyncio.Event | None = None) -> None:
        """Sleep, cut short by stop() (or by `until`)."""
        await self.wait(until or self.stopping, seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Until `event` is set or `seconds` have passed on the sink's clock."""
        if event.is_set():
            return
        waiter = asyncio.ensure_future(event.wait())
        timer = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait((waiter, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            timer.cancel()
