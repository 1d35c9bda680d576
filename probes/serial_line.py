"""The `serial-line` probe: the many cheap sensors that speak plain ASCII over RS-232, RS-485 or
USB serial, described by a profile (data, not code) under `probes/profiles/serial/`.

A profile says what to send (or to just listen to a device that streams), how a reply ends, and
how its fields map to metrics: a regular expression with named groups, or delimited fields by
position, each with scale, offset, unit and labels. The port is shared through
`probes.serial_bus` (one transaction at a time; reopened after the adapter comes back).

Example inventory entry:

```yaml
probes:
  - type: serial-line
    port: /dev/ttyUSB1
    profile: ascii-query-th   # shipped profile name, or a path to your own .yaml
    baudrate: 19200           # optional: overrides the profile's line settings
    interval: 30s
    timeout: 3s
```
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Sequence
from typing import ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.sample import Sample
from probes.base import Probe, ProbeProtocolError, ProbeSettings
from probes.device_profiles import load_profile, resolve_setting
from probes.metric_names import MetricNames, names_in_profile
from probes.serial_bus import LineSettings, SerialPort, release_serial_port, serial_port


class LineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    baudrate: int = Field(default=9600, gt=0)
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


class LineField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | int  # regex group name, or 0-based position of a delimited field
    metric: str
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = None
    labels: dict[str, str] = {}


class SerialLineProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    line: LineSpec = LineSpec()
    request: str | None = None  # None: listen to a device that sends on its own
    terminator: str = "\r\n"
    # A reply of several lines (one reading per line) ends at the last one; the regex sees
    # them with their terminators, delimited fields continue across them.
    lines: int = Field(default=1, ge=1, le=64)
    encoding: str = "ascii"
    regex: str | None = None
    delimiter: str | None = None
    fields: list[LineField] = Field(min_length=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _one_parser(self) -> SerialLineProfile:
        if (self.regex is None) == (self.delimiter is None):
            raise ValueError("give exactly one of regex (named groups) or delimiter")
        if not self.terminator:
            raise ValueError("terminator may not be empty")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"encoding {self.encoding!r} is not a known text encoding") from None
        for key in ("request", "terminator"):
            text = getattr(self, key)
            try:
                (text or "").encode(self.encoding)
            except UnicodeEncodeError:
                raise ValueError(f"{key} {text!r} cannot be sent as {self.encoding}") from None
        if self.regex is not None:
            groups = set(re.compile(self.regex).groupindex)
            missing = [f.source for f in self.fields if f.source not in groups]
            if missing:
                raise ValueError(f"fields name groups the regex does not have: {missing}")
        elif any(not isinstance(f.source, int) or f.source < 0 for f in self.fields):
            raise ValueError("with a delimiter, each field's source is its position (0, 1, ...)")
        return self


def load_serial_profile(name: str) -> SerialLineProfile:
    return load_profile("serial", name, SerialLineProfile)


def parse_line(profile: SerialLineProfile, text: str) -> list[tuple[LineField, float]]:
    """The fields of one reply line, scaled. Raises ProbeProtocolError when the line does not
    have the profile's shape or a field is not a number."""
    text = text.removesuffix(profile.terminator)  # also a terminator that is not blank (">")
    if profile.lines > 1 and profile.delimiter is not None:
        text = text.replace(profile.terminator, profile.delimiter)
    line = text.strip()
    raw: dict[str | int, str | None] = {}
    if profile.regex is not None:
        match = re.search(profile.regex, line)
        if match is None:
            raise ProbeProtocolError(f"reply {line[:80]!r} does not match profile {profile.name}")
        raw.update(match.groupdict())
    else:
        assert profile.delimiter is not None
        parts = [p.strip() for p in line.split(profile.delimiter)]
        needed = max(int(f.source) for f in profile.fields) + 1
        if len(parts) < needed:
            raise ProbeProtocolError(
                f"reply {line[:80]!r} has {len(parts)} fields, profile {profile.name} "
                f"needs {needed}"
            )
        raw.update(enumerate(parts))
    out: list[tuple[LineField, float]] = []
    for f in profile.fields:
        token = raw.get(f.source)
        if token is None or token == "":
            continue  # an optional group that did not match: no reading, not an error
        try:
            number = float(token)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):  # "nan", "inf" and words are not readings
            raise ProbeProtocolError(f"field {f.source!r} of reply {line[:80]!r} is not a number")
        out.append((f, round(number * f.scale + f.offset, 6)))
    return out


