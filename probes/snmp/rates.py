"""Per-second rates of SNMP counters between two polls, never negative and never absurd.

A Counter32 that goes down has either wrapped past 2^32 or been reset by an agent restart;
a Counter64 that goes down has been reset (it cannot wrap in a machine's lifetime). The
agent's sysUpTime going backwards says "restart" whatever the counters do (unless it is
sysUpTime's own 32-bit wrap after ~497 days). A reset yields no
rate for that interval (the next poll starts afresh); so does a wrap that would mean more
than half the counter's range in one interval, which is a restart in disguise.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from probes.snmp.row_memory import POLL_WRAP, TableMemory

WRAP_32 = 1 << 32
UPTIME_WRAP_S = WRAP_32 / 100.0  # sysUpTime is TimeTicks (1/100 s, 32 bits): ~497 days


def restarted(prev_uptime: float, uptime: float, elapsed: float) -> bool:
    """Whether sysUpTime going from `prev_uptime` to `uptime` (seconds) over `elapsed`
    seconds of our clock means the agent restarted. sysUpTime also goes back when its 32-bit
    TimeTicks wrap after ~497 days of uptime; that is not a restart (the counters carry on),
    recognised by the uptime landing where the wrap puts it (give or take clock jitter)."""
    if uptime >= prev_uptime:
        return False
    expected = prev_uptime + elapsed
    if expected < UPTIME_WRAP_S - 60.0:
        return True
    return abs((expected - UPTIME_WRAP_S) - uptime) > max(60.0, elapsed * 0.25)


@dataclass(slots=True)
class Last:
    """A counter's last reading, updated in place from poll to poll (no allocation per
    counter and poll)."""

    value: int
    ts: float
    uptime: float | None
    seen: int  # the poll it was read in


def advance(
    prev: Last, value: int, bits: int, ts: float, uptime: float | None, poll: int
) -> float | None:
    """Move `prev` on to this reading and return the per-second rate since the one before,
    or None when there is none to trust (time not advancing, restart, reset, wrap too big)."""
    before, before_ts, before_uptime = prev.value, prev.ts, prev.uptime
    prev.value, prev.ts, prev.uptime, prev.seen = value, ts, uptime, poll
    return rate_between(before, before_ts, before_uptime, value, bits, ts, uptime)


def rate_between(
    before: int,
    before_ts: float,
    before_uptime: float | None,
    value: int,
    bits: int,
    ts: float,
    uptime: float | None,
) -> float | None:
    """The per-second rate from one reading to the next (see `advance`)."""
    elapsed = ts - before_ts
    if elapsed <= 0:
        return None
    if (
        uptime is not None
        and before_uptime is not None
        and uptime < before_uptime
        and restarted(before_uptime, uptime, elapsed)
    ):
        return None  # the agent restarted: counters started again from zero
    delta = value - before
    if bits == 64 and delta >= 1 << 63:
        # Half a Counter64's range in one interval (10^17 B/s on any link): garbage or
        # a reset to a huge value. (A Counter32's rise is bounded by 2^32: no guard.)
        return None
    if delta < 0:
        if bits != 32:
            return None
        delta += WRAP_32
        if delta > WRAP_32 // 2:
            return None
    return delta / elapsed


class CounterRates:
    """Remembers the last reading of each counter series of one device: by series key for
    `rate`, and by table row for the compiled table path (`rows`)."""

    def __init__(self) -> None:
        self._last: dict[Hashable, Last] = {}
        self._poll = 0
        # table identity → its rows; rows not read in a poll are dropped after it
        self.rows: dict[Hashable, TableMemory] = {}
        # the interface table's labels as last polled, for the trap receiver
        # (probes/snmp/mapping.py's interface_labels): ifIndex → labels, or the table's rows
        self.interfaces: dict[str, dict[str, str]] | TableMemory | None = None

    @property
    def poll(self) -> int:
        """The number of the current poll (the one `begin_poll` started)."""
        return self._poll

    def begin_poll(self) -> None:
        self._poll = self._poll % POLL_WRAP + 1

    def rate(
        self, key: Hashable, value: int, bits: int, ts: float, uptime: float | None
    ) -> float | None:
        """Record `value` at `ts` (POSIX s); `uptime` is the agent's sysUpTime in seconds when
        known. Returns the per-second rate since the previous reading, or None when there is
        no trustworthy one (first reading, time not advancing, restart, reset)."""
        prev = self._last.get(key)
        if prev is None:
            self._last[key] = Last(value, ts, uptime, self._poll)
            return None
        return advance(prev, value, bits, ts, uptime, self._poll)

    def forget_unseen(self) -> None:
        """Drop series not read in the current poll (an interface that went away), so the
        memory of a long-running daemon does not grow with every port ever seen. A row's
        counter not read in this poll stays in its row's memory, but with its old `seen`,
        which the compiled path takes as "no previous reading" (the same as forgotten)."""
        current = self._poll
        for key in [k for k, v in self._last.items() if v.seen != current]:
            del self._last[key]
        for table_key, table in list(self.rows.items()):
            table.forget_unseen(current)
            if not table.rows:
                del self.rows[table_key]

    def __len__(self) -> int:
        """Counters read in the current poll (the general path's series and the rows')."""
        return len(self._last) + sum(t.readings_in(self._poll) for t in self.rows.values())
