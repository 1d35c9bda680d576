"""Replay protection for platform callbacks: a timestamp window and a memory of nonces.

A signed callback that is captured on the way can be sent again; the signature still checks.
So a callback is taken only when its timestamp is within `window` of our clock and its nonce
(or, where the platform has none, its signature) was not seen within that window. The memory
holds nothing older than the window, so it stays small; it is lost at a restart, which reopens
the window once (an action repeated then is refused by the incident's own state: an incident
is acknowledged only once)."""

from __future__ import annotations

from collections import OrderedDict


class ReplayGuard:
    def __init__(self, window: float = 300.0, capacity: int = 100_000) -> None:
        self.window = window
        self.capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()

    def check(self, timestamp: float, nonce: str, now: float) -> str | None:
        """None when the callback may be taken (and remember its nonce), else why not."""
        if abs(now - timestamp) > self.window:
            return f"timestamp {timestamp:.0f} is more than {self.window:.0f}s off our clock"
        self._forget(now)
        if nonce in self._seen:
            return "this callback was taken already (a replay)"
        self._seen[nonce] = now
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return None

    def _forget(self, now: float) -> None:
        while self._seen:
            nonce, seen = next(iter(self._seen.items()))
            if now - seen <= self.window:
                break
            del self._seen[nonce]
