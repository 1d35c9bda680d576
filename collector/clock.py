"""The clock: the one place that reads time, so everything else runs on virtual time in tests."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock POSIX seconds (stamps samples, incidents)."""

    def monotonic(self) -> float:
        """Seconds for scheduling; never jumps with the wall clock."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
