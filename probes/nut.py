"""The `nut` probe: a client of Network UPS Tools' upsd (TCP, port 3493), reading every
variable of one UPS, or of every UPS the server has, with an optional login.

It owns NUT's network protocol as far as reading goes (`USERNAME`/`PASSWORD`, `LIST UPS`,
`LIST VAR`, `LOGOUT`, the `ERR …` replies). Variable names pass through unchanged (NUT's names
are our UPS metric names); values that are plain decimal numbers become numbers, the rest
(`ups.status`, serials, dates, hex ids such as `0463`) stay text. Every sample is labelled
`ups` with the UPS name on the server.

Example inventory entry (the password comes from the credentials file):

```yaml
probes:
  - type: nut
    address: 10.0.0.8:3493
    ups: rack1-ups          # leave out to read every UPS the server has
    username: monitor
    credentials: nut-monitor
    interval: 30s
```
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
from collections.abc import Sequence
from typing import ClassVar

from pydantic import ConfigDict, Field, field_validator, model_validator

from core.hostport import split_host_port
from core.sample import Sample, Value
from probes.base import (
    Probe,
    ProbeAuthError,
    ProbeError,
    ProbeProtocolError,
    ProbeSettings,
    ProbeTimeout,
    ProbeUnreachable,
    secret_field,
)
from probes.metric_names import MetricNames


class NutSettings(ProbeSettings):
    # a validation error must not print the password it was given
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    address: str  # host[:port], port 3493 by default
    ups: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]+$")
    username: str | None = Field(default=None, pattern=r"^\S+$")
    password: str | None = secret_field()

    @field_validator("address")
    @classmethod
    def _host_port(cls, address: str) -> str:
        split_address(address)
        return address

    @model_validator(mode="after")
    def _password_needs_username(self) -> NutSettings:
        if self.password is not None and not self.username:
            raise ValueError("a password is sent only after a username: set username too")
        return self


def split_address(address: str) -> tuple[str, int]:
    return split_host_port(address, 3493)


_DECIMAL = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?$")

# Units of NUT variables by the last part of the name; NUT itself sends none.
_UNITS = {
    "voltage": "V",
    "current": "A",
    "frequency": "Hz",
    "realpower": "W",
    "power": "VA",
    "temperature": "°C",
    "humidity": "%RH",
    "charge": "%",
    "load": "%",
    "runtime": "s",
}


def parse_value(text: str) -> Value:
    """A number when the text is a plain decimal (no leading zeros: `0463` is an id)."""
    if _DECIMAL.match(text):
        return float(text) if "." in text else int(text)
    return text


def unit_of(name: str, value: Value) -> str | None:
    if isinstance(value, str):
        return None
    parts = name.split(".")
    # battery.charge.low is a charge in %; battery.runtime.low a runtime in s
    for part in (parts[-1], parts[-2] if len(parts) > 1 else ""):
        if part in _UNITS:
            return _UNITS[part]
    return None


def parse_var_line(line: str, ups: str) -> tuple[str, str]:
    """`VAR <ups> <name> "<value>"` → (name, value). Raises ProbeProtocolError."""
    try:
        words = shlex.split(line)
    except ValueError:
        raise ProbeProtocolError(f"upsd sent an unparseable line: {line[:80]!r}") from None
    if len(words) != 4 or words[0] != "VAR" or words[1] != ups:
        raise ProbeProtocolError(f"upsd sent {line[:80]!r} inside LIST VAR {ups}")
    return words[2], words[3]


def error_for(reply: str, what: str) -> ProbeError:
    """The probe error for an `ERR <code>` reply of upsd."""
    code = reply.split()[1] if len(reply.split()) > 1 else "?"
    if code in ("ACCESS-DENIED", "USERNAME-REQUIRED", "PASSWORD-REQUIRED", "INVALID-PASSWORD"):
        return ProbeAuthError(f"upsd refused {what}: {code}")
    if code in ("DATA-STALE", "DRIVER-NOT-CONNECTED"):
        return ProbeTimeout(f"upsd has no fresh data for {what}: {code}")
    return ProbeProtocolError(f"upsd answered {what} with {code}")


def parse_ups_line(line: str) -> str:
    """`UPS <name> "<description>"` → name. Raises ProbeProtocolError."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = []
    if len(words) < 2 or words[0] != "UPS":
        raise ProbeProtocolError(f"upsd sent {line[:80]!r} inside LIST UPS")
    return words[1]


