"""How fast a sink sends from its spool: a backlog is paced, the live intake is not."""

from __future__ import annotations

from collections import deque


class RateLimiter:
    """A token bucket for catching up: `take(n, now)` says how long to wait before sending n
    samples so that, over time, no more than `rate` per second go out beyond the live intake;
    bursts up to max(burst, rate). Samples `credit`ed on arrival may go without waiting for
    `credit_s` seconds: a room's own pace is never throttled, while a backlog older than that
    (an outage's) is paced at `rate` on top of it."""

    def __init__(self, rate: float, burst: int, credit_s: float = 5.0) -> None:
        self.rate = rate
        self.capacity = max(float(burst), rate)
        self.credit_s = credit_s
        self._tokens = self.capacity
        self._at: float | None = None
        self._credits: deque[list[float]] = deque()  # [arrived, count], oldest first

    def credit(self, count: int, now: float) -> None:
        """`count` samples just arrived: they may pass unpaced for `credit_s` seconds."""
        if count > 0:
            self._credits.append([now, float(count)])

    def take(self, count: int, now: float) -> float:
        if self._at is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now
        credits = self._credits
        while credits and credits[0][0] < now - self.credit_s:
            credits.popleft()
        need = float(count)
        while need > 0 and credits:
            used = min(need, credits[0][1])
            need -= used
            credits[0][1] -= used
            if not credits[0][1]:
                credits.popleft()
        self._tokens -= need
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate
