"""`GET /api/cluster`: what `roomwatch cluster status --json` prints, from the running
collector: the collectors sharing the store, their shards and heartbeats, every lease."""

from __future__ import annotations

from aiohttp import web

from alerting.store import StoreError
from collector.api.replies import json_response
from collector.api.view import DaemonView


def routes(view: DaemonView) -> list[web.RouteDef]:
    async def cluster(_request: web.Request) -> web.Response:
        if view.cluster is None:
            return json_response({"collectors": [], "leases": [], "store": "sqlite"})
        try:
            return json_response(dict(await view.cluster()))
        except StoreError as exc:
            return web.json_response({"error": str(exc)}, status=503)

    return [web.get("/api/cluster", cluster)]
