"""The `modbus-tcp` and `modbus-rtu` probes (pymodbus 3): read the registers a device profile
lists and turn them into metrics.

It owns the Modbus side: the register-map profile format (`probes/profiles/modbus/*.yaml`:
function 1–4, address, type int16/uint16/int32/uint32/float32/int64/uint64/float64/bool with
byte and word order, scale, offset, unit, metric, status flags), planning contiguous registers
into as few requests as the device allows, decoding, and the links: one connection and one transaction at a time per
RS-485 port or TCP gateway, shared by every device (unit id) behind it, and dropped after a
failure so that the next poll reconnects (an unplugged USB adapter that comes back).

Example inventory entries:

```yaml
probes:
  - type: modbus-rtu
    port: /dev/ttyUSB0
    baudrate: 9600
    unit: 1
    profile: xy-md02          # shipped profile name, or a path to your own .yaml
    interval: 30s
    timeout: 2s
  - type: modbus-tcp
    address: 10.0.0.20:502
    unit: 3
    profile: huawei-ups2000
```
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from core.durations import Duration
from core.hostport import split_host_port
from core.sample import Sample, Value
from probes.base import (
    Probe,
    ProbeError,
    ProbeProtocolError,
    ProbeSettings,
    ProbeTimeout,
    ProbeUnreachable,
)
from probes.device_profiles import load_profile, resolve_setting
from probes.metric_names import MetricNames, names_in_profile
from probes.modbus_link import HEALTH_METRICS, ModbusLink, frame_gap_s
from probes.serial_bus import release, shared

RegisterType = Literal[
    "bool", "int16", "uint16", "int32", "uint32", "float32", "int64", "uint64", "float64"
]
_WIDTH = {"bool": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
_WIDTH.update({"int64": 4, "uint64": 4, "float64": 4})  # energy meters' Wh counters
_STRUCT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}
_STRUCT.update({"int64": ">q", "uint64": ">Q", "float64": ">d"})
# The most one request may ask for (Modbus application protocol, section 6).
MAX_PER_REQUEST = {1: 2000, 2: 2000, 3: 125, 4: 125}


# -- the profile format ---------------------------------------------------------------------


class RegisterField(BaseModel):
    """One value read from the device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    function: Literal[1, 2, 3, 4] = 3
    address: int = Field(ge=0, le=65535)
    type: RegisterType = "uint16"
    byte_order: Literal["big", "little"] = "big"  # within each 16-bit register
    word_order: Literal["big", "little"] = "big"  # of 32/64-bit values: big = high word first
    scale: float = 1.0
    offset: float = 0.0
    unit: str | None = None
    labels: dict[str, str] = {}
    invalid: list[int] = []  # raw values the device sends for "no reading"
    # Status fields: the raw value (`flags`) or its set bits (`bits`, 0 = least significant)
    # become NUT status flags, joined into one sample of `metric` (normally ups.status). A coil
    # or discrete input (bool) is the value 0/1 for `flags`, bit 0 for `bits`.
    flags: dict[int, str] | None = None
    bits: dict[int, str] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RegisterField:
        coils = self.function in (1, 2)
        if coils != (self.type == "bool"):
            raise ValueError("functions 1 and 2 read bits (type: bool); 3 and 4 read registers")
        if self.flags is not None and self.bits is not None:
            raise ValueError("give either flags (by value) or bits (by bit number), not both")
        top = 16 * _WIDTH[self.type] - 1 if self.type != "bool" else 0
        if self.bits is not None and any(not 0 <= bit <= top for bit in self.bits):
            raise ValueError(f"bits of a {self.type} are numbered 0 to {top}")
        return self

    @property
    def width(self) -> int:
        return _WIDTH[self.type]

    @property
    def is_status(self) -> bool:
        return self.flags is not None or self.bits is not None


class ModbusProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    # Some devices refuse long reads or reads across undefined registers.
    max_registers_per_read: int = Field(default=125, ge=1, le=125)
    max_gap: int = Field(default=0, ge=0, le=100)  # undefined registers a read may span
    fields: list[RegisterField] = Field(min_length=1)


def load_modbus_profile(name: str) -> ModbusProfile:
    return load_profile("modbus", name, ModbusProfile)


# -- planning and decoding (pure) -----------------------------------------------------------


@dataclass(frozen=True)
class ReadRequest:
    function: int
    address: int
    count: int
    fields: tuple[RegisterField, ...]


def plan_reads(fields: Sequence[RegisterField], max_count: int, max_gap: int) -> list[ReadRequest]:
    """Group fields into as few requests as the limits allow: same function, addresses
    contiguous (or at most `max_gap` unused registers apart), at most `max_count` per read."""
    plan: list[ReadRequest] = []
    for function in sorted({f.function for f in fields}):
        limit = min(max_count, MAX_PER_REQUEST[function])
        if function in (1, 2):
            limit = MAX_PER_REQUEST[function]
        group: list[RegisterField] = []
        start = end = 0
        for f in sorted((f for f in fields if f.function == function), key=lambda f: f.address):
            f_end = f.address + f.width
            if group and f.address - end <= max_gap and max(end, f_end) - start <= limit:
                group.append(f)
                end = max(end, f_end)
                continue
            if group:
                plan.append(ReadRequest(function, start, end - start, tuple(group)))
            group, start, end = [f], f.address, f_end
        if group:
            plan.append(ReadRequest(function, start, end - start, tuple(group)))
    return plan


