"""The Modbus register-map profile format (`probes/profiles/modbus/*.yaml`) and the pure part
of a Modbus poll: planning contiguous registers into as few requests as the device allows, and
decoding the words that come back into values. The probes and their links are probes/modbus.py
and probes/modbus_link.py."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.sample import Sample, Value
from probes.base import ProbeProtocolError
from probes.device_profiles import load_profile

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
