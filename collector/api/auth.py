"""Who may talk to the API: the listen address, the token, and the browser attacks refused.

With a token (the `token` key of the credentials entry named by `api.credentials`), every
request must carry `Authorization: Bearer TOKEN` (the page also takes `?token=TOKEN`, for a
wall-screen browser that cannot send headers); signed acknowledge links carry their own proof.
Listening anywhere but on loopback without a token is refused at start, as a configuration
error. Cross-site writes (CSRF) and, without a token, a Host that is not loopback (DNS
rebinding) are refused whatever the token says."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

from core.hostport import split_host_port
from inventory import ConfigError
from inventory.credentials import Credentials

if TYPE_CHECKING:
    from collector.config import ApiSettings

PAGE_PATHS = ("/", "/board")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACK_LINK_PREFIX = "/ack/"  # a signed acknowledge link is its own proof (the HMAC)
# a chat platform's callback is proved by the platform's signature (collector/api/chat.py); it
# can carry no token, and comes through a public name, not loopback
CALLBACK_PREFIX = "/callback/"


def parse_listen(listen: str) -> tuple[str, int]:
    """("127.0.0.1", 8765) from "127.0.0.1:8765" ("[::1]:8765" for IPv6). Raises ValueError."""
    try:
        return split_host_port(listen, None, default_host="127.0.0.1", allow_port_zero=True)
    except ValueError as exc:
        raise ValueError(f"api.listen: expected HOST:PORT, found {listen!r} ({exc})") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name that could resolve anywhere


def api_token(
    settings: ApiSettings, credentials: Credentials, config_file: str, has_users: bool = False
) -> str | None:
    """The API token, or None when none is configured. Raises ConfigError when the entry is
    missing, has no `token`, or when the API listens off loopback with neither a token nor
    console users (then every request needs one or the other)."""
    try:
        host, _ = parse_listen(settings.listen)
    except ValueError as exc:
        raise ConfigError.single(config_file, str(exc)) from None
    token: str | None = None
    if settings.credentials:
        try:
            token = credentials.entry(settings.credentials).get("token") or None
        except KeyError as exc:
            raise ConfigError.single(config_file, f"api.credentials: {exc.args[0]}") from None
        if token is None:
            raise ConfigError.single(
                config_file,
                f"api.credentials: entry {settings.credentials!r} has no 'token'",
            )
    if token is None and not has_users and not is_loopback(host):
        raise ConfigError.single(
            config_file,
            f"api.listen is {settings.listen!r}, not loopback, and no token is configured nor"
            " any console user: set api.credentials to an entry holding `token`, add a user"
            " (roomwatch users add NAME --role admin), or listen on 127.0.0.1",
        )
    return token


def token_matches(request: web.Request, token: str) -> bool:
    offered = ""
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":  # the scheme is case-insensitive (RFC 9110 §11.1)
        offered = credentials.strip()
    elif request.method == "GET" and request.path in PAGE_PATHS:
        offered = request.query.get("token", "")
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())


def host_is_loopback(host_header: str) -> bool:
    """Whether a Host header names this machine's loopback ("localhost", "127.0.0.1:8765",
    "[::1]:8765")."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return is_loopback(host.rstrip("."))


def browser_refusal(method: str, headers: Mapping[str, str], token_required: bool) -> str | None:
    """Why a request must be refused as a browser attack on the API, or None.

    - A state-changing request sent by a page of another site (its `Origin` is not this
      server, or `Sec-Fetch-Site: cross-site`): without it, any web page open in a browser on
      the box could acknowledge incidents or silence devices with a form or `fetch`
      (cross-site request forgery; the body's content type is not checked, so `curl -d` works).
    - Without a token (loopback only), a `Host` that is not loopback: a web page whose DNS name
      is re-pointed at 127.0.0.1 (DNS rebinding) would otherwise read and change everything.
    Clients that are not browsers (curl, Prometheus, scripts) send neither header and pass."""
    host = headers.get("Host")
    if not token_required and host is not None and not host_is_loopback(host):
        return (
            f"Host {host!r} is not loopback: without a token the API answers only"
            " http://127.0.0.1 or http://localhost (configure api.credentials to serve other names)"
        )
    if method.upper() in SAFE_METHODS:
        return None
    origin = headers.get("Origin")
    if origin is not None:
        if origin == "null" or host is None or urlsplit(origin).netloc.lower() != host.lower():
            return f"cross-site request from {origin!r} refused"
    elif headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return "cross-site request refused"
    return None
