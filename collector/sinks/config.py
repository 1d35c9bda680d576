"""Settings of one sink, as written under `sinks:` in roomwatch.yaml (a user-facing contract).

    sinks:
      - type: influxdb
        name: local
        url: http://127.0.0.1:8086
        org: machine-rooms
        bucket: roomwatch
        credentials: influx          # credentials-file entry holding `token`
        batch_size: 5000
        flush_interval: 1s
        timeout: 10s
        verify_tls: true
        ca_file: /etc/roomwatch/influx-ca.pem   # a private CA (optional)
        gzip: false                  # true over a slow WAN
        spool:
          max_rows: 5000000          # drop-oldest beyond this (counted and logged)
          max_bytes: 1GB             # optional second bound on the spool file
          replay_rate: 20000         # samples/s of a backlog sent on top of the live intake

The token is never written here: it comes from the credentials entry named by
`credentials`, like every other secret."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from core.durations import Duration

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text: str | int | float) -> int:
    """Bytes from "500MB", "1GiB", "2g" or a bare number. Raises ValueError with the text."""
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a size cannot be negative: {text!r}")
        return int(text)
    m = _SIZE.fullmatch(str(text).strip())
    if not m:
        raise ValueError(f"not a size: {text!r} (write it like 500MB, 2GiB)")
    unit = m.group(2).lower()
    base = 1024 if "i" in unit else 1000
    power = "kmgt".find(unit[:1]) + 1 if unit[:1] in ("k", "m", "g", "t") else 0
    return int(float(m.group(1)) * base**power)


def _coerce_size(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return parse_size(value)
    return value


ByteSize = Annotated[int, BeforeValidator(_coerce_size)]


class SpoolConfig(BaseModel):
    """The durable spool of one sink (SQLite under the state directory)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_rows: int = Field(default=5_000_000, gt=0)
    max_bytes: ByteSize | None = Field(default=None, gt=0)
    # The most samples per second sent to this store: after an outage the backlog drains at
    # this rate minus the live rate, so a recovering store is not flooded.
    replay_rate: float = Field(default=20_000.0, gt=0)


class SinkConfig(BaseModel):
    """One InfluxDB v2 sink. Several may be listed; each gets its own spool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["influxdb"] = "influxdb"
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    url: str = Field(pattern=r"^https?://")
    org: str
    bucket: str
    credentials: str  # name of the credentials-file entry holding `token`
    batch_size: int = Field(default=5000, gt=0, le=100_000)
    flush_interval: Duration = Field(default=1.0, gt=0)
    timeout: Duration = Field(default=10.0, gt=0)
    verify_tls: bool = True
    ca_file: Path | None = None  # PEM of the CA that signed the server's certificate
    gzip: bool = False  # compress write bodies (worth it over a WAN, costs CPU)
    spool: SpoolConfig = Field(default_factory=SpoolConfig)

    @field_validator("url")
    @classmethod
    def _no_secret_in_url(cls, value: str) -> str:
        # A password in the URL would be logged with every failed write and shown in repr.
        if urlsplit(value).password is not None:
            raise ValueError(
                "a password does not belong in the URL; the token goes in the credentials"
                " file (credentials: NAME)"
            )
        return value
