"""The scheduler on virtual time: intervals, jitter, the concurrency bound (configured or sized
from the inventory), no overlapping polls of one device, skipped slots with their reason, poll
lag, and failures turned into device.up = 0 with a reason."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import ClassVar

import pytest

from collector.polling import PollResult, poll_once
from collector.pollstats import (
    DEVICE_SLOW,
    WAITING_FOR_SLOT,
    AdaptiveLimit,
    PollSlots,
    sized_concurrency,
)
from collector.scheduler import Scheduler, next_slot
from core.sample import Sample
from probes.base import Probe, ProbeAuthError, ProbeSettings
from tests.fixtures.clock import VirtualClock


class FakeProbe(Probe):
    """Takes `busy` virtual seconds per poll and records what ran at the same time."""

    type_name: ClassVar[str] = "fake"
    settings_model: ClassVar[type[ProbeSettings]] = ProbeSettings
    running: ClassVar[dict[str, int]] = defaultdict(int)
    peak_total: ClassVar[int] = 0
    peak_device: ClassVar[dict[str, int]] = defaultdict(int)

    def __init__(self, device: str, interval: float, clock: VirtualClock, busy: float = 0.0):
        super().__init__(device, ProbeSettings(type="fake", interval=interval, timeout=1000))
        self.clock = clock
        self.busy = busy
        self.polled_at: list[float] = []

    async def poll(self, now: float) -> Sequence[Sample]:
        cls = FakeProbe
        cls.running[self.device] += 1
        cls.peak_device[self.device] = max(cls.peak_device[self.device], cls.running[self.device])
        cls.peak_total = max(cls.peak_total, sum(cls.running.values()))
        self.polled_at.append(self.clock.monotonic())
        try:
            if self.busy:
                await self.clock.sleep(self.busy)
        finally:
            cls.running[self.device] -= 1
        return [Sample(self.device, "x", 1, {}, None, now)]


@pytest.fixture(autouse=True)
def _reset() -> None:
    FakeProbe.running.clear()
    FakeProbe.peak_device.clear()
    FakeProbe.peak_total = 0


def test_next_slot_keeps_the_cadence_and_skips_missed_slots() -> None:
    assert next_slot(100.0, 10.0, 0.0, 0.5, now=105.0) == (110.0, 0)
    due, skipped = next_slot(100.0, 10.0, 0.0, 0.5, now=135.0)
    assert (due, skipped) == (140.0, 3)


def test_next_slot_jitter_stays_within_its_fraction() -> None:
    lows = next_slot(100.0, 10.0, 0.2, 0.0, now=100.0)[0]
    highs = next_slot(100.0, 10.0, 0.2, 0.999999, now=100.0)[0]
    assert lows == pytest.approx(108.0)
    assert highs == pytest.approx(112.0, abs=1e-4)


async def test_each_device_is_polled_on_its_own_interval() -> None:
    clock = VirtualClock()
    results: list[PollResult] = []
    sched = Scheduler(clock, results.append, jitter=0.0, rng=random.Random(1))
    fast, slow = FakeProbe("fast", 10, clock), FakeProbe("slow", 60, clock)
    sched.set_probes([(("fast", 0), fast), (("slow", 0), slow)])
    await clock.advance(125)
    assert len(fast.polled_at) == 13  # t≈0, 10, …, 120
    assert len(slow.polled_at) == 3  # t≈0, 60, 120
    await sched.drain(1)
    ups = [s for r in results for s in r.samples if s.metric == "device.up"]
    assert all(s.value == 1 and s.labels == {"probe": "fake"} for s in ups)


async def test_polls_of_one_device_never_overlap_and_overruns_skip_slots() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, jitter=0.0)
    # Two probe entries of one device, each slower than its interval.
    a, b = FakeProbe("ups1", 10, clock, busy=25), FakeProbe("ups1", 10, clock, busy=25)
    sched.set_probes([(("ups1", 0), a), (("ups1", 1), b)])
    await clock.advance(200)
    assert FakeProbe.peak_device["ups1"] == 1
    assert sum(job.stats.skipped for job in sched.jobs) > 0
    await sched.drain(0)


async def test_an_error_in_the_result_handler_does_not_stop_the_device_being_polled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock()
    seen: list[float] = []

    def handler(result: PollResult) -> None:
        seen.append(clock.monotonic())
        if len(seen) == 1:
            raise ValueError("a bug downstream")

    sched = Scheduler(clock, handler, jitter=0.0)
    probe = FakeProbe("srv1", 10, clock)
    sched.set_probes([(("srv1", 0), probe)])
    await clock.advance(35)
    assert len(probe.polled_at) == 4  # t≈0, 10, 20, 30: the first failure did not end the job
    assert len(seen) == 4
    assert "handling the poll of srv1 failed" in caplog.text
    await sched.drain(0)


async def test_the_global_concurrency_bound_holds() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, concurrency=3, jitter=0.0)
    probes = [((f"d{i}", 0), FakeProbe(f"d{i}", 30, clock, busy=5)) for i in range(10)]
    sched.set_probes(probes)
    await clock.advance(60)
    assert FakeProbe.peak_total == 3
    assert all(len(p.polled_at) >= 1 for _, p in probes)
    await sched.drain(0)


async def test_reload_keeps_unchanged_jobs_and_retires_removed_ones() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, jitter=0.0)
    keep, drop = FakeProbe("keep", 10, clock), FakeProbe("drop", 10, clock)
    sched.set_probes([(("keep", 0), keep), (("drop", 0), drop)])
    await clock.advance(15)
    fresh_keep = FakeProbe("keep", 10, clock)
    retired = sched.set_probes([(("keep", 0), fresh_keep)])
    assert drop in retired
    assert fresh_keep in retired  # unchanged: the running job (and its state) is kept
    assert [job.probe for job in sched.jobs] == [keep]
    await sched.drain(0)


class FailingProbe(Probe):
    type_name: ClassVar[str] = "failing"
    settings_model: ClassVar[type[ProbeSettings]] = ProbeSettings

    def __init__(self, error: BaseException | None = None, hang: bool = False) -> None:
        super().__init__("dev", ProbeSettings(type="failing", timeout=0.05))
        self.error = error
        self.hang = hang

    async def poll(self, now: float) -> Sequence[Sample]:
        if self.hang:
            await asyncio.sleep(30)
        if self.error is not None:
            raise self.error
        return []


async def test_a_probe_error_becomes_device_down_with_its_reason() -> None:
    result = await poll_once(FailingProbe(ProbeAuthError("dev: wrong community")), 1000.0)
    up = next(s for s in result.samples if s.metric == "device.up")
    assert (up.value, up.note, up.ts) == (0, "auth", 1000.0)
    assert result.error == "dev: wrong community"


async def test_a_hung_probe_times_out() -> None:
    result = await poll_once(FailingProbe(hang=True), 1000.0)
    up = next(s for s in result.samples if s.metric == "device.up")
    assert (up.value, up.note) == (0, "timeout")


async def test_a_bug_in_a_probe_is_reported_not_raised() -> None:
    result = await poll_once(FailingProbe(ZeroDivisionError("oops")), 1000.0)
    up = next(s for s in result.samples if s.metric == "device.up")
    assert (up.value, up.note) == (0, "error")
    assert "ZeroDivisionError" in (result.error or "")


async def test_a_multi_line_error_message_is_reported_on_one_line() -> None:
    # aiohttp's payload errors carry a newline; logs and `roomwatch probe` stderr are one
    # line per event.
    exc = ProbeAuthError("dev: 400, message:\n  Can not decode content-encoding: gzip")
    result = await poll_once(FailingProbe(exc), 1000.0)
    assert result.error == "dev: 400, message: Can not decode content-encoding: gzip"


class BusProbe(FakeProbe):
    """A device on a shared serial line."""

    on_bus: ClassVar[int] = 0
    peak_bus: ClassVar[int] = 0

    def exclusive_resource(self) -> str | None:
        return "serial:/dev/ttyUSB0"

    async def poll(self, now: float) -> Sequence[Sample]:
        BusProbe.on_bus += 1
        BusProbe.peak_bus = max(BusProbe.peak_bus, BusProbe.on_bus)
        try:
            return await super().poll(now)
        finally:
            BusProbe.on_bus -= 1


async def test_devices_on_one_bus_take_turns_without_holding_slots_while_they_wait() -> None:
    clock = VirtualClock()
    BusProbe.on_bus = BusProbe.peak_bus = 0
    sched = Scheduler(clock, lambda r: None, concurrency=2, jitter=0.0)
    bus_a = BusProbe("sensor-a", 10, clock, busy=8)
    bus_b = BusProbe("sensor-b", 10, clock, busy=8)
    bus_c = BusProbe("sensor-c", 10, clock, busy=8)
    other = FakeProbe("web", 10, clock)
    sched.set_probes(
        [
            (("sensor-a", 0), bus_a),
            (("sensor-b", 0), bus_b),
            (("sensor-c", 0), bus_c),
            (("web", 0), other),
        ]
    )
    await clock.advance(100)
    assert BusProbe.peak_bus == 1  # one transaction on the bus at a time
    # Two sensors queue for the bus while one polls; with only two slots, the website is
    # still polled on its interval because waiting for the bus holds no slot.
    assert len(other.polled_at) == 11  # t = 0, 10, …, 100
    await sched.drain(0)


async def test_a_slow_device_skips_slots_counted_as_device_slow(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, concurrency=10, jitter=0.0)
    slow = FakeProbe("ups1", 10, clock, busy=25)
    sched.set_probes([(("ups1", 0), slow), (("web", 0), FakeProbe("web", 10, clock))])
    await clock.advance(100)
    by_device = {job.key[0]: job.stats.skipped_by for job in sched.jobs}
    assert by_device["ups1"].get(DEVICE_SLOW, 0) >= 4  # ~2 slots per 30 s round
    assert WAITING_FOR_SLOT not in by_device["ups1"]
    assert by_device["web"] == {}
    assert "device slow" in caplog.text and "ups1" in caplog.text
    await sched.drain(0)


async def test_polls_that_wait_for_a_concurrency_slot_skip_as_waiting_not_slow() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, concurrency=1, jitter=0.0)
    # Each poll takes 6 s of a 10 s interval: alone each would be on time, but with one
    # slot for three devices they queue, and the last ones run past their next slot.
    probes = [((f"d{i}", 0), FakeProbe(f"d{i}", 10, clock, busy=6)) for i in range(3)]
    sched.set_probes(probes)
    await clock.advance(120)
    reasons = {r for job in sched.jobs for r in job.stats.skipped_by}
    assert reasons == {WAITING_FOR_SLOT}
    assert sum(job.stats.skipped for job in sched.jobs) == sum(
        n for job in sched.jobs for n in job.stats.skipped_by.values()
    )
    # The lag histogram saw every poll; the queued ones waited seconds, not milliseconds.
    assert sched.lag.count == sum(len(p.polled_at) for _, p in probes)
    buckets = dict(sched.lag.cumulative())
    assert buckets[math.inf] == sched.lag.count
    assert buckets[1.0] < sched.lag.count
    await sched.drain(0)


async def test_on_time_polls_have_no_lag_and_skip_nothing() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, jitter=0.0)
    sched.set_probes([((f"d{i}", 0), FakeProbe(f"d{i}", 10, clock, busy=1)) for i in range(5)])
    await clock.advance(60)
    assert sum(job.stats.skipped for job in sched.jobs) == 0
    assert dict(sched.lag.cumulative())[0.005] == sched.lag.count > 0
    await sched.drain(0)


def test_concurrency_is_sized_from_timeouts_and_intervals() -> None:
    assert sized_concurrency([]) == 64  # never below the old fixed default
    # 1,000 SNMP devices, 10 s timeout, 60 s interval: 167 busy at worst, plus headroom.
    assert sized_concurrency([(10.0, 60.0)] * 1000) == math.ceil(1000 / 6 * 1.25) + 16
    # A timeout longer than its interval counts as the interval (one poll at a time).
    assert sized_concurrency([(90.0, 60.0)] * 200) == 200 * 1.25 + 16
    assert sized_concurrency([(10.0, 1.0)] * 100_000) == 10_000


async def test_unset_concurrency_follows_the_inventory_across_reloads() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, concurrency=None, jitter=0.0)
    many = [((f"d{i}", 0), FakeProbe(f"d{i}", 10, clock)) for i in range(100)]
    sched.set_probes(many)  # FakeProbe's timeout (1000 s) exceeds its interval: 1 each
    assert sched.concurrency == 100 * 1.25 + 16
    sched.set_probes(many[:10])
    assert sched.concurrency == 64
    sched.configure(5)  # set in roomwatch.yaml at a reload: taken as it is
    sched.set_probes(many)
    assert sched.concurrency == 5
    await sched.drain(0)


async def test_poll_slots_grow_while_polls_wait_and_a_cancelled_waiter_frees_nothing() -> None:
    slots = PollSlots(1)
    await slots.acquire()
    waiters = [asyncio.create_task(slots.acquire()) for _ in range(3)]
    await asyncio.sleep(0)
    assert slots.waiting == 3
    waiters[0].cancel()
    await asyncio.sleep(0)
    assert slots.waiting == 2 and slots.used == 1
    slots.resize(2)  # a reload sized it up: one more may go
    await asyncio.sleep(0)
    assert waiters[1].done() and not waiters[2].done()
    assert slots.used == 2
    slots.release()
    await asyncio.sleep(0)
    assert waiters[2].done() and slots.used == 2 and slots.waiting == 0


def test_adaptive_limit_cuts_while_the_loop_lags_and_grows_back_while_polls_wait() -> None:
    limit = AdaptiveLimit(ceiling=100, floor=16)
    assert limit.update(loop_lag=0.0, waiting=0) == 100
    assert limit.update(loop_lag=1.5, waiting=50) == 75  # a quarter less
    for _ in range(20):
        limit.update(loop_lag=2.0, waiting=50)
    assert limit.limit == 25  # never below a quarter of the ceiling (dead devices hold slots)
    assert limit.update(loop_lag=0.0, waiting=0) == 25  # nothing waiting: no need to grow
    assert limit.update(loop_lag=0.5, waiting=5) == 25  # not lagging, but not idle either
    assert limit.update(loop_lag=0.0, waiting=5) == 27  # a tenth more, at least one
    small = AdaptiveLimit(ceiling=40, floor=16)
    for _ in range(20):
        small.update(loop_lag=2.0, waiting=1)
    assert small.limit == 16  # the floor, where a quarter would be less
    for _ in range(100):
        limit.update(loop_lag=0.0, waiting=5)
    assert limit.limit == 100  # never above the ceiling


def test_a_new_ceiling_moves_an_uncut_limit_and_caps_a_cut_one() -> None:
    limit = AdaptiveLimit(ceiling=100)
    assert limit.set_ceiling(200) == 200  # not cut: follows the inventory
    limit.update(loop_lag=1.5, waiting=1)
    assert limit.limit == 150
    assert limit.set_ceiling(300) == 150  # cut: stays where the lag put it
    assert limit.set_ceiling(64) == 64
    assert AdaptiveLimit(ceiling=5).update(loop_lag=9.0, waiting=1) == 5  # floor ≤ ceiling


class LaggingClock(VirtualClock):
    """A busy machine: every timer fires `lag` seconds late."""

    lag = 0.0

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + self.lag)


async def test_the_scheduler_cuts_polls_in_flight_while_its_loop_lags_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = LaggingClock()
    sched = Scheduler(clock, lambda r: None, concurrency=80, jitter=0.0)
    # 7 s of work (8.5 s with the late timers) per 10 s: no device is slow by itself.
    probes = [((f"d{i}", 0), FakeProbe(f"d{i}", 10, clock, busy=7)) for i in range(100)]
    sched.set_probes(probes)
    clock.lag = 1.5
    await clock.advance(30)
    assert sched.loop_lag == pytest.approx(1.5)
    assert sched.concurrency < 80 and sched.concurrency_ceiling == 80
    assert FakeProbe.peak_total == 80  # before the first cut
    assert "cut from 80" in caplog.text and "short of CPU" in caplog.text
    clock.lag = 0.0
    await clock.advance(120)
    assert sched.concurrency == 80  # back at the ceiling once the loop keeps up
    await sched.drain(0)


async def test_a_large_inventory_starts_spread_out_and_a_small_one_at_once() -> None:
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, jitter=0.1, rng=random.Random(7))
    many = [((f"d{i}", 0), FakeProbe(f"d{i}", 60, clock)) for i in range(1000)]
    sched.set_probes(many)
    await clock.advance(30)
    firsts = [p.polled_at[0] for _, p in many]
    assert 15 < max(firsts) <= 1000 / 50  # 50 first polls a second at most, not all in 5 s
    assert sum(1 for t in firsts if t < 5) < 400
    await sched.drain(0)
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, jitter=0.1, rng=random.Random(7))
    few = [((f"d{i}", 0), FakeProbe(f"d{i}", 60, clock)) for i in range(20)]
    sched.set_probes(few)
    await clock.advance(6)
    assert all(p.polled_at and p.polled_at[0] <= 5 for _, p in few)  # as before: within 5 s
    await sched.drain(0)


async def test_a_large_inventory_is_polled_evenly_over_the_interval_after_its_first_round() -> None:
    """1,000 devices at 60 s: the first round is a burst at 50 a second (20 s), but from the
    second round on each minute has its polls spread over the whole of it, not bunched into a
    third of it (bench/bench_daemon.py: the sink fell 250,000 samples behind in each burst)."""
    clock = VirtualClock()
    sched = Scheduler(clock, lambda r: None, jitter=0.1, rng=random.Random(3))
    many = [((f"d{i}", 0), FakeProbe(f"d{i}", 60, clock)) for i in range(1000)]
    sched.set_probes(many)
    await clock.advance(400)
    await sched.drain(0)
    polls = sorted(t for _, p in many for t in p.polled_at)
    for minute in range(2, 6):  # whole minutes after the first round settled
        in_minute = [t for t in polls if minute * 60 <= t < (minute + 1) * 60]
        per_ten_s = [sum(1 for t in in_minute if a <= t % 60 < a + 10) for a in range(0, 60, 10)]
        assert 900 <= len(in_minute) <= 1100
        assert min(per_ten_s) >= 100, per_ten_s  # 167 each when even; the burst gave 0
    for _, probe in many:  # no device waits more than two intervals for its second poll
        gaps = [b - a for a, b in itertools.pairwise(probe.polled_at)]
        assert gaps and max(gaps) <= 2 * 60 * 1.1
