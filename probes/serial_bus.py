"""Shared serial ports: one open port and one transaction at a time per device path.

Several devices often hang on one RS-485 bus (one /dev/ttyUSBn, several unit ids), and a
request to one must never overlap another's answer. Every probe in the process that names the
same port gets the same `SerialPort`, whose lock serialises whole request/reply transactions.
The port is opened on first use and closed after any I/O error, so an unplugged USB adapter that
comes back under the same path is reopened by the next poll without outside help.

pyserial is blocking; the exchange runs in a worker thread. A threading lock guards the wire as
well as the asyncio lock, because a poll cancelled by the collector leaves its thread running
until the read deadline, and the next transaction must not talk over it.
"""

from __future__ import annotations

import asyncio
import contextlib
import termios
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import serial

from probes.base import ProbeTimeout, ProbeUnreachable

Parity = Literal["N", "E", "O"]


@dataclass(frozen=True, slots=True)
class LineSettings:
    """How a serial line is framed on the wire."""

    baudrate: int = 9600
    bytesize: Literal[7, 8] = 8
    parity: Parity = "N"
    stopbits: Literal[1, 2] = 1


@dataclass(frozen=True, slots=True)
class Reply:
    """What came back: the bytes, and whether the terminator was seen (else the read ended
    on an idle gap, a size limit or the deadline)."""

    data: bytes
    terminated: bool


class SerialPort:
    """One serial device path, opened lazily and reopened after failures."""

    def __init__(self, path: str, line: LineSettings) -> None:
        self.path = path
        self.line = line
        self.lock = asyncio.Lock()
        self._wire = threading.Lock()
        self._serial: serial.Serial | None = None

    async def exchange(
        self,
        request: bytes | None,
        *,
        terminator: bytes | None,
        read_s: float,
        idle_gap: float = 0.3,
        max_bytes: int = 4096,
        discard_first_line: bool = False,
        lines: int = 1,
    ) -> Reply:
        """Send `request` (or nothing, to listen) and read one reply.

        The read ends at the `lines`-th `terminator`, after `idle_gap` seconds without a byte once something
        arrived (devices that drop the final CR), at `max_bytes`, or at `timeout`. Bytes that
        were waiting before the request are discarded: they belong to an earlier transaction
        (a late answer) or are line noise. With `discard_first_line` (listening to a device that
        streams) everything up to the first terminator is dropped, since it may be a partial line.

        Raises ProbeUnreachable when the port cannot be opened or fails mid-transaction (the
        port is then closed, to be reopened next time), ProbeTimeout when nothing came back."""
        async with self.lock:
            reply = await asyncio.to_thread(
                self._exchange_blocking,
                request,
                terminator,
                read_s,
                idle_gap,
                max_bytes,
                discard_first_line,
                lines,
            )
        if not reply.data:
            raise ProbeTimeout(f"no answer on {self.path} within {read_s:g}s")
        return reply

    def close(self) -> None:
        with self._wire:
            self._close_locked()

    # -- worker thread side

    def _exchange_blocking(
        self,
        request: bytes | None,
        terminator: bytes | None,
        read_s: float,
        idle_gap: float,
        max_bytes: int,
        discard_first_line: bool,
        lines: int = 1,
    ) -> Reply:
        deadline = time.monotonic() + read_s
        with self._wire:
            port = self._open_locked()
            try:
                port.reset_input_buffer()
                if request:
                    port.write(request)
                    port.flush()
                return _read_reply(
                    port, terminator, deadline, idle_gap, max_bytes, discard_first_line, lines
                )
            except (serial.SerialException, OSError, termios.error) as exc:
                # termios.error: the tty vanished under an open port (USB adapter unplugged)
                self._close_locked()
                raise ProbeUnreachable(f"serial port {self.path} failed: {_short(exc)}") from None

    def _open_locked(self) -> serial.Serial:
        if self._serial is not None and self._serial.is_open:
            return self._serial
        try:
            self._serial = serial.Serial(
                self.path,
                baudrate=self.line.baudrate,
                bytesize=self.line.bytesize,
                parity=self.line.parity,
                stopbits=self.line.stopbits,
                timeout=0.05,
                write_timeout=2.0,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._serial = None
            raise ProbeUnreachable(f"cannot open serial port {self.path}: {_short(exc)}") from None
        return self._serial

    def _close_locked(self) -> None:
        if self._serial is not None:
            with contextlib.suppress(Exception):
                self._serial.close()
        self._serial = None


def _read_reply(
    port: serial.Serial,
    terminator: bytes | None,
    deadline: float,
    idle_gap: float,
    max_bytes: int,
    discard_first_line: bool,
    lines: int = 1,
) -> Reply:
    buf = bytearray()
    last_byte_at: float | None = None
    skipping = discard_first_line and terminator is not None
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        if last_byte_at is not None and not skipping and now - last_byte_at >= idle_gap:
            break
        port.timeout = min(0.05, deadline - now)
        chunk = port.read(max(1, port.in_waiting))
        if not chunk:
            continue
        last_byte_at = time.monotonic()
        buf += chunk
        if skipping and terminator is not None:
            cut = buf.find(terminator)
            if cut < 0:
                continue
            del buf[: cut + len(terminator)]
            skipping = False
            if not buf:
                last_byte_at = None  # the idle gap counts within the next line only
        if terminator is not None and (end := _end_of_lines(buf, terminator, lines)) > 0:
            return Reply(bytes(buf[:end]), True)
        if len(buf) >= max_bytes:
            break
    # Bytes that never formed a line (a streaming device read at the wrong speed sends only
    # garbage) are returned unterminated: the caller reports what came, not "no answer".
    return Reply(bytes(buf), False)


def _end_of_lines(buf: bytearray, terminator: bytes, lines: int) -> int:
    """Where the `lines`-th terminator in `buf` ends, or -1."""
    end = 0
    for _ in range(lines):
        at = buf.find(terminator, end)
        if at < 0:
            return -1
        end = at + len(terminator)
    return end


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# -- the process-wide registry

_T = TypeVar("_T")


@dataclass
class _Entry:
    obj: Any
    users: int


# Keyed by event loop, because asyncio locks belong to one loop (tests run one loop each).
_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], _Entry]] = (
    weakref.WeakKeyDictionary()
)


