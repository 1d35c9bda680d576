"""Writing line protocol to an InfluxDB v2 write API through influxdb-client, and sorting its
failures by what the sink does next.

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
    "error"           yes      anything else

Messages carry the status and the server's short reason, never the token."""

from __future__ import annotations

from typing import Any, Protocol

import urllib3.exceptions
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from collector.sinks.config import SinkConfig


class StoreError(Exception):
    def __init__(
        self, kind: str, message: str, *, retry: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry = retry
        self.retry_after = retry_after


class StoreWriter(Protocol):
    """Blocking; the sink calls it from a worker thread, one call at a time."""

    def write(self, body: bytes) -> None:
        """Write newline-separated lines (ms precision). Raises StoreError."""

    def close(self) -> None: ...


class InfluxWriter:
    def __init__(self, config: SinkConfig, token: str, gzip: bool = False) -> None:
        self._bucket = config.bucket
        self._org = config.org
        self._client = InfluxDBClient(
            url=config.url,
            token=token,
            org=config.org,
            timeout=int(config.timeout * 1000),
            enable_gzip=gzip,
            verify_ssl=config.verify_tls,
            ssl_ca_cert=str(config.ca_file) if config.ca_file else None,
            retries=False,  # the sink owns retries (and the spool keeps what is not written)
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)
        if not config.verify_tls:
            # The admin chose this (the sink logs it once at start); urllib3 would otherwise
            # warn on every request. Process-wide, but only urllib3 (influxdb-client) uses it.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def __repr__(self) -> str:
        return f"InfluxWriter({self._client.url!r}, org={self._org!r}, bucket={self._bucket!r})"

    def write(self, body: bytes) -> None:
        try:
            self._api.write(
                bucket=self._bucket,
                org=self._org,
                record=body,
                write_precision=WritePrecision.MS,  # type: ignore[arg-type]
            )
        except ApiException as exc:
            if not exc.status:  # influxdb-client's wrapping of urllib3's SSLError
                reason = " ".join(str(exc.reason or "").split())
                kind = "tls" if reason.startswith("SSLError") else "error"
                raise StoreError(kind, _short(reason.removeprefix("SSLError "))) from None
            # `message` is the server's JSON "message" when there is one, else the raw body.
            detail = getattr(exc, "message", None) or exc.body
            raise classify_status(exc.status, exc.reason, detail, _retry_after(exc)) from None
        except urllib3.exceptions.SSLError as exc:
            raise StoreError("tls", _short(exc)) from None
        except urllib3.exceptions.NewConnectionError as exc:
            # Checked first: urllib3 makes it a subclass of ConnectTimeoutError.
            reason = str(exc).rpartition("new connection: ")[2]  # "[Errno 111] Connection refused"
            raise StoreError("refused", f"cannot connect: {_short(reason)}") from None
        except (
            urllib3.exceptions.ConnectTimeoutError,
            urllib3.exceptions.ReadTimeoutError,
            TimeoutError,
        ) as exc:
            raise StoreError("timeout", f"no answer in time ({type(exc).__name__})") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreError("error", f"{type(exc).__name__}: {_short(exc)}") from None

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]


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


def _retry_after(exc: ApiException) -> float | None:
    headers: Any = exc.headers
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _detail(reason: object, body: object) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    text = " ".join(text.split())
    return _short(text or str(reason or ""))


def _short(value: object, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
