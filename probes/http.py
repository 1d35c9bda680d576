"""The `http` probe: is a website up, how fast, does it say what it should, when does its
certificate expire.

Example inventory entry:

```yaml
- type: http
  url: https://intranet.example.org/health
  interval: 30s
  timeout: 10s
  expect_status: [200]
  expect_text: "OK"
  verify_tls: true
```

A site behind a login takes its secrets from a credentials entry (`credentials: intranet`, whose
keys are `username` and `password` for HTTP basic authentication, or `token` for a Bearer token),
never from the inventory: a password inside the URL or an `Authorization` (or other
secret-bearing) header written there is refused.

Metrics: `http.up` (1 when the final response has an expected status and, if asked, the
expected content within the first 1 MiB of the body), `http.status`, `http.response_seconds`
(request start to the last body byte read: the end of the page, or its first 1 MiB),
the phases `http.dns_seconds`, `http.connect_seconds` (TCP), `http.tls_seconds`,
`http.ttfb_seconds` (request sent to response headers), `http.content_match`, and
`tls.cert_expiry_days` for HTTPS. Phases are those of the first connection a request opens;
a redirect to another host adds its own time to `http.response_seconds` only.

A site that cannot be reached (DNS, refused, timeout, TLS failure) raises a ProbeError that
carries `http.up = 0`, so rules see the site down whichever metric they watch."""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from cryptography import x509

from core.sample import Sample
from probes.base import (
    Probe,
    ProbeError,
    ProbeProtocolError,
    ProbeSettings,
    ProbeTimeout,
    ProbeTlsError,
    ProbeUnreachable,
)
from probes.http_settings import HttpSettings, login_header
from probes.metric_names import MetricNames

HTTP_METRICS = frozenset(
    {
        "http.up",
        "http.status",
        "http.response_seconds",
        "http.dns_seconds",
        "http.connect_seconds",
        "http.tls_seconds",
        "http.ttfb_seconds",
        "http.content_match",
        "tls.cert_expiry_days",
    }
)
MAX_BODY = 1 << 20  # content checks read at most 1 MiB of a page


@dataclass
class _Phases:
    """Monotonic timestamps of the first connection of one request."""

    request_start: float | None = None
    dns_start: float | None = None
    dns_end: float | None = None
    conn_start: float | None = None
    tcp_end: float | None = None  # set by _TimedLoop when the TLS handshake starts
    conn_end: float | None = None
    headers: float | None = None
    peer_cert: bytes | None = None  # DER, taken at the handshake (the body may release it)

    def seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.dns_start is not None and self.dns_end is not None:
            out["http.dns_seconds"] = self.dns_end - self.dns_start
        if self.conn_start is not None and self.conn_end is not None:
            after_dns = self.dns_end if self.dns_end is not None else self.conn_start
            tcp_end = self.tcp_end if self.tcp_end is not None else self.conn_end
            out["http.connect_seconds"] = max(0.0, tcp_end - after_dns)
            if self.tcp_end is not None:
                out["http.tls_seconds"] = self.conn_end - self.tcp_end
        if self.headers is not None:
            sent = self.conn_end or self.request_start
            if sent is not None:
                out["http.ttfb_seconds"] = max(0.0, self.headers - sent)
        return out


class _TimedLoop:
    """Delegates to the event loop, noting when aiohttp's TLS connection setup starts.

    aiohttp connects the TCP socket first and then calls `loop.create_connection(sock=…,
    ssl=…)`, which performs the TLS handshake; timing that call splits TCP from TLS."""

    def __init__(self, loop: asyncio.AbstractEventLoop, phases: _Phases) -> None:
        self._loop = loop
        self._phases = phases

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    async def create_connection(self, *args: Any, **kwargs: Any) -> Any:
        tls = bool(kwargs.get("ssl"))
        if tls and self._phases.tcp_end is None:
            self._phases.tcp_end = time.perf_counter()
        transport, protocol = await self._loop.create_connection(*args, **kwargs)
        ssl_object = transport.get_extra_info("ssl_object") if tls else None
        if ssl_object is not None and self._phases.peer_cert is None:
            self._phases.peer_cert = ssl_object.getpeercert(binary_form=True)
        return transport, protocol


