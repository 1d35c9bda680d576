"""The console's graphs read from the time-series store the InfluxDB sink writes to, instead
of the daemon's own history, when `history.source` says so:

    history:
      source: {url: "http://127.0.0.1:8428"}     # VictoriaMetrics (or any store answering
                                                 # the Prometheus query API over what the
                                                 # InfluxDB sink wrote)

A sample `ambient.temperature{sensor=inlet}` of device `th-a1` is written by the sink as
measurement `ambient`, field `temperature`, tags device/kind/site and the sample's labels
(collector.sinks.lineproto); VictoriaMetrics names that series `ambient_temperature` with those
labels, and `query_range` reads it back at the graph's step. The series a device has are the
ones it reports now (the daemon's latest readings), so no listing query is needed. InfluxDB 2
itself (Flux) is not a source yet: with it, graph in Grafana (dashboards/influxdb)."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

import aiohttp

from collector.history import Point, RemoteSource, Series, numeric
from collector.sinks.lineproto import split_metric, tag_set
from core.sample import Sample

log = logging.getLogger("roomwatch.history")

DEVICE_TAGS = ("kind", "site")  # what the daemon adds to every line (Daemon._tags_for)


def selector(device: str, metric: str, labels: dict[str, str]) -> str:
    """The PromQL series selector of what the sink wrote for this series."""
    measurement, field = split_metric(metric)
    tags = tag_set(device, dict.fromkeys(DEVICE_TAGS, "x"), labels)
    for key in DEVICE_TAGS:
        tags.pop(key, None)  # the device's own tags: any value
    matchers = [f'__name__="{_quote(f"{measurement}_{field}")}"']
    matchers += [f'{key}="{_quote(value)}"' for key, value in sorted(tags.items())]
    return "{" + ",".join(matchers) + "}"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class RemoteHistory:
    """A graph source over the Prometheus query API: same questions as ReadingHistory."""

    def __init__(self, source: RemoteSource, latest: Callable[[], Iterable[Sample]]) -> None:
        self.source = source
        self._latest = latest
        self.failures = 0
        self._session: aiohttp.ClientSession | None = None

    def series_of(self, device: str) -> list[Series]:
        found = {
            (s.metric, tuple(sorted(s.labels.items()))): s
            for s in self._latest()
            if s.device == device and numeric(s.value) is not None
        }
        return [
            Series(-1, device, metric, dict(labels), sample.unit)
            for (metric, labels), sample in sorted(found.items())
        ]

    async def points(
        self,
        device: str,
        metric: str,
        labels: dict[str, str],
        since: float,
        until: float,
        buckets: int = 240,
    ) -> list[Point]:
        step = max(60, math.ceil((until - since) / buckets))
        query = selector(device, metric, labels)
        # the mean, low and high of each step, like the embedded history's points
        wanted = {
            "mean": f"avg_over_time({query}[{step}s])",
            "low": f"min_over_time({query}[{step}s])",
            "high": f"max_over_time({query}[{step}s])",
        }
        columns: dict[str, dict[float, float]] = {}
        for name, expression in wanted.items():
            columns[name] = await self._range(expression, since, until, step)
        means = columns["mean"]
        return [
            Point(ts, value, columns["low"].get(ts, value), columns["high"].get(ts, value))
            for ts, value in sorted(means.items())
        ]

    async def _range(
        self, expression: str, since: float, until: float, step: int
    ) -> dict[float, float]:
        params = {
            "query": expression,
            "start": f"{since:.0f}",
            "end": f"{until:.0f}",
            "step": f"{step}s",
        }
        url = f"{self.source.url.rstrip('/')}/api/v1/query_range?{urlencode(params)}"
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.source.timeout)
            )
        try:
            async with self._session.get(url) as reply:
                body = await reply.text()
                if reply.status != 200:
                    raise ValueError(f"HTTP {reply.status}: {body[:200]}")
            data = json.loads(body)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            self.failures += 1
            log.warning("graph source %s: %s", self.source.url, exc)
            return {}
        out: dict[float, float] = {}
        for result in data.get("data", {}).get("result", []):
            for ts, text in result.get("values", []):
                value = float(text)
                if math.isfinite(value):
                    out[float(ts)] = value
            break  # one series asked for; a second would be another device's tags
        return out

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
