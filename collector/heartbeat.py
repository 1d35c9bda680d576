"""The outbound dead-man's switch (`collector.heartbeat_url`): a GET every
`collector.heartbeat_interval` to an endpoint that alerts when the pings stop (a
healthchecks-style service), so a single box with no peer is still watched. The ping says the
daemon's loop is alive; the endpoint, not roomwatch, decides when silence means trouble.

The URL often carries its own secret (a check's UUID), so logs name only its host."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger("roomwatch.heartbeat")


class DeadMansSwitch:
    def __init__(self, url: str, interval: float) -> None:
        self.url = url
        self.interval = interval
        self.sent = 0
        self.failed = 0
        self._failing = False

    @property
    def where(self) -> str:
        return urlsplit(self.url).hostname or "?"

    async def run(self, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=min(10.0, self.interval))
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not stop.is_set():
                await self._ping(session)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval)

    async def _ping(self, session: aiohttp.ClientSession) -> None:
        try:
            async with session.get(self.url) as reply:
                if reply.status >= 400:
                    raise aiohttp.ClientError(f"HTTP {reply.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.failed += 1
            if not self._failing:  # once per failing streak, not every interval
                log.warning("heartbeat to %s failing: %s", self.where, exc or type(exc).__name__)
            self._failing = True
            return
        self.sent += 1
        if self._failing:
            log.info("heartbeat to %s delivered again", self.where)
        self._failing = False
