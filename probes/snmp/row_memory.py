"""What the compiled table path (`table_plan`) remembers of a table's rows between polls.

Two parts, kept apart because they live differently:

- `RowLabels`: a row's labels as they follow from its raw label values under one plan (the
  labels dict the samples carry, its sorted items, the raw key they came from). The same raw
  values give the same labels on every device, so one object serves every device that has
  such a row (`SharedRows`, weakly held: it goes when the last device's row does). Switches
  of one model name their ports alike (ifIndex, ifName, ifDescr; ifAlias mostly empty), so
  most rows of a room share their labels; a row with a description of its own still shares
  its strings (interned).
- `TableMemory`: one device's rows of one table: which `RowLabels` each row is, and its
  counters' last readings as flat arrays (a machine integer each, not a Python int in a
  list of four references per counter). A reading's time and sysUpTime are those of the
  poll it was read in, the same for the whole table, so they are kept once per table for
  the last poll, not per counter; a counter read in an older poll has no usable previous
  reading anyway (it is taken as forgotten, as `CounterRates` forgets series).

Per 31-port switch this is about 5 KB instead of 55 KB (bench/README.md, "Memory at 1,000
devices, third pass").
"""

from __future__ import annotations

import sys
import weakref
from array import array
from collections.abc import Hashable, Mapping
from itertools import chain

# A poll's labels as a key: their names and values sorted, flat (name, value, name, value,
# ...). The same identity as the sorted pairs (names are unique, so the pairs are the even
# and odd places), in one tuple instead of one per pair: 120 bytes for a port's four labels
# instead of 312, kept for every row whose labels are its own.
LabelKey = tuple[str, ...]


def label_key_of(labels: Mapping[str, str]) -> LabelKey:
    return tuple(chain.from_iterable(sorted(labels.items())))


U64_MAX = (1 << 64) - 1
NEVER = -1  # the poll number of a counter slot never read (polls count from 1)
# Poll numbers are kept in 4 bytes: `CounterRates` counts them round at POLL_WRAP (68 years
# of polls a second; the poll after the wrap makes no rates, as after a restart).
POLL_TYPE = "i"
POLL_WRAP = (1 << 31) - 1


class RowLabels:
    """The labels of a row with raw key `raw`, shared read-only by every device's row that
    has that key under one plan (see the module doc)."""

    __slots__ = ("__weakref__", "label_key", "labels", "raw")

    def __init__(self, raw: Hashable, labels: dict[str, str], label_key: LabelKey) -> None:
        self.raw = raw
        self.labels = labels
        self.label_key = label_key


class SharedRows:
    """One plan's `RowLabels` by raw key, held only while some device's row holds them."""

    __slots__ = ("_rows",)

    def __init__(self) -> None:
        self._rows: weakref.WeakValueDictionary[Hashable, RowLabels] = weakref.WeakValueDictionary()

    def get(self, raw: Hashable) -> RowLabels | None:
        return self._rows.get(raw)

    def add(self, raw: Hashable, labels: dict[str, str]) -> RowLabels:
        """The shared row for `raw` with these freshly made labels; the label texts are
        interned, so equal port names on rows that differ elsewhere are one string."""
        interned = {sys.intern(k): sys.intern(v) for k, v in labels.items()}
        row = RowLabels(raw, interned, label_key_of(interned))
        self._rows[raw] = row
        return row

    def __len__(self) -> int:
        return len(self._rows)