def decode_raw(words: Sequence[int], field: RegisterField) -> int | float:
    """The raw number of a register field from its 16-bit words."""
    ordered = list(words) if field.word_order == "big" else list(reversed(words))
    data = b"".join(w.to_bytes(2, "big") for w in ordered)
    if field.byte_order == "little":
        data = b"".join(data[i : i + 2][::-1] for i in range(0, len(data), 2))
    value: int | float = struct.unpack(_STRUCT[field.type], data)[0]
    return value


def field_samples(
    request: ReadRequest, values: Sequence[int] | Sequence[bool]
) -> list[tuple[RegisterField, Value | list[str] | None]]:
    """Each field of a request with its value (None for an invalid reading; a flag list for a
    status field)."""
    out: list[tuple[RegisterField, Value | list[str] | None]] = []
    if len(values) < request.count:
        raise ProbeProtocolError(
            f"asked for {request.count} values at {request.address}, got {len(values)}"
        )
    for f in request.fields:
        at = f.address - request.address
        if f.type == "bool":
            if not f.is_status:
                out.append((f, bool(values[at])))
                continue
            unsigned = int(bool(values[at]))  # a status coil: 0 or 1
            raw: int | float = unsigned
        else:
            words = [int(v) for v in values[at : at + f.width]]
            raw = decode_raw(words, f)
            unsigned = int.from_bytes(b"".join(w.to_bytes(2, "big") for w in words), "big")
        if unsigned in f.invalid or raw in f.invalid or not math.isfinite(raw):
            # NaN/inf: what float32 sensors send for "no reading"; never a value to store
            out.append((f, None))
        elif f.flags is not None:
            flag = f.flags.get(int(raw))
            out.append((f, flag.split() if flag else []))
        elif f.bits is not None:
            out.append((f, [flag for bit, flag in sorted(f.bits.items()) if int(raw) >> bit & 1]))
        elif f.scale == 1 and f.offset == 0:
            out.append((f, raw))
        else:
            value = raw * f.scale + f.offset
            if isinstance(value, float):
                value = round(value, 6)  # 0.1 scale: 23.5, not 23.500000000000004
            out.append((f, value))
    return out


def to_samples(
    device: str,
    decoded: Sequence[tuple[RegisterField, Value | list[str] | None]],
    now: float,
) -> list[Sample]:
    samples: list[Sample] = []
    status: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = {}
    for f, value in decoded:
        if value is None:
            continue
        if isinstance(value, list):
            key = (f.metric, tuple(sorted(f.labels.items())))
            flags = status.setdefault(key, [])
            flags.extend(v for v in value if v not in flags)
            continue
        samples.append(Sample(device, f.metric, value, dict(f.labels), f.unit, now))
    for (metric, labels), flags in status.items():
        samples.append(Sample(device, metric, " ".join(flags), dict(labels), None, now))
    return samples


# -- links: one connection and one transaction at a time per port or gateway ----------------


# -- settings and probes --------------------------------------------------------------------


class _ModbusSettings(ProbeSettings):
    unit: int = Field(default=1, ge=0, le=255)
    profile: str
    # How long to wait for one answer (a poll may take several requests; `timeout` bounds all).
    response_timeout: Duration = Field(default=1.0, gt=0, le=60)

    def request_wait_s(self) -> float:
        return min(self.response_timeout, self.timeout * 0.9)

    @field_validator("profile")
    @classmethod
    def _profile_loads(cls, name: str, info: ValidationInfo) -> str:
        name = resolve_setting(name, info.context)
        load_modbus_profile(name)  # ValueError names the file and the problem
        return name


class ModbusTcpSettings(_ModbusSettings):
    address: str  # host:port; port 502 when left out

    @field_validator("address")
    @classmethod
    def _host_port(cls, address: str) -> str:
        split_address(address)
        return address


class ModbusRtuSettings(_ModbusSettings):
    # 0 is broadcast on a serial bus: no device answers it, and pymodbus would accept any
    # unit's frame as the reply. 248-255 are reserved.
    unit: int = Field(default=1, ge=1, le=247)
    port: str
    baudrate: int = Field(default=9600, gt=0)
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1


def split_address(address: str, default_port: int = 502) -> tuple[str, int]:
    return split_host_port(address, default_port)


