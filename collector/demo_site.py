"""A small website the demo config serves to itself, so a newcomer sees a fault open and
resolve with no network and no device.

It answers "roomwatch demo: OK" for `healthy_for`, then HTTP 503 for `failing_for`, and so on.
`POST /break` and `POST /mend` switch it by hand (`curl -X POST http://127.0.0.1:8089/break`).
Enabled only by the `demo_site:` section of roomwatch.yaml."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

__all__ = ["DemoSite", "DemoSiteSettings"]
from collector.config import DemoSiteSettings
from core.hostport import split_host_port


class DemoSite:
    def __init__(self, settings: DemoSiteSettings, monotonic: Callable[[], float]) -> None:
        self.settings = settings
        self._monotonic = monotonic
        self._started = monotonic()
        self._forced: bool | None = None  # True: broken by hand, False: mended by hand
        self._runner: web.AppRunner | None = None

    def broken(self) -> bool:
        if self._forced is not None:
            return self._forced
        cycle = self.settings.healthy_for + self.settings.failing_for
        phase = (self._monotonic() - self._started) % cycle if cycle > 0 else 0.0
        return phase >= self.settings.healthy_for

    async def _page(self, _request: web.Request) -> web.Response:
        if self.broken():
            return web.Response(status=503, text="roomwatch demo: down for the demo\n")
        return web.Response(text="roomwatch demo: OK\n")

    async def _break(self, _request: web.Request) -> web.Response:
        self._forced = True
        return web.Response(text="broken\n")

    async def _mend(self, _request: web.Request) -> web.Response:
        self._forced = False
        return web.Response(text="mended\n")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_post("/break", self._break)
        app.router.add_post("/mend", self._mend)
        host, port = split_host_port(self.settings.listen, default_host="127.0.0.1")
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