class TableMemory:
    """One device's rows of one table (see the module doc). Row `n`'s counter for slot `s`
    of the plan's `slot_names` is at `n * len(slot_names) + s` in `values` and `seen`."""

    __slots__ = (
        "_carry",
        "_previous_rows",
        "before_now",
        "before_uptime",
        "by_raw",
        "layout",
        "now",
        "odd",
        "poll",
        "row_seen",
        "rows",
        "seen",
        "slot_names",
        "uptime",
        "values",
    )

    def __init__(self, layout: Hashable, slot_names: tuple[str, ...]) -> None:
        self.layout = layout  # what the rows were made for (`table_plan.TablePlan.layout`)
        self.slot_names = slot_names
        self.by_raw: dict[Hashable, int] = {}  # raw key → row number
        self.rows: list[RowLabels] = []
        self.row_seen = array(POLL_TYPE)  # per row: the last poll it was read in
        self.values = array("Q")  # per counter slot: its last reading ...
        self.seen = array(POLL_TYPE)  # ... and the poll it was read in (NEVER: none)
        # slot → reading that is no Counter (a negative INTEGER a profile rates): rare
        self.odd: dict[int, int] | None = None
        self.poll = 0  # the poll this table was last built in, at `now`, `uptime` ...
        self.now = 0.0
        self.uptime: float | None = None
        self.before_now = 0.0  # ... and those of the poll before it
        self.before_uptime: float | None = None
        # the memory this one replaced in this poll (a changed profile), for carrying over
        self._carry: TableMemory | None = None
        self._previous_rows: dict[LabelKey, int] | None = None

    def start(self, poll: int, now: float, uptime: float | None) -> None:
        """Begin poll `poll` of this table (a second call in the same poll changes nothing)."""
        if poll == self.poll:
            return
        self.before_now, self.before_uptime = self.now, self.uptime
        self.poll, self.now, self.uptime = poll, now, uptime

    def replaced_by(self, layout: Hashable, slot_names: tuple[str, ...]) -> TableMemory:
        """A new memory for another layout; its new rows carry their counters over from this
        one's by labels and name (as the general path's series keys do)."""
        fresh = TableMemory(layout, slot_names)
        fresh.poll, fresh.now, fresh.uptime = self.poll, self.now, self.uptime
        fresh.before_now, fresh.before_uptime = self.before_now, self.before_uptime
        fresh._carry = self
        return fresh

    def row_with_labels(self, label_key: LabelKey) -> tuple[TableMemory, int] | None:
        """The row of the last poll with these labels (in the memory this one replaced, if
        any), for a row whose raw values changed but whose labels did not."""
        source = self._carry if self._carry is not None else self
        if source._previous_rows is None:
            # made once per poll at most, and only when a row is new: rows of the last poll
            source._previous_rows = {row.label_key: n for n, row in enumerate(source.rows)}
        found = source._previous_rows.get(label_key)
        return None if found is None else (source, found)

    def add_row(self, shared: RowLabels, poll: int) -> int:
        """A new row, its counters those of the last poll's row with the same labels, if
        there was one; returns its number."""
        before = self.row_with_labels(shared.label_key)  # before this row is one of them
        number = len(self.rows)
        width = len(self.slot_names)
        self.rows.append(shared)
        self.row_seen.append(poll)
        self.by_raw[shared.raw] = number
        if before is None:
            self.values.frombytes(bytes(8 * width))  # zeros; never read while NEVER
            self.seen.extend(array(POLL_TYPE, [NEVER]) * width)
            return number
        source, old = before
        same = source.slot_names == self.slot_names
        for slot, name in enumerate(self.slot_names):
            old_slot = slot if same else _index(source.slot_names, name)
            if old_slot is None:
                self.values.append(0)
                self.seen.append(NEVER)
                continue
            at = old * len(source.slot_names) + old_slot
            self.values.append(source.values[at])
            self.seen.append(source.seen[at])
            if source.odd is not None and at in source.odd:
                self.set_odd(number * width + slot, source.odd[at])
        return number

    def set_odd(self, at: int, value: int) -> None:
        """Keep a reading that does not fit a Counter64 (see `odd`)."""
        if self.odd is None:
            self.odd = {}
        self.odd[at] = value
        self.values[at] = 0

    def forget_unseen(self, current: int) -> None:
        """After poll `current`: drop the rows it did not read (a port gone), so the memory
        follows the device's table, not every row it ever had."""
        self._carry = None
        self._previous_rows = None
        if self.row_seen.count(current) == len(self.rows):
            return
        width = len(self.slot_names)
        keep = [n for n, seen in enumerate(self.row_seen) if seen == current]
        values, seen = array("Q"), array(POLL_TYPE)
        odd: dict[int, int] = {}
        for new, old in enumerate(keep):
            values.extend(self.values[old * width : old * width + width])
            seen.extend(self.seen[old * width : old * width + width])
            if self.odd:
                for slot in range(width):
                    if old * width + slot in self.odd:
                        odd[new * width + slot] = self.odd[old * width + slot]
        self.rows = [self.rows[n] for n in keep]
        self.row_seen = array(POLL_TYPE, [current]) * len(keep)
        self.values, self.seen, self.odd = values, seen, odd or None
        self.by_raw = {row.raw: n for n, row in enumerate(self.rows)}

    def readings_in(self, poll: int) -> int:
        """How many counters were read in `poll`."""
        return self.seen.count(poll)


def _index(names: tuple[str, ...], name: str) -> int | None:
    return names.index(name) if name in names else None
