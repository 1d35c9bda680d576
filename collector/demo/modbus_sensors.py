"""Temperature/humidity transmitters on a Modbus TCP gateway, for the demo room: pymodbus's
server, one unit per sensor, laid out like the XY-MD02 the shipped profile reads (input
register 1 = temperature × 10, register 2 = humidity × 10). The fault script changes the
registers; the daemon's real `modbus-tcp` probe reads them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
)
from pymodbus.server import ModbusTcpServer

REGISTERS = 8


def _registers(celsius: float, humidity: float) -> tuple[int, int]:
    return round(celsius * 10) & 0xFFFF, round(humidity * 10)  # int16 two's complement, uint16


class ModbusSensors:
    def __init__(self, units: dict[int, tuple[float, float]], host: str, port: int) -> None:
        """`units`: unit id → (°C, %RH) to start with."""
        self._values: dict[int, tuple[float, float]] = dict(units)
        self._pending: set[asyncio.Task[None]] = set()
        devices: dict[int, Any] = {}
        for unit, (celsius, humidity) in units.items():
            # a block starting at 1 serves protocol address 0 as values[0] (pymodbus 3.16),
            # so protocol address N is values[N]
            values = [0] * REGISTERS
            values[1], values[2] = _registers(celsius, humidity)
            block = ModbusSequentialDataBlock(1, values)  # type: ignore[no-untyped-call]
            empty = ModbusSequentialDataBlock(1, [0] * REGISTERS)  # type: ignore[no-untyped-call]
            devices[unit] = ModbusDeviceContext(co=empty, di=empty, ir=block, hr=empty)
        context = ModbusServerContext(devices=devices, single=False)
        self._server = ModbusTcpServer(context, address=(host, port))
        self._task: asyncio.Task[None] | None = None

    def set(self, unit: int, celsius: float, humidity: float) -> None:
        """New readings for a unit (written into the server's registers on the loop)."""
        self._values[unit] = (celsius, humidity)
        task = asyncio.get_running_loop().create_task(
            self._server.async_setValues(unit, 4, 1, list(_registers(celsius, humidity)))
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def get(self, unit: int) -> tuple[float, float]:
        return self._values[unit]

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve_forever(), name="demo-modbus")
        for _ in range(50):  # listening within a moment; a taken port fails the task
            await asyncio.sleep(0.05)
            if self._task.done():
                self._task.result()
            if self._server.is_active():
                return

    async def stop(self) -> None:
        await self._server.shutdown()  # type: ignore[no-untyped-call]
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
