"""One Modbus connection (an RS-485 serial port or a TCP gateway) shared by every unit behind
it: one transaction at a time, the silent interval between frames on a serial bus, and the bus
health an RS-485 admin reads (requests, timeouts, garbled answers, exceptions per unit).

Why the gap: Modbus RTU ends a frame by 3.5 character times of silence on the line (Modbus
over serial line, §2.5.1.1; a fixed 1.75 ms above 19200 baud). A master that sends its next
request sooner than that after the previous reply makes slaves with a strict framer (built-in
UARTs without a FIFO timeout, many sensors) read the two frames as one and drop both.

Why garbled is not silent: a reply with a bad CRC, half a frame or noise means the unit (or
another on the bus) is talking but the line is bad: `protocol`, not `timeout`. pymodbus reports
both as "no response", so the link watches the bytes that arrived during the transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from core.sample import Sample
from probes.base import ProbeProtocolError, ProbeTimeout, ProbeUnreachable

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}

# Counters per unit, emitted with every poll (also a failed one) as raw counters.
HEALTH_METRICS = {
    "requests": "modbus.requests",
    "timeouts": "modbus.timeouts",
    "garbled": "modbus.garbled_answers",  # bad CRC, a broken or foreign frame
    "exceptions": "modbus.exceptions",
}


def frame_gap_s(baudrate: int, bytesize: int, parity: str, stopbits: int) -> float:
    """The silent interval between two RTU frames: 3.5 character times at this line setting
    (a character is a start bit, the data bits, a parity bit unless none, the stop bits), and
    1.75 ms at rates above 19200 baud, as the serial-line specification fixes it there."""
    if baudrate > 19200:
        return 0.00175
    bits = 1 + bytesize + (0 if parity == "N" else 1) + stopbits
    return 3.5 * bits / baudrate


@dataclass
class UnitHealth:
    requests: int = 0
    timeouts: int = 0
    garbled: int = 0
    exceptions: int = 0

    def samples(self, device: str, now: float) -> list[Sample]:
        return [
            Sample(device, metric, getattr(self, field), {}, None, now)
            for field, metric in HEALTH_METRICS.items()
        ]


class _NotConnected(Exception):
    pass


def quiet_pymodbus() -> None:
    """pymodbus logs every timeout and refused connection itself; the probe's error already
    says it, and the collector logs failures once per transition (probes never log)."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    logging.getLogger("pymodbus.logging").setLevel(logging.CRITICAL)


class ReadCall(Protocol):
    @property
    def function(self) -> int: ...  # 1 coils, 2 discrete inputs, 3 holding, 4 input registers
    @property
    def address(self) -> int: ...
    @property
    def count(self) -> int: ...


class ModbusLink:
    """A pymodbus client shared by every unit behind one serial port or TCP endpoint.

    `make_client(trace_packet)` builds the client; the link passes its own packet tracer so it
    can tell a garbled answer from silence. `gap_s` is the silence kept before every request
    (0 for TCP)."""

    def __init__(
        self,
        describe: str,
        make_client: Callable[[Callable[[bool, bytes], bytes]], Any],
        line: str = "",
        gap_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.describe = describe
        self._make_client = make_client
        self.line = line  # the serial line settings ("9600 8N1"); "" for TCP
        self.gap_s = gap_s
        self._clock = clock
        self._client: Any = None
        self.lock = asyncio.Lock()
        self.health: dict[int, UnitHealth] = {}
        self._quiet_since = float("-inf")  # when the line last fell silent
        self._bytes_in = 0
        self.cut_short_garbled = False  # the last transaction was cut short after bytes came
        quiet_pymodbus()

    def unit_health(self, unit: int) -> UnitHealth:
        return self.health.setdefault(unit, UnitHealth())

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self._bytes_in += len(data)
        return data

    async def read(self, call: ReadCall, unit: int) -> Sequence[int] | Sequence[bool]:
        from pymodbus.exceptions import ConnectionException, ModbusIOException

        health = self.unit_health(unit)
        async with self.lock:
            try:
                client = await self._connected()
                await self._keep_the_gap()
                reader = {
                    1: client.read_coils,
                    2: client.read_discrete_inputs,
                    3: client.read_holding_registers,
                    4: client.read_input_registers,
                }[call.function]
                health.requests += 1
                before = self._bytes_in
                self.cut_short_garbled = False
                try:
                    response = await reader(call.address, count=call.count, device_id=unit)
                finally:
                    self._quiet_since = self._clock()
            except ModbusIOException:
                if self._bytes_in > before:
                    health.garbled += 1
                    raise ProbeProtocolError(
                        f"garbled answer from unit {unit} on {self.describe} (bad CRC or a"
                        " broken frame: check the wiring, termination and line settings)"
                    ) from None
                health.timeouts += 1
                raise ProbeTimeout(f"no valid answer from unit {unit} on {self.describe}") from None
            except _NotConnected:
                self.drop()
                raise ProbeUnreachable(f"cannot connect to {self.describe}") from None
            except (ConnectionException, OSError):
                self.drop()
                raise ProbeUnreachable(f"connection to {self.describe} lost") from None
            except asyncio.CancelledError:
                # Cancelled mid-transaction (the poll's deadline): the reply may still come, so
                # start the next poll on a fresh connection. Bytes that came in meanwhile make
                # it a garbled answer, not silence, whichever deadline fired first.
                self.cut_short_garbled = self._bytes_in > before
                self.drop()
                raise
        if response.isError():
            health.exceptions += 1
            code = getattr(response, "exception_code", None)
            name = EXCEPTION_NAMES.get(code or 0, "unknown")
            raise ProbeProtocolError(
                f"unit {unit} on {self.describe} answered Modbus exception {code} ({name}) "
                f"to function {call.function} at {call.address}+{call.count}"
            )
        values = response.bits if call.function in (1, 2) else response.registers
        return list(values)

    async def _keep_the_gap(self) -> None:
        wait = self._quiet_since + self.gap_s - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _connected(self) -> Any:
        if self._client is None or not self._client.connected:
            self.drop()
            client = self._make_client(self._trace)
            if not await client.connect():
                client.close()
                raise _NotConnected
            self._client = client
            self._quiet_since = self._clock()  # a new line: let it settle one gap
        return self._client

    def drop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
