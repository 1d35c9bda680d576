"""The API's aiohttp application and the server the daemon starts and stops.

`make_app` wires the routes of every part (status page, JSON API, maintenance, /metrics)
behind the auth guard; it needs only a DaemonView and the current token, so tests serve it
in-process. `ApiServer` binds it to `api.listen` and takes a rotated token on reload."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from collector.api import cluster, json_api, maintenance, metrics, page
from collector.api.auth import api_token, guard, parse_listen
from collector.api.view import DaemonView
from inventory import ConfigError
from inventory.credentials import Credentials

if TYPE_CHECKING:
    from collector.config import Config

log = logging.getLogger("roomwatch.api")

BODY_LIMIT = 64 * 1024  # bytes of a request body: a window or an acknowledgement is small


def make_app(view: DaemonView, token: Callable[[], str | None]) -> web.Application:
    """The whole API. `token` is asked at each request (None: loopback without a token)."""
    app = web.Application(middlewares=[guard(token)], client_max_size=BODY_LIMIT)
    for part in (page, json_api, maintenance, metrics, cluster):
        app.router.add_routes(part.routes(view))
    return app


class ApiServer:
    """The API of one running daemon. `start` binds, `stop` closes; `port` is the bound port
    (useful with port 0)."""

    def __init__(self, view: DaemonView, config: Config, credentials: Credentials) -> None:
        self.view = view
        self.settings = config.api
        self.host, self._port = parse_listen(self.settings.listen)
        # Checked here, before the daemon says READY: a bad setting stops the start.
        self._token = api_token(self.settings, credentials, str(config.path))
        self._runner: web.AppRunner | None = None
        self.port = self._port

    def refresh_token(self, config: Config, credentials: Credentials) -> None:
        """After a reload: take a rotated token (the listen address needs a restart)."""
        if config.api.listen != self.settings.listen:
            log.warning(
                "api.listen changed to %s; still listening on %s until a restart",
                config.api.listen,
                self.settings.listen,
            )
        try:
            self._token = api_token(config.api, credentials, str(config.path))
        except ConfigError as exc:
            for item in exc.errors:
                log.error("reload: API token unchanged: %s", item)

    def app(self) -> web.Application:
        return make_app(self.view, lambda: self._token)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info(
            "HTTP API listening",
            extra={"listen": f"{self.host}:{self.port}", "token": self._token is not None},
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
