"""The scheduler's own figures: poll lag (due → started) as a histogram, skipped slots by
device and reason, the concurrency slots polls wait for, and a skip warning that cannot flood
the log at a few thousand devices."""

from __future__ import annotations

import asyncio
import bisect
import collections
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger("roomwatch.scheduler")

# Why a slot was skipped. WAITING_FOR_SLOT: the poll waited so long for its turn (a concurrency slot,
# or the device's or bus's lock held by another poll) that it ran past its next slot; more
# collector.concurrency helps. DEVICE_SLOW: the poll itself took longer than the interval (the device
# is slow or its timeout is longer than its interval); only the device or its settings help.
WAITING_FOR_SLOT = "waiting_for_slot"
DEVICE_SLOW = "device_slow"

LAG_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0)
SKIP_LOG_SECONDS = 60.0


@dataclass
class LagHistogram:
    """Cumulative histogram of poll lag in seconds (Prometheus buckets `le`)."""

    bounds: tuple[float, ...] = LAG_BUCKETS
    counts: list[int] = field(default_factory=list)  # per bucket, the last one is +Inf
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total += seconds
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations ≤ it) per bucket, +Inf last."""
        out, running = [], 0
        for bound, n in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


def skip_reason(polled: float, interval: float) -> str:
    """Why a poll that took `polled` s (from its start, after any wait) missed its next
    slot: by itself, or because of the time it waited for its turn."""
    return DEVICE_SLOW if polled >= interval else WAITING_FOR_SLOT


class SkipLog:
    """One warning per minute at most, however many devices skip: counts by reason and an
    example of each since the last warning."""

    def __init__(self, concurrency: Callable[[], tuple[int, int, float]]) -> None:
        """`concurrency`: (polls allowed in flight now, the ceiling, the event loop's lag)."""
        self._concurrency = concurrency
        self._pending: dict[str, int] = collections.Counter()
        self._example: dict[str, str] = {}
        self._devices: dict[str, set[str]] = collections.defaultdict(set)
        self._last: float | None = None

    def note(self, now: float, device: str, reason: str, slots: int, detail: str) -> None:
        self._pending[reason] += slots
        self._devices[reason].add(device)
        self._example.setdefault(reason, f"{device}: {detail}")
        if self._last is not None and now - self._last < SKIP_LOG_SECONDS:
            return
        self._last = now
        parts = []
        for why in (WAITING_FOR_SLOT, DEVICE_SLOW):
            if self._pending.get(why):
                hint = self._slot_hint() if why == WAITING_FOR_SLOT else ""
                parts.append(
                    f"{self._pending[why]} slot(s) of {len(self._devices[why])} device(s)"
                    f" {why.replace('_', ' ')}{hint}, e.g. {self._example[why]}"
                )
        log.warning("poll slots skipped: %s", "; ".join(parts))
        self._pending.clear()
        self._example.clear()
        self._devices.clear()

    def _slot_hint(self) -> str:
        limit, ceiling, lag = self._concurrency()
        if limit < ceiling:
            return (
                f" ({limit} polls allowed in flight, cut from {ceiling}: the event loop ran"
                f" {lag:.1f}s late, the machine is short of CPU)"
            )
        return f" (collector.concurrency {limit} in use)"


class PollSlots:
    """The global bound on polls in flight, resizable while polls wait (a reload that adds
    devices sizes it anew). Waiters are served first come, first served."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> None:
        if self.used < self.limit and not self._waiters:
            self.used += 1
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # granted just as it was cancelled: hand it on
            raise
        finally:
            if future in self._waiters:
                self._waiters.remove(future)

    def release(self) -> None:
        self.used -= 1
        self._wake()

    def resize(self, limit: int) -> None:
        self.limit = limit
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.used < self.limit:
            future = self._waiters.popleft()
            if not future.done():
                self.used += 1
                future.set_result(None)


# The event loop's lag (how late a 1 s timer fires) above which polls in flight are cut: the
# process is short of CPU, and more polls at once only make every answer wait longer in the
# socket, up to the request timeout (2 s by default: retries, then timeouts, then more polls
# in flight). A busy but healthy loop is late by the samples it builds per turn (a few
# hundred ms at 1,000 devices on a loaded box: measured with bench/bench_daemon.py), so the
# bound is half the default request timeout.
LOOP_LAG_HIGH = 1.0
LOOP_LAG_LOW = 0.25  # below it, and with polls waiting, the limit grows back
GOVERN_SECONDS = 1.0


class AdaptiveLimit:
    """Polls allowed in flight: the ceiling (configured, or sized from the inventory) while
    the event loop keeps up; cut by a quarter each second it lags, grown back by a tenth
    each second it keeps up with polls waiting (never below `floor` or a quarter of the
    ceiling). Under overload the
    daemon then sheds by polls waiting for a slot and skipping whole slots, counted, instead
    of timing out every device at once."""

    def __init__(self, ceiling: int, floor: int = 16) -> None:
        self.ceiling = ceiling
        self.floor = floor
        self.limit = ceiling

    def set_ceiling(self, ceiling: int) -> int:
        """A new ceiling (a reload): kept at it when not cut, else never above it."""
        self.limit = ceiling if self.limit >= self.ceiling else min(self.limit, ceiling)
        self.ceiling = ceiling
        return self.limit

    def update(self, loop_lag: float, waiting: int) -> int:
        # Never below a quarter of the ceiling: dead devices hold their slots for their
        # whole timeout, and a few dozen of them must not stop every other poll.
        low = min(self.ceiling, max(self.floor, self.ceiling // 4))
        if loop_lag > LOOP_LAG_HIGH:
            self.limit = max(low, self.limit * 3 // 4)
        elif loop_lag < LOOP_LAG_LOW and waiting:
            self.limit = min(self.ceiling, self.limit + max(1, self.limit // 10))
        return self.limit


def sized_concurrency(timeouts_and_intervals: Iterable[tuple[float, float]]) -> int:
    """Polls in flight that the inventory needs so that none waits for a slot even when every
    device answers only at its timeout: Σ min(timeout, interval) / interval over the probes
    (Little's law), plus a quarter and 16 for bursts, at least 64, at most 10,000."""
    busy = sum(min(t, i) / i for t, i in timeouts_and_intervals if i > 0)
    return max(64, min(10_000, math.ceil(busy * 1.25) + 16))