class SerialLineSettings(ProbeSettings):
    port: str
    profile: str
    # Override the profile's line settings when a unit was configured differently.
    baudrate: int | None = Field(default=None, gt=0)
    bytesize: Literal[7, 8] | None = None
    parity: Literal["N", "E", "O"] | None = None
    stopbits: Literal[1, 2] | None = None

    @field_validator("profile")
    @classmethod
    def _profile_loads(cls, name: str, info: ValidationInfo) -> str:
        name = resolve_setting(name, info.context)
        load_serial_profile(name)
        return name


class SerialLineProbe(Probe):
    type_name: ClassVar[str] = "serial-line"
    settings_model: ClassVar[type[ProbeSettings]] = SerialLineSettings

    @classmethod
    def metric_names(cls, settings: ProbeSettings) -> MetricNames:
        assert isinstance(settings, SerialLineSettings)
        return MetricNames(names_in_profile(load_serial_profile(settings.profile)))

    def __init__(self, device: str, settings: ProbeSettings) -> None:
        super().__init__(device, settings)
        assert isinstance(settings, SerialLineSettings)
        self.cfg = settings
        self.profile = load_serial_profile(settings.profile)
        base = self.profile.line
        self.line = LineSettings(
            baudrate=settings.baudrate or base.baudrate,
            bytesize=settings.bytesize or base.bytesize,
            parity=settings.parity or base.parity,
            stopbits=settings.stopbits or base.stopbits,
        )
        self._serial: SerialPort | None = None

    @classmethod
    def cli_target(cls, target: str) -> dict[str, object]:
        return {"port": target}

    def exclusive_resource(self) -> str | None:
        return f"serial:{self.cfg.port}"  # a serial line carries one exchange at a time

    async def poll(self, now: float) -> Sequence[Sample]:
        if self._serial is None:
            self._serial = serial_port(self.cfg.port, self.line)
        profile = self.profile
        terminator = profile.terminator.encode(profile.encoding)
        try:
            reply = await self._serial.exchange(
                profile.request.encode(profile.encoding) if profile.request else None,
                terminator=terminator,
                read_s=self.cfg.timeout,
                # a streaming device's first bytes may be the tail of a line
                discard_first_line=profile.request is None,
                idle_gap=0.5,
                max_bytes=1024 * profile.lines,
                lines=profile.lines,
            )
        except ProbeProtocolError as exc:
            raise ProbeProtocolError(f"{self.device}: {exc}") from None
        if not reply.terminated:
            raise ProbeProtocolError(
                f"{self.device}: incomplete reply on {self.cfg.port} "
                f"(no {profile.terminator!r} after {reply.data[:60]!r})"
            )
        try:
            text = reply.data.decode(profile.encoding)
        except UnicodeDecodeError:
            raise ProbeProtocolError(
                f"{self.device}: reply is not {profile.encoding} text: {reply.data[:60]!r}"
            ) from None
        try:
            fields = parse_line(profile, text)
        except ProbeProtocolError as exc:
            raise ProbeProtocolError(f"{self.device}: {exc}") from None
        return [Sample(self.device, f.metric, v, dict(f.labels), f.unit, now) for f, v in fields]

    async def close(self) -> None:
        if self._serial is not None:
            self._serial = None
            release_serial_port(self.cfg.port)
