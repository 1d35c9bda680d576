"""The console's graphs read from a real VictoriaMetrics fed the InfluxDB sink's own lines
(history.source): the series the sink wrote for a sample is found again by its name and
labels, averaged per step with its low and high, and another sensor's series is not mixed in."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.history import RemoteSource
from collector.history_remote import RemoteHistory, selector
from collector.sinks.lineproto import encode_sample
from core.sample import Sample
from tests.fixtures.victoria_peer import VictoriaMetrics

pytestmark = pytest.mark.integration


def write_and_wait(victoria: VictoriaMetrics, lines: bytes, match: str) -> int:
    """Write line protocol as the sink does; the points stored under `match`, once there."""
    request = urllib.request.Request(f"{victoria.url}/write?precision=ms", data=lines)
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 204
    return len(victoria.wait_for_points(match, 60))


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    vm = VictoriaMetrics(tmp_path / "vm").start()
    yield vm
    vm.stop()


async def test_graph_points_come_back_from_what_the_sink_wrote(victoria: VictoriaMetrics) -> None:
    now = time.time() // 60 * 60
    tags = {"kind": "sensor", "site": "dc1"}
    samples = [
        Sample("th-a1", "ambient.temperature", 20.0 + minute / 10, {"sensor": "inlet"}, "°C",
               now - 3600 + minute * 60)
        for minute in range(60)
    ] + [
        Sample("th-a1", "ambient.temperature", 99.0, {"sensor": "outlet"}, "°C", now - 1800),
    ]  # fmt: skip
    lines = "\n".join(line for s in samples if (line := encode_sample(s, tags))).encode()
    match = selector("th-a1", "ambient.temperature", {"sensor": "inlet"})
    assert await asyncio.to_thread(write_and_wait, victoria, lines, match) == 60

    latest = [samples[59]]
    graphs = RemoteHistory(RemoteSource(url=victoria.url), lambda: latest)
    try:
        (series,) = graphs.series_of("th-a1")
        assert (series.metric, series.labels) == ("ambient.temperature", {"sensor": "inlet"})
        points = await graphs.points("th-a1", "ambient.temperature", {"sensor": "inlet"},
                                     now - 3600, now, buckets=12)  # fmt: skip
        assert 10 <= len(points) <= 14
        assert all(20.0 <= p.low <= p.mean <= p.high <= 26.0 for p in points)  # not the 99
        assert points[-1].mean > points[0].mean  # the climb is there
    finally:
        await graphs.close()


async def test_an_unreachable_source_draws_an_empty_graph_and_counts_it() -> None:
    graphs = RemoteHistory(RemoteSource(url="http://127.0.0.1:9", timeout=1.0), list)
    try:
        assert await graphs.points("x", "cpu.usage", {}, 0.0, 3600.0) == []
        assert graphs.failures == 3
    finally:
        await graphs.close()