class _Refused(Exception):
    """An `ERR …` reply: upsd refused one request, the session itself is still in step."""

    def __init__(self, error: ProbeError) -> None:
        super().__init__(str(error))
        self.error = error


class _Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, line: str) -> None:
        self.writer.write(line.encode("utf-8") + b"\n")
        await self.writer.drain()

    async def line(self) -> str:
        raw = await self.reader.readline()
        if not raw.endswith(b"\n"):
            raise ProbeProtocolError("upsd closed the connection mid-reply")
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    async def command(self, line: str, what: str) -> str:
        await self.send(line)
        reply = await self.line()
        if reply.startswith("ERR"):
            raise _Refused(error_for(reply, what))
        return reply

    async def list(self, query: str, what: str) -> list[str]:
        first = await self.command(f"LIST {query}", what)
        if first != f"BEGIN LIST {query}":
            raise ProbeProtocolError(f"upsd answered LIST {query} with {first[:80]!r}")
        lines = []
        while (line := await self.line()) != f"END LIST {query}":
            lines.append(line)
        return lines


NUT_NAMESPACES = (
    "ambient.",
    "battery.",
    "device.",
    "driver.",
    "input.",
    "outlet.",
    "output.",
    "server.",
    "ups.",
)


class NutProbe(Probe):
    type_name: ClassVar[str] = "nut"
    settings_model: ClassVar[type[ProbeSettings]] = NutSettings

    @classmethod
    def metric_names(cls, settings: ProbeSettings) -> MetricNames:
        # upsd serves whatever variables its driver has; they all live in NUT's namespaces
        return MetricNames(prefixes=NUT_NAMESPACES)

    def __init__(self, device: str, settings: ProbeSettings) -> None:
        super().__init__(device, settings)
        assert isinstance(settings, NutSettings)
        self.cfg = settings

    async def poll(self, now: float) -> Sequence[Sample]:
        host, port = split_address(self.cfg.address)
        try:
            async with asyncio.timeout(self.cfg.timeout):
                return await self._read(host, port, now)
        except TimeoutError:
            raise ProbeTimeout(
                f"{self.device}: upsd at {host}:{port} did not answer within {self.cfg.timeout:g}s"
            ) from None
        except _Refused as exc:
            raise type(exc.error)(f"{self.device}: {exc.error}") from None
        except ProbeError as exc:
            raise type(exc)(f"{self.device}: {exc}", exc.samples) from None
        except (ConnectionError, OSError) as exc:
            raise ProbeUnreachable(
                f"{self.device}: upsd at {host}:{port}: {exc.strerror or exc}"
            ) from None

    async def _read(self, host: str, port: int, now: float) -> list[Sample]:
        reader, writer = await asyncio.open_connection(host, port)
        session = _Session(reader, writer)
        try:
            if self.cfg.username:
                await session.command(f"USERNAME {self.cfg.username}", "the login")
                if self.cfg.password is not None:
                    await session.command(f"PASSWORD {_quote(self.cfg.password)}", "the login")
            if self.cfg.ups:
                names = [self.cfg.ups]
            else:
                names = [parse_ups_line(line) for line in await session.list("UPS", "LIST UPS")]
                if not names:
                    raise ProbeProtocolError(f"upsd at {host}:{port} serves no UPS")
            samples: list[Sample] = []
            failed: list[_Refused] = []
            for ups in names:
                try:
                    lines = await session.list(f"VAR {ups}", f"UPS {ups!r}")
                except _Refused as exc:
                    if self.cfg.ups:
                        raise
                    # One UPS whose driver is down must not hide the others' readings.
                    failed.append(exc)
                    continue
                for line in lines:
                    name, text = parse_var_line(line, ups)
                    value = parse_value(text)
                    samples.append(
                        Sample(self.device, name, value, {"ups": ups}, unit_of(name, value), now)
                    )
            with contextlib.suppress(OSError, ProbeError):
                await session.send("LOGOUT")
            if failed:
                first = failed[0].error
                raise type(first)("; ".join(str(f.error) for f in failed), samples)
            return samples
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _quote(text: str) -> str:
    """A protocol word: quoted, with backslash and quote escaped, never split by spaces."""
    if "\n" in text or "\r" in text:
        raise ProbeAuthError("the password contains a line break")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
