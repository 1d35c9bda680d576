"""`GET /metrics` and `GET /metrics/devices`: Prometheus text (format 0.0.4), written by
prometheus_client from custom collectors.

    /metrics          the daemon's own figures (self_metrics: polls, reloads, the fault queue,
                      rule time, traps, sinks, alerting, active incidents)
    /metrics/devices  every device's latest readings (reading_metrics)

Each scrape reads the figures through the DaemonView, then hands a snapshot to a collector in
a registry of its own (no process_/python_ collectors, no global state). Custom collectors
write no `_created` series, so a counter is exactly its `_total` sample, as before."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from collector.api.reading_metrics import reading_families
from collector.api.self_metrics import SelfFigures, daemon_families
from collector.api.view import DaemonView

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class Snapshot(Collector):
    """A collector of families built for one scrape."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def exposition(families: Sequence[Metric]) -> bytes:
    """The text format of the families, as a scraper reads it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Snapshot(families))
    return generate_latest(registry)


def _reply(families: Sequence[Metric]) -> web.Response:
    # the content type as a header: aiohttp refuses a charset in content_type=
    return web.Response(body=exposition(families), headers={"Content-Type": CONTENT_TYPE})


def routes(view: DaemonView) -> list[web.RouteDef]:
    async def metrics(_request: web.Request) -> web.Response:
        incidents = view.incidents()
        figures = SelfFigures(
            own=view.stats(),
            sinks=view.sinks(),
            alerts=incidents.stats(),
            active=await incidents.active(),
            devices=len(view.inventory().devices),
            not_answering=len(view.not_answering()),
        )
        return _reply(daemon_families(figures))

    async def device_metrics(_request: web.Request) -> web.Response:
        # A room of 5,000 devices has a quarter of a million readings: seconds of work
        # (bench/bench_metrics_devices.py), done in a thread on a snapshot taken here, so
        # the event loop keeps polling meanwhile.
        latest = list(view.latest().values())
        inventory, now, stale_after = view.inventory(), view.now(), view.readings_stale_after()

        def render() -> bytes:
            return exposition(reading_families(latest, inventory, now, stale_after))

        body = await asyncio.to_thread(render)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return [web.get("/metrics", metrics), web.get("/metrics/devices", device_metrics)]