class _ModbusProbe(Probe):
    settings_model: ClassVar[type[ProbeSettings]]

    @classmethod
    def metric_names(cls, settings: ProbeSettings) -> MetricNames:
        assert isinstance(settings, _ModbusSettings)
        profile = load_modbus_profile(settings.profile)
        return MetricNames(names_in_profile(profile) | frozenset(HEALTH_METRICS.values()))

    def __init__(self, device: str, settings: ProbeSettings) -> None:
        super().__init__(device, settings)
        assert isinstance(settings, _ModbusSettings)
        self.unit = settings.unit
        self.profile = load_modbus_profile(settings.profile)
        self.plan = plan_reads(
            self.profile.fields, self.profile.max_registers_per_read, self.profile.max_gap
        )
        self._held: ModbusLink | None = None
        self._order = {id(f): i for i, f in enumerate(self.profile.fields)}

    def _link_key(self) -> tuple[str, str]:
        raise NotImplementedError

    def exclusive_resource(self) -> str | None:
        # One transaction at a time on an RS-485 bus or through a Modbus TCP gateway.
        kind, where = self._link_key()
        return f"serial:{where}" if kind == "modbus-rtu" else f"{kind}:{where}"

    def _new_link(self) -> ModbusLink:
        raise NotImplementedError

    def _line(self) -> str:
        return ""

    def _link(self) -> ModbusLink:
        if self._held is None:
            kind, path = self._link_key()
            link = shared(kind, path, self._new_link)
            mine = self._line()
            if link.line != mine:
                # One bus runs at one speed; silently using the first device's settings would
                # make the outcome depend on which device happened to be polled first.
                release(kind, path)
                raise ProbeUnreachable(
                    f"{self.device}: serial port {path} is already in use at {link.line}, "
                    f"not {mine}: devices on one bus must share its line settings"
                )
            self._held = link
        return self._held

    async def close(self) -> None:
        if self._held is not None:
            self._held = None
            link = release(*self._link_key())
            if isinstance(link, ModbusLink):
                link.drop()

    async def poll(self, now: float) -> Sequence[Sample]:
        link = self._link()
        health = link.unit_health(self.unit)
        decoded: list[tuple[RegisterField, Value | list[str] | None]] = []
        try:
            async with asyncio.timeout(self.settings.timeout):
                for request in self.plan:
                    values = await link.read(request, self.unit)
                    decoded.extend(field_samples(request, values))
        except TimeoutError:
            raise ProbeTimeout(
                f"{self.device}: unit {self.unit} on {link.describe} did not answer "
                f"within {self.settings.timeout:g}s",
                health.samples(self.device, now),
            ) from None
        except ProbeError as exc:
            raise type(exc)(f"{self.device}: {exc}", health.samples(self.device, now)) from None
        # Requests go out by function and address; samples and status flags follow the
        # profile's order, as its author wrote them.
        decoded.sort(key=lambda item: self._order[id(item[0])])
        return [*to_samples(self.device, decoded, now), *health.samples(self.device, now)]


class ModbusTcpProbe(_ModbusProbe):
    type_name: ClassVar[str] = "modbus-tcp"
    settings_model: ClassVar[type[ProbeSettings]] = ModbusTcpSettings

    def _link_key(self) -> tuple[str, str]:
        assert isinstance(self.settings, ModbusTcpSettings)
        host, port = split_address(self.settings.address)
        return "modbus-tcp", f"{host}:{port}"

    def _new_link(self) -> ModbusLink:
        from pymodbus.client import AsyncModbusTcpClient

        assert isinstance(self.settings, ModbusTcpSettings)
        host, port = split_address(self.settings.address)
        wait_s = self.settings.request_wait_s()

        def make(trace: Any) -> Any:
            return AsyncModbusTcpClient(
                host, port=port, timeout=wait_s, retries=0, trace_packet=trace
            )

        return ModbusLink(f"{host}:{port}", make)

    @classmethod
    def cli_target(cls, target: str) -> dict[str, object]:
        return {"address": target}


class ModbusRtuProbe(_ModbusProbe):
    type_name: ClassVar[str] = "modbus-rtu"
    settings_model: ClassVar[type[ProbeSettings]] = ModbusRtuSettings

    def _link_key(self) -> tuple[str, str]:
        assert isinstance(self.settings, ModbusRtuSettings)
        return "modbus-rtu", self.settings.port

    def _new_link(self) -> ModbusLink:
        from pymodbus import FramerType
        from pymodbus.client import AsyncModbusSerialClient

        s = self.settings
        assert isinstance(s, ModbusRtuSettings)

        def make(trace: Any) -> Any:
            return AsyncModbusSerialClient(
                s.port,
                framer=FramerType.RTU,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=s.stopbits,
                timeout=s.request_wait_s(),
                retries=0,
                reconnect_delay=0,  # we reconnect on the next poll, not in the background
                trace_packet=trace,
            )

        gap = frame_gap_s(s.baudrate, s.bytesize, s.parity, s.stopbits)
        return ModbusLink(s.port, make, self._line(), gap_s=gap)

    def _line(self) -> str:
        s = self.settings
        assert isinstance(s, ModbusRtuSettings)
        return f"{s.baudrate} {s.bytesize}{s.parity}{s.stopbits}"

    @classmethod
    def cli_target(cls, target: str) -> dict[str, object]:
        return {"port": target}
