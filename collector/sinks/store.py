"""Writing line protocol to an InfluxDB v2 write API (`POST /api/v2/write`) with aiohttp on
the daemon's event loop, and sorting its failures by what the sink does next.

    StoreError.kind   retry?   sink does
    "auth"            yes      401/403: keeps spooling until the token is fixed
    "not_found"       yes      404 (or VictoriaMetrics' 400 "unsupported path"): wrong URL,
                               org or bucket; keeps spooling
    "too_large"       yes      413: sends smaller batches
    "rejected"        no       400/422: the store refused lines of the batch (InfluxDB OSS 2
                               then writes none of it); the sink halves the batch until the
                               refused lines stand alone, and those leave the spool, counted
    "throttled"       yes      429/503: waits for Retry-After
    "server"          yes      other 5xx
    "timeout"         yes      no answer in time: the batch may have been written (see README)
    "tls"             yes      the certificate did not verify (or another TLS failure)
    "refused"         yes      connection refused / no route / DNS
    "error"           yes      anything else (the connection dropped mid-request, ...)

Messages carry the status and the server's short reason, never the token.

Why aiohttp on the loop rather than a blocking client (influxdb-client, before) in a thread:
a poll-heavy daemon holds the GIL most of the time, and a thread doing blocking I/O must win
the GIL back after every system call, waiting up to the 5 ms switch interval each time; on
the loop a write is a few callbacks between polls. It also spares the daemon influxdb-client's
14 MiB of modules (aiohttp is loaded for the API anyway). Figures: bench/README.md."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import ssl
from typing import Protocol
from urllib.parse import urlencode

import aiohttp

from collector.sinks.config import SinkConfig

_WRITE_PATH = "/api/v2/write"
# A write connection idle this long is closed by us, before the server closes it under a
# request (VictoriaMetrics closes idle connections after a minute, InfluxDB after three).
_KEEPALIVE_S = 15.0
_GZIP_LEVEL = 1  # most of the size saving for a fraction of the CPU of the default 9


class StoreError(Exception):
    def __init__(
        self, kind: str, message: str, *, retry: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry = retry
        self.retry_after = retry_after


class StoreWriter(Protocol):
    """The sink awaits one write at a time."""

    async def write(self, body: bytes) -> None:
        """Write newline-separated lines (ms precision). Raises StoreError."""

    async def close(self) -> None: ...


class InfluxWriter:
    def __init__(self, config: SinkConfig, token: str, gzip: bool = False) -> None:
        self._url = config.url.rstrip("/") + _WRITE_PATH
        self._query = urlencode({"org": config.org, "bucket": config.bucket, "precision": "ms"})
        self._headers = {
            "Authorization": f"Token {token}",
            "Content-Type": "text/plain; charset=utf-8",
            "Accept": "application/json",
        }
        if gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._gzip = gzip
        self._timeout = aiohttp.ClientTimeout(total=config.timeout)
        self._tls: ssl.SSLContext | bool = True
        if config.url.startswith("https:"):
            if config.verify_tls:
                # The system's CAs, or only the admin's CA when one is named.
                cafile = str(config.ca_file) if config.ca_file else None
                self._tls = ssl.create_default_context(cafile=cafile)
            else:
                self._tls = False  # the admin chose this; the sink logs it once at start
        self._session: aiohttp.ClientSession | None = None
        self._org, self._bucket = config.org, config.bucket

    def __repr__(self) -> str:
        return f"InfluxWriter({self._url!r}, org={self._org!r}, bucket={self._bucket!r})"

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=2, ssl=self._tls, keepalive_timeout=_KEEPALIVE_S)
            # trust_env=False: no proxy from the environment for a store on the LAN (an
            # admin's HTTPS_PROXY meant for package downloads must not capture samples).
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, trust_env=False
            )
        return self._session

    async def write(self, body: bytes) -> None:
        if self._gzip:
            body = await asyncio.to_thread(gzip.compress, body, _GZIP_LEVEL)
        session = self._open()
        try:
            async with session.post(
                f"{self._url}?{self._query}", data=body, headers=self._headers
            ) as response:
                detail = await response.read()  # read whole: the connection can be used again
                if response.status < 300:
                    return
                raise classify_status(
                    response.status,
                    response.reason,
                    _server_message(detail),
                    _retry_after(response.headers.get("Retry-After")),
                )
        except StoreError:
            raise
        except aiohttp.ClientConnectorCertificateError as exc:
            raise StoreError("tls", _short(exc.certificate_error)) from None
        except aiohttp.ClientSSLError as exc:
            raise StoreError("tls", _short(exc)) from None
        except aiohttp.ClientConnectorError as exc:
            raise StoreError("refused", f"cannot connect: {_os_reason(exc.os_error)}") from None
        except TimeoutError as exc:  # asyncio's and aiohttp's timeouts both are TimeoutError
            raise StoreError("timeout", f"no answer in time ({type(exc).__name__})") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise StoreError("error", f"{type(exc).__name__}: {_short(exc)}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def classify_status(
    status: int | None, reason: object, body: object, retry_after: float | None = None
) -> StoreError:
    code = int(status or 0)
    detail = _detail(reason, body)
    message = f"HTTP {code}: {detail}" if detail else f"HTTP {code}"
    if code in (401, 403):
        return StoreError("auth", message)
    if code == 404:
        return StoreError("not_found", message)
    if code == 413:
        return StoreError("too_large", message)
    if code == 400 and "unsupported path" in detail:
        # VictoriaMetrics' answer to a URL with a wrong path prefix: the lines are not at
        # fault, the setting is; keep them spooled until it is fixed, as for a 404.
        return StoreError("not_found", message)
    if code in (400, 422):
        return StoreError("rejected", message, retry=False)
    if code in (429, 503):
        return StoreError("throttled", message, retry_after=retry_after)
    if code >= 500:
        return StoreError("server", message, retry_after=retry_after)
    return StoreError("error", message)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the sink's own backoff applies


def _server_message(body: bytes) -> object:
    """InfluxDB answers errors as JSON with a `message`; anything else is shown as it came."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    message = data.get("message") if isinstance(data, dict) else None
    return message if isinstance(message, str) and message else body


def _os_reason(error: OSError) -> str:
    """'[Errno 111] Connection refused', not asyncio's "Connect call failed ('10.0.0.5', 8086)"
    (the URL is in the sink's own messages already)."""
    if isinstance(error, socket.gaierror):
        return f"host name not resolved ({error.strerror})"
    if error.errno is not None and error.errno > 0:
        return f"[Errno {error.errno}] {os.strerror(error.errno)}"
    return _short(error)


def _detail(reason: object, body: object) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    text = " ".join(text.split())
    return _short(text or str(reason or ""))


def _short(value: object, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
