"""The trap port's doorman: a datagram that is not one SNMP message never reaches pysnmp.

Anyone who can reach the trap port can send anything. Two bytes `a0 00` made pysnmp's
dispatcher raise a TypeError, one asyncio traceback per datagram, with no counter moving: a
flood filled the journal. The screen drops what is not one BER SEQUENCE spanning the datagram
and starting with an SNMP version, counts it (`empty`, `undecodable`) and logs it at most once
per source and kind per interval; a failure of pysnmp on what passes is counted the same way."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from probes.snmp import ber

# A datagram that is not SNMP is logged at most once per source and kind in this interval.
LOG_INTERVAL_S = 600.0
# Distinct sources remembered for that; more are logged together as "(many sources)".
SOURCES_REMEMBERED = 1000
_SEQUENCE = 0x30  # an SNMP message is one BER SEQUENCE


class DatagramScreen:
    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.counts: Counter[str] = Counter()  # "empty", "undecodable"
        self._logged: dict[tuple[str, str], float] = {}  # (source, kind) → when logged

    def admit(self, datagram: bytes, source: str) -> bool:
        """Whether a datagram may go on to pysnmp; what may not is counted and logged."""
        if not datagram:
            self.seen("empty", source, "an empty datagram")
            return False
        try:
            tag, start, stop = ber.read_header(datagram, 0, len(datagram))
            if tag != _SEQUENCE or stop != len(datagram):
                raise ber.BerError(f"not one SNMP message (tag 0x{tag:02x})")
            version, _ = ber.read_int(datagram, start, stop)
            if version not in (0, 1, 3):
                raise ber.BerError(f"unknown SNMP version {version}")
        except ber.BerError as exc:
            self.seen("undecodable", source, str(exc))
            return False
        return True

    def seen(self, kind: str, source: str, detail: str) -> None:
        self.counts[kind] += 1
        key = (source, kind)
        if key not in self._logged and len(self._logged) >= SOURCES_REMEMBERED:
            key = ("(many sources)", kind)
        now = time.monotonic()
        last = self._logged.get(key)
        if last is not None and now - last < LOG_INTERVAL_S:
            return
        self._logged[key] = now
        self.log.warning(
            "event=snmp_trap_undecodable source=%s kind=%s detail=%r (counted in"
            " roomwatch_traps_total{outcome=%s}; not logged again for %.0f min)",
            key[0],
            kind,
            detail[:200],
            kind,
            LOG_INTERVAL_S / 60,
        )


def screened(transport_cls: Any, screen: DatagramScreen) -> Any:
    """pysnmp's UDP transport class with the screen in front, and a failure inside pysnmp's
    handling of a datagram counted as undecodable instead of an asyncio traceback."""

    class Screened(transport_cls):  # type: ignore[misc,valid-type]
        def datagram_received(self, datagram: bytes, address: Any) -> None:
            source = str(address[0]) if address else "unknown"
            if not screen.admit(datagram, source):
                return
            callback = self._callback_function
            if callback is not None:
                self.loop.call_soon(_deliver, callback, self, address, datagram, source)

    def _deliver(callback: Any, transport: Any, address: Any, datagram: bytes, source: str) -> None:
        try:
            callback(transport, address, datagram)
        except Exception as exc:  # pysnmp failed on it: the datagram's fault, not ours
            screen.seen("undecodable", source, f"SNMP engine: {type(exc).__name__}")

    return Screened
