"""The scheduler: every probe of every device on its own interval, with jitter, under a global
concurrency bound, never two polls of one device at once.

Each probe entry gets one task that sleeps until its next slot, waits for the device's lock
and a concurrency slot, polls, and hands the result to `on_result`. A poll that overruns its
interval does not queue up polls behind it: missed slots are skipped and counted per device
with the reason (waiting for a slot, or the device slow), so overload sheds whole slots and
never grows a queue. Without a configured `collector.concurrency` the bound is sized from the
inventory (`sized_concurrency`), so that waiting for a slot stays the exception. Poll lag
(due → started) goes into a histogram for /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from collector.clock import Clock
from collector.polling import PollResult, poll_once
from collector.pollstats import (
    GOVERN_SECONDS,
    AdaptiveLimit,
    LagHistogram,
    PollSlots,
    SkipLog,
    sized_concurrency,
    skip_reason,
)
from probes.base import Probe

log = logging.getLogger("roomwatch.scheduler")

FIRST_POLLS_PER_SECOND = 50.0


def next_slot(
    previous: float, interval: float, jitter: float, rnd: float, now: float
) -> tuple[float, int]:
    """The next due time after `previous` and the number of slots skipped.

    `rnd` in [0, 1) spreads polls by ± jitter × interval so a hundred devices configured at
    once do not all fire in the same millisecond; slots already past are skipped."""
    due = previous + interval
    skipped = 0
    if due < now:
        skipped = int((now - due) // interval) + 1
        due += skipped * interval
    return due + (rnd * 2 - 1) * jitter * interval, skipped


@dataclass
class JobStats:
    polls: int = 0
    failures: int = 0
    skipped: int = 0
    skipped_by: dict[str, int] = field(default_factory=dict)  # reason → slots
    last_seconds: float = 0.0


@dataclass
class Job:
    key: tuple[str, int]  # (device id, probe index)
    probe: Probe
    stats: JobStats = field(default_factory=JobStats)
    task: asyncio.Task[None] | None = None
    busy: bool = False


class Scheduler:
    def __init__(
        self,
        clock: Clock,
        on_result: Callable[[PollResult], None],
        concurrency: int | None = 64,
        jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        """`concurrency` None: sized from the probes scheduled (again at every reload)."""
        self.clock = clock
        self.on_result = on_result
        self.jitter = jitter
        self.configured_concurrency = concurrency
        self._slots = PollSlots(concurrency or 64)
        self._limit = AdaptiveLimit(concurrency or 64)
        self._governor: asyncio.Task[None] | None = None
        self.loop_lag = 0.0  # seconds, as last measured
        self.lag = LagHistogram()
        self._skip_log = SkipLog(lambda: (self._slots.limit, self._limit.ceiling, self.loop_lag))
        self._device_locks: dict[str, asyncio.Lock] = {}
        self._resource_locks: dict[str, asyncio.Lock] = {}
        self._jobs: dict[tuple[str, int], Job] = {}
        self._rng = rng or random.Random()
        self._stopping = False
        self.in_flight = 0

    @property
    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def configure(self, concurrency: int | None) -> None:
        """A reload's `collector.concurrency` (None: sized at the next set_probes)."""
        self.configured_concurrency = concurrency
        if concurrency is not None:
            self._slots.resize(self._limit.set_ceiling(concurrency))

    @property
    def concurrency(self) -> int:
        """Polls allowed in flight now (at most concurrency_ceiling)."""
        return self._slots.limit

    @property
    def concurrency_ceiling(self) -> int:
        return self._limit.ceiling

    @property
    def waiting_for_slot(self) -> int:
        """Polls due and waiting for a concurrency slot (the scheduler's queue)."""
        return self._slots.waiting

    def set_probes(self, probes: Iterable[tuple[tuple[str, int], Probe]]) -> list[Probe]:
        """Start jobs for new probes, keep unchanged ones running, stop removed or changed
        ones. Returns the probes no longer scheduled (the caller closes them)."""
        wanted = dict(probes)
        retired: list[Probe] = []
        for key, job in list(self._jobs.items()):
            new = wanted.get(key)
            if new is not None and new.settings == job.probe.settings:
                wanted.pop(key)
                retired.append(new)  # the fresh copy is not needed
                continue
            self._cancel(job)
            retired.append(job.probe)
            del self._jobs[key]
        for key, probe in wanted.items():
            job = Job(key, probe)
            self._jobs[key] = job
            job.task = asyncio.create_task(self._run(job), name=f"poll {key[0]}#{key[1]}")
        if self.configured_concurrency is None:
            sized = sized_concurrency(
                (j.probe.settings.timeout, j.probe.settings.interval) for j in self._jobs.values()
            )
            self._slots.resize(self._limit.set_ceiling(sized))
        if self._governor is None and self._jobs:
            self._governor = asyncio.create_task(self._govern(), name="poll governor")
        return retired

    async def _govern(self) -> None:
        """Once a second: how late the event loop is, and the polls allowed in flight."""
        while not self._stopping:
            started = self.clock.monotonic()
            await self.clock.sleep(GOVERN_SECONDS)
            self.loop_lag = max(0.0, self.clock.monotonic() - started - GOVERN_SECONDS)
            self._slots.resize(self._limit.update(self.loop_lag, self._slots.waiting))

    def _cancel(self, job: Job) -> None:
        if job.task is not None and not job.task.done():
            job.task.cancel()

    async def _run(self, job: Job) -> None:
        interval = job.probe.settings.interval
        # First poll soon, spread over a fraction of the interval (at most 5 s) so a restart
        # does not hit every device in the same instant; a large inventory is spread at
        # FIRST_POLLS_PER_SECOND at most (1,000 switches first polled within 5 s timed 300
        # of them out on a loaded box: bench/bench_daemon.py), never over more than the interval.
        spread = min(interval * self.jitter, 5.0)
        large = len(self._jobs) > FIRST_POLLS_PER_SECOND * 5.0
        if large:
            spread = len(self._jobs) / FIRST_POLLS_PER_SECOND
        began = self.clock.monotonic()
        due = began + self._rng.random() * min(interval, spread)
        first = True
        while not self._stopping:
            delay = due - self.clock.monotonic()
            if delay > 0:
                await self.clock.sleep(delay)
            started = await self._poll_job(job, due)
            finished = self.clock.monotonic()
            waited, polled = started - due, finished - started
            previous = due
            if first and large:
                # The first round of a large inventory went out as one burst (1,000 switches
                # in 20 s, then 40 s of nothing): from the second poll on each job keeps a
                # place of its own anywhere in the interval, so the load, the sink's writes
                # and the agents' work are even over the minute, as Prometheus spreads its
                # targets. The gap to the second poll is then between 0.5 and 2 intervals.
                previous = began + self._rng.random() * interval
                while previous + interval < max(finished, due + interval / 2):
                    previous += interval
            first = False
            due, skipped = next_slot(previous, interval, self.jitter, self._rng.random(), finished)
            if skipped:
                reason = skip_reason(polled, interval)
                job.stats.skipped += skipped
                job.stats.skipped_by[reason] = job.stats.skipped_by.get(reason, 0) + skipped
                self._skip_log.note(
                    finished, job.key[0], reason, skipped,
                    f"waited {waited:.1f}s for its turn, then polled for {polled:.1f}s",
                )  # fmt: skip

    @contextlib.asynccontextmanager
    async def _exclusive(self, probe: Probe) -> AsyncIterator[None]:
        """Hold the device's lock and, for a probe on a shared line (an RS-485 bus, a Modbus
        gateway), the line's lock. Taken before the poll's timeout starts and before a
        concurrency slot, so waiting for a busy bus neither counts against a device's timeout
        nor holds slots other devices need. Always device, then line: no deadlock."""
        device_lock = self._device_locks.setdefault(probe.device, asyncio.Lock())
        resource = probe.exclusive_resource()
        async with device_lock:
            if resource is None:
                yield
                return
            async with self._resource_locks.setdefault(resource, asyncio.Lock()):
                yield

    async def _poll_job(self, job: Job, due: float) -> float:
        """Poll under the device's lock and a concurrency slot; returns when it started."""
        async with self._exclusive(job.probe):
            await self._slots.acquire()
            try:
                started = self.clock.monotonic()
                self.lag.observe(started - due)
                job.busy = True
                self.in_flight += 1
                try:
                    result = await poll_once(job.probe, self.clock.now())
                finally:
                    job.busy = False
                    self.in_flight -= 1
            finally:
                self._slots.release()
        result.entry = job.key[1]
        job.stats.polls += 1
        job.stats.last_seconds = result.seconds
        if not result.up:
            job.stats.failures += 1
        try:
            self.on_result(result)
        except Exception:
            # A bug downstream (rules, sinks) must not end this device's polling for good:
            # the job's task would die silently and the device would never be polled again.
            log.exception("handling the poll of %s failed; polling goes on", job.key[0])
        return started

    async def drain(self, grace: float) -> None:
        """Let in-flight polls finish (up to `grace` seconds), then stop every job."""
        self._stopping = True
        if self._governor is not None:
            self._governor.cancel()
            await asyncio.gather(self._governor, return_exceptions=True)
        idle = [j.task for j in self._jobs.values() if j.task is not None and not j.busy]
        for task in idle:
            task.cancel()
        busy = [j.task for j in self._jobs.values() if j.task is not None and j.busy]
        if busy:
            _, pending = await asyncio.wait(busy, timeout=grace)
            for task in pending:
                task.cancel()
        tasks = [j.task for j in self._jobs.values() if j.task is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    def probes(self) -> list[Probe]:
        return [job.probe for job in self._jobs.values()]
