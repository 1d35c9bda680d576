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
from dataclasses import dataclass, field
from typing import Any

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


# A row's counter readings lie flat in one list, READING entries per slot: value (None: no
# reading), time, sysUpTime, poll number. A Last object per counter was 64 bytes besides its
# value, 250,000 of them at 1,000 switches; the time, uptime and poll of one poll are the
# same objects for all of a row's counters, so in the list they cost a reference each.
READING = 4
VALUE, TS, UPTIME, SEEN = range(READING)


@dataclass(slots=True)
class RowMemory:
    """What the compiled table path (`table_plan`) remembers of one table row between polls:
    its labels (the same dict poll after poll, as they follow from the row's raw label
    values) and its counters' last readings, READING entries for each slot the table's plan
    gives a metric name."""

    labels: dict[str, str]
    label_key: tuple[tuple[str, str], ...]
    counters: list[Any]  # flat: READING entries per slot (see READING)
    seen: int
    slot_names: tuple[str, ...]  # the metric name of each counter slot

    def reading(self, slot: int) -> list[Any]:
        """The slot's [value, time, uptime, poll] (a copy; value None when never read)."""
        return self.counters[slot * READING : slot * READING + READING]


@dataclass(slots=True)
class TableMemory:
    """The rows of one table: by their raw label values (`table_plan`'s row key), and by
    their labels, so a row whose raw values changed but whose labels did not (trailing NUL
    bytes, say) keeps its counters, as a series keyed by its labels does."""

    by_raw: dict[Hashable, RowMemory] = field(default_factory=dict)
    by_labels: dict[tuple[tuple[str, str], ...], RowMemory] = field(default_factory=dict)
    changed: bool = False  # a row came or went this poll: by_labels is made again after it
    layout: Hashable = None  # what the rows were made for (`table_plan.TablePlan.layout`)

    def forget_unseen(self, current: int) -> None:
        stale = [k for k, v in self.by_raw.items() if v.seen != current]
        for key in stale:
            del self.by_raw[key]
        if stale or self.changed:
            self.by_labels = {row.label_key: row for row in self.by_raw.values()}
            self.changed = False


class CounterRates:
    """Remembers the last reading of each counter series of one device: by series key for
    `rate`, and by table row for the compiled table path (`rows`)."""

    def __init__(self) -> None:
        self._last: dict[Hashable, Last] = {}
        self._poll = 0
        # table identity → its rows; rows not read in a poll are dropped after it
        self.rows: dict[Hashable, TableMemory] = {}

    @property
    def poll(self) -> int:
        """The number of the current poll (the one `begin_poll` started)."""
        return self._poll

    def begin_poll(self) -> None:
        self._poll += 1

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
            if not table.by_raw:
                del self.rows[table_key]

    def __len__(self) -> int:
        return len(self._last) + sum(
            sum(
                1
                for i in range(0, len(row.counters), READING)
                if row.counters[i + VALUE] is not None and row.counters[i + SEEN] == self._poll
            )
            for table in self.rows.values()
            for row in table.by_raw.values()
        )
