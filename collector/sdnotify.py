"""sd_notify without libsystemd: datagrams to $NOTIFY_SOCKET (READY, RELOADING, STOPPING,
STATUS, WATCHDOG). Silent when not run by systemd.

RELOADING=1 carries MONOTONIC_USEC, as systemd (>= 253, `Type=notify-reload`) wants to tell
this reload from an earlier one; older systemd ignores the extra field."""

from __future__ import annotations

import contextlib
import os
import socket
import time


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self._address: str | None = None
        self._sock: socket.socket | None = None
        if address:
            # A leading "@" names a socket in the abstract namespace.
            self._address = "\0" + address[1:] if address.startswith("@") else address
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def watchdog_interval(self) -> float | None:
        """Half of systemd's WatchdogSec, or None when no watchdog is armed for us."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return None
        try:
            return int(usec) / 1e6 / 2
        except ValueError:
            return None

    def send(self, **fields: str | int) -> None:
        if self._sock is None or self._address is None:
            return
        if "reloading" in fields:
            fields = {
                **fields,
                "monotonic_usec": time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000,
            }
        message = "\n".join(f"{k.upper()}={v}" for k, v in fields.items())
        # systemd gone or its socket full: never let that stop monitoring
        with contextlib.suppress(OSError):
            self._sock.sendto(message.encode(), self._address)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