class _TimedConnector(aiohttp.TCPConnector):
    """A connector that lends `_TimedLoop` to its connection setup only.

    `_wrap_create_connection` is aiohttp's (private) seam around socket and TLS setup; if a
    future aiohttp drops it, nothing breaks: TLS time is then counted in the connect time
    and `http.tls_seconds` is not reported."""

    def __init__(self, phases: _Phases, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._phases = phases

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:
        real = self._loop
        self._loop = _TimedLoop(real, self._phases)  # type: ignore[assignment]
        try:
            return await super()._wrap_create_connection(*args, **kwargs)
        finally:
            self._loop = real


def _trace(phases: _Phases) -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()

    def first(attr: str) -> Any:
        async def mark(_s: aiohttp.ClientSession, _c: SimpleNamespace, _p: Any) -> None:
            if getattr(phases, attr) is None:
                setattr(phases, attr, time.perf_counter())

        return mark

    trace.on_request_start.append(first("request_start"))
    trace.on_dns_resolvehost_start.append(first("dns_start"))
    trace.on_dns_resolvehost_end.append(first("dns_end"))
    trace.on_connection_create_start.append(first("conn_start"))
    trace.on_connection_create_end.append(first("conn_end"))
    trace.on_request_end.append(first("headers"))
    return trace


def redact_url(url: str) -> str:
    """`url` with the password of its user-info (`https://user:pass@host/`) masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


async def _read_body(resp: aiohttp.ClientResponse) -> bytes:
    """The body up to its end or MAX_BODY bytes, whichever comes first.

    `StreamReader.read(n)` returns what has arrived so far (one chunk or TCP segment), not n
    bytes, so a page sent in pieces must be read until EOF."""
    parts: list[bytes] = []
    size = 0
    while size < MAX_BODY:
        chunk = await resp.content.read(MAX_BODY - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def cert_expiry_days(der: bytes, now: float) -> float:
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    return (not_after - datetime.fromtimestamp(now, UTC)).total_seconds() / 86400.0


class HttpProbe(Probe):
    type_name: ClassVar[str] = "http"
    settings_model: ClassVar[type[ProbeSettings]] = HttpSettings

    @classmethod
    def metric_names(cls, settings: ProbeSettings) -> MetricNames:
        return MetricNames(HTTP_METRICS)

    @classmethod
    def cli_target(cls, target: str) -> dict[str, object]:
        return {"url": target}

    def _ssl_context(self) -> ssl.SSLContext:
        settings = self._settings
        ctx = ssl.create_default_context(cafile=settings.ca_file)
        if not settings.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    @property
    def _settings(self) -> HttpSettings:
        assert isinstance(self.settings, HttpSettings)
        return self.settings

    async def poll(self, now: float) -> Sequence[Sample]:
        settings = self._settings
        where = redact_url(settings.url)  # errors are logged: no password from the URL
        phases = _Phases()
        # A fresh connector per poll: a monitoring check must measure a real connection
        # (DNS, TCP, TLS), not a pooled one, and sees certificate changes at once.
        try:
            ssl_context = self._ssl_context()
        except (OSError, ssl.SSLError) as exc:
            raise self._down(
                ProbeTlsError,
                f"{where}: cannot load ca_file {settings.ca_file}: "
                f"{getattr(exc, 'strerror', None) or exc}",
                now,
            ) from None
        connector = _TimedConnector(phases, ssl=ssl_context, use_dns_cache=False, limit=1)
        # The deadline is our own asyncio.timeout: aiohttp rounds a total timeout above 5 s up
        # to a whole second, which could let the collector's safety deadline fire first and
        # lose the http.up = 0 this probe reports on a timeout.
        timeout = aiohttp.ClientTimeout(total=None)
        started = time.perf_counter()
        try:
            async with (
                asyncio.timeout(settings.timeout),
                aiohttp.ClientSession(
                    connector=connector,
                    timeout=timeout,
                    trace_configs=[_trace(phases)],
                    trust_env=False,
                    headers={"User-Agent": "roomwatch-http-probe", **settings.headers},
                ) as session,
                session.request(
                    settings.method,
                    settings.url,
                    allow_redirects=settings.follow_redirects,
                    max_redirects=settings.max_redirects,
                    headers=login_header(settings),
                ) as resp,
            ):
                body = await _read_body(resp) if settings.method != "HEAD" else b""
                status = resp.status
                charset = resp.charset or "utf-8"  # no sniffing: we read at most MAX_BODY
        except TimeoutError:
            raise self._down(
                ProbeTimeout, f"{where}: no answer within {settings.timeout:g}s", now
            ) from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise self._down(
                ProbeTlsError, f"{where}: certificate not accepted: {exc.certificate_error}", now
            ) from None
        except aiohttp.ClientSSLError as exc:
            raise self._down(ProbeTlsError, f"{where}: TLS failed: {exc}", now) from None
        except aiohttp.TooManyRedirects:
            raise self._down(
                ProbeProtocolError, f"{where}: more than {settings.max_redirects} redirects", now
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise self._down(
                ProbeUnreachable,
                f"{where}: cannot connect: {exc.os_error.strerror or exc.os_error}",
                now,
            ) from None
        except (aiohttp.ClientError, UnicodeError, ValueError) as exc:
            raise self._down(
                ProbeProtocolError, f"{where}: {type(exc).__name__}: {exc}", now
            ) from None
        elapsed = time.perf_counter() - started

        status_ok = (
            status in settings.expect_status if settings.expect_status else 200 <= status < 400
        )
        content_ok: bool | None = None
        if settings.expect_text is not None or settings.expect_regex is not None:
            try:
                text = body.decode(charset, errors="replace")
            except LookupError:  # a charset Python does not know: read it as UTF-8
                text = body.decode("utf-8", errors="replace")
            content_ok = (settings.expect_text is None or settings.expect_text in text) and (
                settings.expect_regex is None or re.search(settings.expect_regex, text) is not None
            )
        up = status_ok and content_ok is not False
        note = None if up else ("status" if not status_ok else "content")

        def sample(metric: str, value: float | int, unit: str | None = None) -> Sample:
            return Sample(self.device, metric, value, {}, unit, now)

        out = [
            Sample(self.device, "http.up", int(up), {}, None, now, note),
            sample("http.status", status),
            sample("http.response_seconds", elapsed, "s"),
        ]
        out += [sample(name, value, "s") for name, value in phases.seconds().items()]
        if content_ok is not None:
            out.append(sample("http.content_match", int(content_ok)))
        if phases.peer_cert:
            days = cert_expiry_days(phases.peer_cert, now)
            out.append(sample("tls.cert_expiry_days", round(days, 3), "d"))
        return out

    def _down(self, error: type[ProbeError], message: str, now: float) -> ProbeError:
        """The error for a site that cannot be reached; it carries `http.up = 0` with the
        error's reason as the note, so rules on http.up see the site down too."""
        return error(message, [Sample(self.device, "http.up", 0, {}, None, now, error.reason)])


__all__ = ["HttpProbe", "HttpSettings", "ProbeError"]
