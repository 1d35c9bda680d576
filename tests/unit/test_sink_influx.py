"""The sink's behaviour with a fake store: order, outage and replay, refusals, stop, own metrics.
(The real store is in tests/integration/test_sink_victoria.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from collector.daemon import Daemon
from collector.sinks.config import SinkConfig
from collector.sinks.influx import InfluxSink
from collector.sinks.pacing import RateLimiter
from collector.sinks.spool import Spool
from collector.sinks.store import StoreError
from core.sample import Sample
from inventory.credentials import Credentials
from tests.fixtures.clock import VirtualClock

TS = 1763800000.0
SECRET = "tok-9d1e-secret"


class FakeStore:
    """Records every body written; fails while `failure` is set; blocks while `gate` is clear."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.failure: StoreError | None = None
        self.gate = asyncio.Event()
        self.gate.set()
        self.calls = 0
        self.closed = False

    async def write(self, body: bytes) -> None:
        self.calls += 1
        with contextlib.suppress(TimeoutError):  # a hung test ends; it does not hang forever
            await asyncio.wait_for(self.gate.wait(), 10)
        if self.failure is not None:
            raise self.failure
        self.bodies.append(body)

    async def close(self) -> None:
        self.closed = True

    def values(self) -> list[float]:
        """The field values written, in write order (each test sample has value = its index)."""
        out = []
        for body in self.bodies:
            for line in body.decode().split("\n"):
                out.append(float(line.split(" ")[1].split("=")[1]))
        return out


@pytest.fixture
def clock() -> VirtualClock:
    """The sinks' time: backoff, flush intervals and deadlines pass only when a test waits."""
    return VirtualClock(wall_start=TS)


def make_sink(
    tmp_path: Path, clock: VirtualClock, store: FakeStore, **overrides: Any
) -> InfluxSink:
    data: dict[str, Any] = {
        "name": "test",
        "url": "http://127.0.0.1:9",
        "org": "o",
        "bucket": "b",
        "credentials": "influx",
        "batch_size": 100,
        "flush_interval": "50ms",
        "spool": {"replay_rate": 1_000_000},
    }
    data.update(overrides)
    return InfluxSink(
        SinkConfig.model_validate(data),
        SECRET,
        tmp_path / "spool.sqlite",
        writer=store,
        clock=clock,
    )


def samples(start: int, count: int) -> list[Sample]:
    return [Sample("d1", "m.v", i, ts=TS) for i in range(start, start + count)]


async def wait_for(clock: VirtualClock, check: Callable[[], bool], limit_s: float = 10.0) -> None:
    """Until `check()` holds. The sink's worker threads (SQLite, the fake store) get real
    moments to run; between them virtual time jumps to the next backoff or flush the sink
    sleeps on. `limit_s` of real time only guards against a hang."""
    give_up = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > give_up:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.001)
        step = clock.next_wake()
        if step is not None:
            await clock.advance(step)


async def test_samples_reach_the_store_in_order_in_batches(
    tmp_path: Path, clock: VirtualClock
) -> None:
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    for start in range(0, 1000, 37):
        sink.submit(samples(start, min(37, 1000 - start)))
    await wait_for(clock, lambda: sink.counters["written_total"] == 1000)
    await sink.stop()
    assert store.values() == list(range(1000))
    assert max(len(b.split(b"\n")) for b in store.bodies) <= 100
    assert sink.stats()["spool_depth"] == 0
    assert store.closed


async def test_dead_store_spools_then_replays_everything_once_in_order(
    tmp_path: Path, clock: VirtualClock
) -> None:
    store = FakeStore()
    store.failure = StoreError("refused", "cannot connect")
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    sink.submit(samples(0, 250))
    await wait_for(clock, lambda: not sink.up and sink.counters["spooled_total"] == 250)
    own = {s.metric: s for s in sink.own_samples(TS)}
    assert own["roomwatch.sink.up"].value == 0
    assert own["roomwatch.sink.up"].note == "refused: cannot connect"
    assert own["roomwatch.spool.depth"].value == 250
    sink.submit(samples(250, 50))
    store.failure = None  # the store comes back; the sink's backoff retries
    await wait_for(clock, lambda: sink.counters["written_total"] == 300)
    await sink.stop()
    assert store.values() == list(range(300))
    assert sink.up


