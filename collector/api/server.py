"""The API's aiohttp application and the server the daemon starts and stops.

`make_app` wires the routes of every part (status page, JSON API, maintenance, /metrics)
behind the auth guard; it needs only a DaemonView and the current token, so tests serve it
in-process. `ApiServer` binds it to `api.listen` and takes a rotated token on reload."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from collector.accounts import UserDirectory, default_users_file
from collector.api import (
    ack_code,
    chat,
    cluster,
    console,
    devices_page,
    follow_page,
    json_api,
    login,
    maintenance,
    metrics,
    page,
)
from collector.api.access import Access, guard
from collector.api.auth import api_token, parse_listen
from collector.api.view import DaemonView
from inventory import ConfigError
from inventory.credentials import Credentials

if TYPE_CHECKING:
    from collector.config import ApiSettings, Config

log = logging.getLogger("roomwatch.api")

BODY_LIMIT = 64 * 1024  # bytes of a request body: a window or an acknowledgement is small


def make_app(
    view: DaemonView, token: Callable[[], str | None], access: Access | None = None
) -> web.Application:
    """The whole API. `token` is asked at each request (None: loopback without a token);
    `access` holds the console's users and sessions (none: only the token, as before)."""
    if access is None:
        access = Access(token, None, view.now)
    app = web.Application(middlewares=[guard(access)], client_max_size=BODY_LIMIT)
    for part in (
        page,
        json_api,
        maintenance,
        metrics,
        cluster,
        console,
        devices_page,
        chat,
        ack_code,
        follow_page,
    ):
        app.router.add_routes(part.routes(view))
    app.router.add_routes(login.routes(view, access))
    return app


def tls_context(settings: ApiSettings, config_file: str) -> ssl.SSLContext | None:
    """The server's TLS context when api.tls_cert/tls_key are set. Raises ConfigError when
    the files cannot be read as a certificate chain and its key."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError.single(
            config_file,
            f"api.tls_cert/api.tls_key: cannot load {settings.tls_cert} with"
            f" {settings.tls_key}: {exc}",
        ) from None
    return context


class ApiServer:
    """The API of one running daemon. `start` binds, `stop` closes; `port` is the bound port
    (useful with port 0)."""

    def __init__(self, view: DaemonView, config: Config, credentials: Credentials) -> None:
        self.view = view
        self.settings = config.api
        self.host, self._port = parse_listen(self.settings.listen)
        # Checked here, before the daemon says READY: a bad setting stops the start.
        users_file = self.settings.users_file or default_users_file(config.path)
        directory = UserDirectory(users_file)
        directory.entries()  # read now: a broken users file stops the start, with its line
        if directory.error:
            raise ConfigError.single(users_file, directory.error)
        self._token = api_token(self.settings, credentials, str(config.path), directory.any())
        self._tls = tls_context(self.settings, str(config.path))
        self.access = Access(
            lambda: self._token,
            directory,
            view.now,
            session_seconds=self.settings.session_hours * 3600.0,
            behind_proxy=self.settings.behind_proxy,
        )
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
            self._token = api_token(
                config.api, credentials, str(config.path), self.access.has_users()
            )
        except ConfigError as exc:
            for item in exc.errors:
                log.error("reload: API token unchanged: %s", item)

    def app(self) -> web.Application:
        return make_app(self.view, lambda: self._token, self.access)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port, ssl_context=self._tls)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info(
            "HTTP API listening",
            extra={
                "listen": f"{self.host}:{self.port}",
                "token": self._token is not None,
                "tls": self._tls is not None,
                "users": len(self.access.directory.entries()) if self.access.directory else 0,
            },
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
