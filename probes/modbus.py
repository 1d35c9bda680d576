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
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
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
from probes.device_profiles import resolve_setting
from probes.metric_names import MetricNames, names_in_profile
from probes.modbus_link import HEALTH_METRICS, ModbusLink, frame_gap_s
from probes.modbus_profile import (
    RegisterField,
    field_samples,
    load_modbus_profile,
    plan_reads,
    to_samples,
)
from probes.serial_bus import release, shared

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
            if link.cut_short_garbled:
                health.garbled += 1
                raise ProbeProtocolError(
                    f"{self.device}: garbled answer from unit {self.unit} on {link.describe}"
                    " (bad CRC or a broken frame: check the wiring, termination and line"
                    " settings)",
                    health.samples(self.device, now),
                ) from None
            health.timeouts += 1
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