async def test_own_samples_are_roomwatch_metrics_labelled_by_sink(
    tmp_path: Path, clock: VirtualClock
) -> None:
    store = FakeStore()
    store.failure = StoreError("auth", "HTTP 401: unauthorized")
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    sink.submit(samples(0, 3))
    await wait_for(clock, lambda: not sink.up)
    own = sink.own_samples(TS + 5000)
    await sink.stop()
    assert {s.device for s in own} == {"roomwatch"}
    assert all(s.labels == {"sink": "test"} and s.ts == TS + 5000 for s in own)
    by_metric = {s.metric: s.value for s in own}
    assert set(by_metric) == {
        "roomwatch.sink.up",
        "roomwatch.spool.depth",
        "roomwatch.spool.age_seconds",
        "roomwatch.spool.dropped_total",
        "roomwatch.sink.written_total",
    }
    assert by_metric["roomwatch.spool.depth"] == 3
    assert by_metric["roomwatch.spool.age_seconds"] == 5000.0


async def test_stop_keeps_unsent_samples_for_the_next_start(
    tmp_path: Path, clock: VirtualClock
) -> None:
    store = FakeStore()
    store.failure = StoreError("refused", "cannot connect")
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    sink.submit(samples(0, 120))
    await sink.stop()  # must not wait for the dead store
    assert store.values() == []

    healthy = FakeStore()
    again = make_sink(tmp_path, clock, healthy)
    await again.start()
    again.submit(samples(120, 5))
    await wait_for(clock, lambda: again.counters["written_total"] == 125)
    await again.stop()
    assert healthy.values() == list(range(125))


async def test_stop_flushes_to_a_healthy_store(tmp_path: Path, clock: VirtualClock) -> None:
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store, flush_interval="1h")  # only stop() sends
    await sink.start()
    sink.submit(samples(0, 42))
    await sink.stop()
    assert store.values() == list(range(42))


async def test_refused_batch_leaves_the_spool_counted_and_the_rest_flows(
    tmp_path: Path, clock: VirtualClock
) -> None:
    store = FakeStore()
    store.failure = StoreError("rejected", "HTTP 422: field type conflict", retry=False)
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    sink.submit(samples(0, 10))
    await wait_for(clock, lambda: sink.counters["rejected_total"] == 10)
    store.failure = None
    sink.submit(samples(10, 10))
    await wait_for(clock, lambda: sink.counters["written_total"] == 10)
    await sink.stop()
    assert store.values() == list(range(10, 20))


async def test_samples_submitted_while_the_sink_drains_are_kept(
    tmp_path: Path, clock: VirtualClock
) -> None:
    """A reload stops the sink while polls go on: what they submit during the drain is
    spooled, not lost, and the next sink on the same spool writes it."""
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store, flush_interval="1h", batch_size=10)
    await sink.start()
    store.gate.clear()  # a slow store: the drain takes a while
    sink.submit(samples(0, 30))
    await wait_for(clock, lambda: store.calls >= 1)  # a write is in flight
    stopping = asyncio.create_task(sink.stop())
    await asyncio.sleep(0)  # stop() begins: the drain is under way, the write still hangs
    sink.submit(samples(30, 10))
    store.gate.set()
    await stopping
    assert sink.counters["dropped_total"] == 0
    after = FakeStore()
    sink2 = make_sink(tmp_path, clock, after)
    await sink2.start()
    await wait_for(clock, lambda: sink2.depth() == 0)
    await sink2.stop()
    assert store.values() + after.values() == list(range(40))


async def test_stop_without_drain_leaves_the_backlog_for_the_next_start(
    tmp_path: Path, clock: VirtualClock
) -> None:
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store, flush_interval="1h")  # nothing is sent before stop
    await sink.start()
    sink.submit(samples(0, 42))
    await sink.stop(drain=False)
    assert store.values() == []
    sink2 = make_sink(tmp_path, clock, store)
    await sink2.start()
    assert sink2.depth() == 42
    await sink2.stop()
    assert store.values() == list(range(42))