def shared(kind: str, path: str, factory: Callable[[], _T]) -> _T:
    """The object of `kind` for `path` in this event loop, made by `factory` the first time.
    Each call counts as one user until `release`."""
    per_loop = _SHARED.setdefault(asyncio.get_running_loop(), {})
    entry = per_loop.get((kind, path))
    if entry is None:
        entry = per_loop[(kind, path)] = _Entry(factory(), 0)
    entry.users += 1
    obj: _T = entry.obj
    return obj


def release(kind: str, path: str) -> Any:
    """Drop one user; returns the object when that was the last user (the caller closes it),
    else None."""
    try:
        per_loop = _SHARED.get(asyncio.get_running_loop(), {})
    except RuntimeError:
        return None
    entry = per_loop.get((kind, path))
    if entry is None:
        return None
    entry.users -= 1
    if entry.users > 0:
        return None
    del per_loop[(kind, path)]
    return entry.obj


def serial_port(path: str, line: LineSettings) -> SerialPort:
    """The shared SerialPort for `path`. All users of one path must agree on its line settings:
    one bus runs at one speed."""
    port = shared("pyserial", path, lambda: SerialPort(path, line))
    if port.line != line:
        release("pyserial", path)
        raise ProbeUnreachable(
            f"serial port {path} is already in use at {_describe(port.line)}, "
            f"not {_describe(line)}: devices on one bus must share its line settings"
        )
    return port


def release_serial_port(path: str) -> None:
    port = release("pyserial", path)
    if isinstance(port, SerialPort):
        port.close()


def _describe(line: LineSettings) -> str:
    return f"{line.baudrate} {line.bytesize}{line.parity}{line.stopbits}"
