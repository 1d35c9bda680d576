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

This module is the sink's face to the daemon (start, submit, stop) and wires its parts:
state.py what the two tasks share, spooler.py memory → spool, sender.py spool → store,
own_metrics.py its own figures; lineproto.py, spool.py and store.py are the pure parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

from collector.clock import Clock, SystemClock
from collector.sinks import own_metrics
from collector.sinks.config import SinkConfig
from collector.sinks.lineproto import LineEncoder, TagsFor
from collector.sinks.own_metrics import OWN_DEVICE
from collector.sinks.sender import Sender
from collector.sinks.spool import Spool
from collector.sinks.spooler import GROUP_COMMIT_S, Spooler
from collector.sinks.state import SinkState
from collector.sinks.store import InfluxWriter, StoreWriter
from core.sample import Sample

__all__ = ["GROUP_COMMIT_S", "OWN_DEVICE", "InfluxSink"]

log = logging.getLogger("roomwatch.sink")

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
        self._clock: Clock = clock or SystemClock()
        self._state = SinkState(config, self._clock)
        self._encoder = LineEncoder(tags_for)
        self._encoder_since = self._clock.monotonic()
        self._writer = writer
        self.max_pending = max(20 * config.batch_size, 200_000)
        self._tasks: list[asyncio.Task[None]] = []
        self.counters = self._state.counters

    def __repr__(self) -> str:
        return f"InfluxSink({self.name!r}, url={self.config.url!r}, spool={str(self.spool_path)!r})"

    # ---- the daemon's interface -------------------------------------------------------------

    async def start(self) -> None:
        """Open the spool (resuming what a previous run left) and start sending. Raises
        SpoolBusy when another process holds the spool, OSError / sqlite3.Error when it cannot
        be opened (a set-up problem)."""
        spool_cfg = self.config.spool
        spool = await asyncio.to_thread(
            Spool, self.spool_path, spool_cfg.max_rows, spool_cfg.max_bytes
        )
        self._state.spool = spool
        if self._writer is None:
            self._writer = InfluxWriter(self.config, self._token, gzip=self.config.gzip)
        if self.config.url.startswith("https:") and not self.config.verify_tls:
            log.warning(
                "sink %s: the server's TLS certificate is not verified (verify_tls: false)",
                self.name,
            )
        if spool.depth:
            log.info(
                "sink %s: resuming with %d spooled samples in %s",
                self.name,
                spool.depth,
                self.spool_path,
            )
        self._tasks = [
            asyncio.create_task(Spooler(self._state).run(), name=f"sink-{self.name}-spooler"),
            asyncio.create_task(
                Sender(self._state, self._writer).run(), name=f"sink-{self.name}-sender"
            ),
        ]

    def submit(self, samples: Sequence[Sample]) -> None:
        """Accept samples. Never blocks, never raises: if the spool cannot keep up (a broken
        disk), the oldest samples held in memory beyond `max_pending` are dropped, counted."""
        state = self._state
        try:
            if not samples:
                return
            if state.closed:
                state.note_dropped(len(samples), "sink stopped", "newest ")
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
            state.pending.append((accepted_at, lines))
            state.pending_count += len(lines)
            # replay_rate bounds catch-up, not the room's own pace: what arrives live earns
            # its own passage (5,000 switches make 50,000 samples/s, above the default 20,000).
            state.limiter.credit(len(lines), self._clock.monotonic())
            while state.pending_count > self.max_pending and len(state.pending) > 1:
                _, oldest = state.pending.popleft()
                state.pending_count -= len(oldest)
                state.note_dropped(len(oldest), "memory queue full (spool not keeping up)")
            state.wake_spooler.set()
        except Exception:  # a sink must never break the collector
            log.exception("sink %s: submit failed", self.name)

    async def stop(self, drain: bool = True) -> None:
        """Keep sending for up to `timeout` while the store is up (not with `drain=False`, for
        a reload: the next sink on this spool carries on), then commit everything accepted
        to the spool; what is not sent stays there for the next start. Samples submitted
        meanwhile (polls go on during a reload) are spooled too."""
        state = self._state
        if state.stopping.is_set():
            return
        state.drain = drain
        state.stopping.set()
        state.wake_sender.set()
        # start() made [spooler, sender]: the sender ends first, so the spooler keeps
        # committing what polls submit while the sender drains.
        for task in reversed(self._tasks):
            if task is self._tasks[0]:
                state.closing.set()
                state.wake_spooler.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        state.closing.set()
        state.closed = True
        self._tasks = []
        if state.spool is not None:
            left = state.spool.depth
            if left:
                log.info("sink %s: stopped with %d samples spooled", self.name, left)
            await asyncio.to_thread(state.spool.close)
        if self._writer is not None:
            await self._writer.close()

    def own_samples(self, now: float) -> Sequence[Sample]:
        return own_metrics.own_samples(self._state, now)

    def stats(self) -> dict[str, float]:
        """Counters and gauges for the HTTP API's /metrics (the caller adds `sink=<name>`)."""
        return own_metrics.stats(self._state)

    # ---- state ------------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        """The store takes writes and the spool can be written."""
        return self._state.up

    def depth(self) -> int:
        """Samples not yet in the store: spooled plus accepted-but-not-committed."""
        return self._state.depth()

    def age_seconds(self, now: float) -> float:
        """Age of the oldest sample not yet in the store (0 when there is none)."""
        return self._state.age_seconds(now)

    @property
    def _spool(self) -> Spool | None:
        """The open spool (None before start): the unit tests break its methods on purpose."""
        return self._state.spool

    def _refresh_encoder(self) -> None:
        if self._clock.monotonic() - self._encoder_since > _TAG_CACHE_S:
            self._encoder.refresh_tags()
            self._encoder_since = self._clock.monotonic()