async def test_stop_ends_while_polls_keep_submitting(tmp_path: Path, clock: VirtualClock) -> None:
    """A reload stops a sink while a busy collector submits at every turn of the loop: the
    spooler's last round must end (a poll result always waiting must not keep it going)."""
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store)
    # What a round commits is bounded by the memory queue: a small one keeps the test to
    # milliseconds (the default lets ~20,000 chunks in, one commit each) and changes nothing
    # in what it shows: an always-refilled queue would still keep the spooler going.
    sink.max_pending = 500
    await sink.start()
    feeding = True
    rounds = 0

    async def polls() -> None:
        nonlocal rounds
        while feeding:
            sink.submit(samples(0, 10))
            rounds += 1
            await asyncio.sleep(0)

    feeder = asyncio.create_task(polls())
    await wait_for(clock, lambda: rounds >= 200 and sink.counters["spooled_total"] > 0)
    try:
        await asyncio.wait_for(sink.stop(drain=False), 10)
    finally:
        feeding = False
        await feeder


async def test_samples_submitted_to_a_stopped_sink_are_counted_as_dropped(
    tmp_path: Path, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    sink = make_sink(tmp_path, clock, FakeStore())
    await sink.start()
    await sink.stop()
    sink.submit(samples(0, 5))
    assert sink.counters["dropped_total"] == 5
    assert "stopped" in caplog.text


class RefusesWholeBatches(FakeStore):
    """InfluxDB OSS 2: the first bad point refuses the whole request, nothing is written."""

    def __init__(self, bad: set[int]) -> None:
        super().__init__()
        self.bad = bad

    async def write(self, body: bytes) -> None:
        self.calls += 1
        values = [
            int(float(line.split(" ")[1].split("=")[1])) for line in body.decode().split("\n")
        ]
        if self.bad.intersection(values):
            raise StoreError("rejected", "HTTP 400: field type conflict", retry=False)
        self.bodies.append(body)


async def test_one_refused_line_costs_only_itself_not_its_batch(
    tmp_path: Path, clock: VirtualClock
) -> None:
    store = RefusesWholeBatches(bad={37, 80})
    sink = make_sink(tmp_path, clock, store, flush_interval="1h")  # one batch of 100
    await sink.start()
    sink.submit(samples(0, 100))
    await sink.stop()
    assert store.values() == [i for i in range(100) if i not in (37, 80)]
    assert sink.counters["rejected_total"] == 2
    assert sink.counters["written_total"] == 98
    assert sink.depth() == 0
    assert store.calls <= 1 + 2 * 2 * 7  # two bad lines: two bisections of log2(100) levels


async def test_a_store_refusing_every_line_costs_a_bounded_number_of_writes(
    tmp_path: Path,
    clock: VirtualClock,
) -> None:
    store = RefusesWholeBatches(bad=set(range(1000)))
    sink = make_sink(tmp_path, clock, store, flush_interval="1h", batch_size=1000)
    await sink.start()
    sink.submit(samples(0, 1000))
    await sink.stop()
    assert sink.counters["rejected_total"] == 1000
    assert sink.depth() == 0
    assert store.calls <= 1 + 64


async def test_refused_old_points_do_not_take_the_good_half_of_the_batch_with_them(
    tmp_path: Path,
    clock: VirtualClock,
) -> None:
    """The head of a backlog older than the bucket's retention is refused line by line: the
    write budget must not run out before the batch's good half is written."""
    store = RefusesWholeBatches(bad=set(range(500)))
    sink = make_sink(tmp_path, clock, store, flush_interval="1h", batch_size=1000)
    await sink.start()
    sink.submit(samples(0, 1000))
    await sink.stop()
    assert store.values() == list(range(500, 1000))
    assert sink.counters["rejected_total"] == 500
    assert store.calls <= 1 + 64


async def test_store_failing_while_refused_lines_are_isolated_repeats_nothing(
    tmp_path: Path,
    clock: VirtualClock,
) -> None:
    class FailsOnce(RefusesWholeBatches):
        async def write(self, body: bytes) -> None:
            if self.calls == 3:  # 4th write, in the 2nd half: the 1st half is already stored
                self.calls += 1
                raise StoreError("server", "HTTP 503", retry_after=0.01)
            await super().write(body)

    store = FailsOnce(bad={70})
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    sink.submit(samples(0, 100))
    await wait_for(clock, lambda: sink.depth() == 0)
    await sink.stop()
    assert store.values() == [i for i in range(100) if i != 70]
    assert sink.counters["rejected_total"] == 1


async def test_too_large_batches_are_halved(tmp_path: Path, clock: VirtualClock) -> None:
    class SizeLimited(FakeStore):
        async def write(self, body: bytes) -> None:
            if body.count(b"\n") >= 30:
                raise StoreError("too_large", "HTTP 413")
            await super().write(body)

    store = SizeLimited()
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    sink.submit(samples(0, 200))
    await wait_for(clock, lambda: sink.counters["written_total"] == 200)
    await sink.stop()
    assert store.values() == list(range(200))
    assert max(len(b.split(b"\n")) for b in store.bodies) <= 30


async def test_submit_never_blocks_or_raises_while_the_store_hangs(
    tmp_path: Path, clock: VirtualClock
) -> None:
    store = FakeStore()
    store.gate.clear()  # the store accepts the connection and never answers
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    sink.submit(samples(0, 100))
    await wait_for(clock, lambda: store.calls == 1)
    for start in range(100, 5000, 100):
        sink.submit(samples(start, 100))
    sink.submit([object()])  # type: ignore[list-item]  # a probe bug: counted, not fatal
    sink.submit([])
    await wait_for(clock, lambda: sink.counters["spooled_total"] == 5000)
    assert sink.counters["unencodable_total"] == 1
    store.gate.set()
    await wait_for(clock, lambda: sink.counters["written_total"] == 5000)
    await sink.stop()
    assert store.values() == list(range(5000))


async def test_full_spool_drops_the_oldest_and_counts_them(
    tmp_path: Path, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeStore()
    store.failure = StoreError("refused", "cannot connect")
    sink = make_sink(tmp_path, clock, store, spool={"max_rows": 100, "replay_rate": 1_000_000})
    await sink.start()
    for start in range(0, 150, 10):
        sink.submit(samples(start, 10))
    await wait_for(clock, lambda: sink.counters["spooled_total"] == 150)
    store.failure = None
    await wait_for(clock, lambda: sink.counters["written_total"] == 100)
    await sink.stop()
    assert sink.counters["dropped_total"] == 50
    assert store.values() == list(range(50, 150))
    assert "spool full: dropped the" in caplog.text


async def test_memory_queue_is_bounded_when_the_spool_cannot_be_written(
    tmp_path: Path, clock: VirtualClock
) -> None:
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    sink.max_pending = 50
    spool = sink._spool
    assert spool is not None
    real_insert = spool.insert_chunks

    def broken(chunks: Sequence[tuple[Sequence[str], float]]) -> None:
        raise OSError("disk full")

    spool.insert_chunks = broken  # type: ignore[method-assign]
    for start in range(0, 100, 10):
        sink.submit(samples(start, 10))
    await wait_for(clock, lambda: not sink.up)
    assert sink.counters["dropped_total"] >= 50
    spool.insert_chunks = real_insert  # type: ignore[method-assign]
    await wait_for(
        clock, lambda: sink.counters["written_total"] == 100 - sink.counters["dropped_total"]
    )
    await sink.stop()
    assert store.values() == list(range(sink.counters["dropped_total"], 100))


async def test_a_broken_spool_keeps_the_sink_down_while_the_backlog_is_written(
    tmp_path: Path, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk while the store is fine: `roomwatch.sink.up` stays 0 with the reason, and
    the log says it once, instead of flapping with each batch the sender still writes."""
    store = FakeStore()
    store.failure = StoreError("refused", "cannot connect")
    sink = make_sink(tmp_path, clock, store, batch_size=10)
    await sink.start()
    sink.submit(samples(0, 50))
    await wait_for(clock, lambda: sink.depth() == 50 and not sink.up)
    spool = sink._spool
    assert spool is not None

    attempts: list[int] = []

    def broken(chunks: Sequence[tuple[Sequence[str], float]]) -> None:
        attempts.append(sum(len(lines) for lines, _ in chunks))
        raise OSError("disk full")

    spool.insert_chunks = broken  # type: ignore[method-assign]
    store.failure = None
    for start in range(50, 100, 10):
        sink.submit(samples(start, 10))
        tried = len(attempts)
        # until the spool has refused it too (awaited at once: the late binding is harmless)
        await wait_for(clock, lambda: len(attempts) > tried)  # noqa: B023
    await wait_for(clock, lambda: sink.counters["written_total"] == 50)
    assert not sink.up
    (up,) = [s for s in sink.own_samples(TS) if s.metric == "roomwatch.sink.up"]
    assert up.value == 0 and "disk full" in str(up.note)
    assert caplog.text.count("disk full") == 1
    await sink.stop()


def test_rate_limiter_never_lets_more_than_rate_per_second_through_after_a_burst() -> None:
    limiter = RateLimiter(rate=1000, burst=100)
    now, sent = 0.0, 0
    while now < 10.0:
        wait = limiter.take(100, now)
        now += wait
        sent += 100
    # One burst (capacity 1000) plus 1000/s.
    assert sent <= 1000 + 1000 * now + 100
    assert limiter.take(1, now) > 0  # the bucket is empty right after a full stretch


def test_repr_shows_no_token(tmp_path: Path, clock: VirtualClock) -> None:
    sink = make_sink(tmp_path, clock, FakeStore())
    assert SECRET not in repr(sink)
    assert SECRET not in str(vars(sink.config))


async def test_chunks_of_a_failed_spool_commit_are_retried_together_and_stored_once(
    tmp_path: Path,
    clock: VirtualClock,
) -> None:
    """The chunks that piled up for one spooler round are committed in one transaction: a
    failure commits none of them, the retry commits all, and nothing is stored twice."""
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    spool = sink._spool
    assert spool is not None
    real_insert = spool.insert_chunks
    calls: list[list[int]] = []

    def fails_the_first_time(chunks: Sequence[tuple[Sequence[str], float]]) -> None:
        calls.append([len(lines) for lines, _ in chunks])
        if len(calls) == 1:
            raise OSError("disk full")
        real_insert(chunks)

    spool.insert_chunks = fails_the_first_time  # type: ignore[method-assign]
    sink.submit(samples(0, 10))  # both chunks wait for the same spooler round
    sink.submit(samples(10, 10))
    await wait_for(clock, lambda: sink.counters["written_total"] == 20)
    await sink.stop()
    assert calls == [[10, 10], [10, 10]]  # the round retried whole, once
    assert sink.counters["spooled_total"] == 20
    assert store.values() == list(range(20))


async def test_written_batch_whose_delete_failed_is_deleted_later_not_written_again(
    tmp_path: Path,
    clock: VirtualClock,
) -> None:
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    spool = sink._spool
    assert spool is not None
    real_remove = spool.remove_upto
    failures = [OSError("disk I/O error")]

    def flaky_remove(last_id: int) -> int:
        if failures:
            raise failures.pop()
        return real_remove(last_id)

    spool.remove_upto = flaky_remove  # type: ignore[method-assign]
    sink.submit(samples(0, 10))
    await wait_for(clock, lambda: sink.depth() == 0 and not failures)
    sink.submit(samples(10, 5))
    await wait_for(clock, lambda: sink.counters["written_total"] == 15)
    await sink.stop()
    assert store.values() == list(range(15))


async def test_a_reload_that_rebuilds_the_sinks_loses_no_sample(
    tmp_path: Path, clock: VirtualClock
) -> None:
    """Polls go on while a reload replaces the sinks (a changed setting or token): every
    sample submitted meanwhile must reach the spool, none be dropped by a stopped sink."""
    settings = SinkConfig.model_validate(
        {
            "name": "local",
            "url": "http://127.0.0.1:9",  # nothing listens: everything stays spooled
            "org": "o",
            "bucket": "b",
            "credentials": "influx",
        }
    )
    loaded: Any = SimpleNamespace(
        config=SimpleNamespace(sinks=[settings], state_dir=tmp_path),
        credentials=Credentials({"influx": {"token": SECRET}}),
    )
    daemon = Daemon(tmp_path / "roomwatch.yaml", clock)
    await daemon._replace_sinks(loaded)
    submitted = 0
    feeding = True

    async def polls() -> None:  # as Daemon._observe: each result to every current sink
        nonlocal submitted
        while feeding:
            for sink in daemon.sinks:
                sink.submit(samples(submitted, 10))
            submitted += 10
            # A busy collector (10,000 samples/s), not an unbounded flood: a flood would
            # overrun the sink's in-memory bound, which drops by design and is tested apart.
            await asyncio.sleep(0.001)

    feeder = asyncio.create_task(polls())
    await wait_for(clock, lambda: submitted >= 200)
    old = list(daemon.sinks)
    await daemon._replace_sinks(loaded)
    after_reload = submitted
    await wait_for(clock, lambda: submitted >= after_reload + 200)
    feeding = False
    await feeder
    for sink in daemon.sinks:
        await sink.stop(drain=False)
    assert [s.stats()["dropped_total"] for s in old + daemon.sinks] == [0, 0]
    spool = Spool(tmp_path / "spool" / "local.sqlite", max_rows=10**9)
    try:
        assert spool.depth == submitted
    finally:
        spool.close()


async def test_stop_with_a_delivered_batch_that_cannot_be_deleted_does_not_spin(
    tmp_path: Path, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGTERM while the disk is full and even the settled marker cannot be written: the
    sender used to retry the delete in a loop without a sleep until the sink's timeout,
    logging a traceback each time (800-8,000 of them). Now: one traceback, then stop."""
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store)
    await sink.start()
    spool = sink._spool
    assert spool is not None
    attempts: list[int] = []

    def full_disk(last_id: int) -> int:
        attempts.append(last_id)
        raise sqlite3.OperationalError("database or disk is full")

    spool.remove_upto = full_disk  # type: ignore[method-assign]
    sink.submit(samples(0, 10))
    await wait_for(clock, lambda: len(store.bodies) == 1 and len(attempts) >= 1)
    await sink.stop()
    assert len(store.bodies) == 1  # written once, never again
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) <= 1, [r.getMessage() for r in tracebacks]
    assert len(attempts) <= 3, attempts


async def test_the_replay_rate_paces_a_backlog_not_the_rooms_own_pace(
    tmp_path: Path, clock: VirtualClock
) -> None:
    """A room making 300 samples a second with replay_rate 100 must still be written as it
    comes (5,000 switches make 50,000 a second, above the default 20,000); only a backlog
    from an outage is paced."""
    store = FakeStore()
    sink = make_sink(tmp_path, clock, store, spool={"replay_rate": 100})
    await sink.start()
    for second in range(20):
        for k in range(3):
            start = (second * 3 + k) * 100
            sink.submit(samples(start, 100))
        for _ in range(400):  # up to 2 s of real time for the threads, then the next second
            if not sink.depth():
                break
            await asyncio.sleep(0.005)
        await clock.advance(1.0)
    assert sink.counters["written_total"] >= 5_700  # paced, it was 2,100 at most
    # An outage's backlog is paced: 3,000 spooled while the store is down leave at ~100/s.
    store.failure = StoreError("unreachable", "down")
    sink.submit(samples(6000, 3000))
    await wait_for(clock, lambda: sink.counters["spooled_total"] == 9000)
    for _ in range(100):  # ten minutes of outage
        await asyncio.sleep(0.001)
        await clock.advance(6.0)
    store.failure = None
    began = clock.monotonic()
    await wait_for(clock, lambda: sink.counters["written_total"] == 9000, limit_s=30)
    assert clock.monotonic() - began >= 3000 / 100 * 0.8  # its credit expired: paced
    await sink.stop()
    assert store.values() == list(range(9000))
