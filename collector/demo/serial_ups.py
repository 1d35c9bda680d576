"""A UPS speaking the Megatec ("Q1") protocol on a pseudo-terminal, for the demo room.

The daemon's real `megatec` probe opens the terminal's device path (`/dev/pts/N`) as it would
open /dev/ttyS0; this end answers `Q1` with a status line built from its state, so the fault
script can put it on battery and bring it back. A pty pair from the kernel (os.openpty) needs
nothing installed; socat would give the same pair. Any other command is echoed back, as the
protocol says an unsupported command is."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from dataclasses import dataclass


@dataclass
class UpsState:
    input_voltage: float = 230.1
    output_voltage: float = 229.8
    load: int = 27
    frequency: float = 50.0
    cell_voltage: float = 2.27  # per cell; the probe multiplies by battery_cells
    temperature: float = 29.0
    on_battery: bool = False
    battery_low: bool = False

    def q1(self) -> str:
        bits = f"{int(self.on_battery)}{int(self.battery_low)}000000"
        input_v = 0.0 if self.on_battery else self.input_voltage
        return (
            f"({input_v:05.1f} {self.input_voltage:05.1f} {self.output_voltage:05.1f}"
            f" {self.load:03d} {self.frequency:04.1f} {self.cell_voltage:.2f}"
            f" {self.temperature:04.1f} {bits}\r"
        )


class SerialUps:
    def __init__(self, state: UpsState | None = None) -> None:
        self.state = state or UpsState()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="demo-megatec", daemon=True)
        self.answered = 0

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.2)
            if not ready:
                continue
            try:
                pending += os.read(self._master, 256)
            except OSError:
                return  # the pair was closed
            while b"\r" in pending:
                command, _, pending = pending.partition(b"\r")
                text = command.strip().decode("ascii", "replace")
                reply = self.state.q1() if text == "Q1" else f"{text}\r"
                os.write(self._master, reply.encode("ascii"))
                self.answered += 1
            pending = pending[-256:]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
