"""The latest reading of every series, for the API, the status page and the reports.

Kept as each probe's last poll, column by column (`PollColumns`): the poll's metric names,
units, label dicts and values, and its timestamp once. A Sample object costs 96 bytes on
top of its value (600 a switch: 58 MB at 1,000 switches); the columns cost at most 16 bytes
a reading (the label column points at the dicts a table row's samples share; the metric and
unit columns, and a label column of the very same dicts, are shared by every device whose
poll has the same sequence, e.g. switches of one model), and the values are packed
(`collector.packed_values`: 8 bytes a number instead of a 24-32 byte object, the kinds
column shared by polls whose values have the same types). Sample objects are made again
only when a reader asks (a page view, a scrape, a report), exactly as the poll had them:
same order, values, labels, units, times and notes.

Readings a failed poll does not bring (everything but `device.up` and `device.poll_seconds`)
stay from the last answered poll, so the board shows the last known values, stamped with
their time. A series that an answered poll no longer has (a port removed) is gone with it, and
a device removed from the inventory is forgotten at the reload: the memory follows the
inventory, not the history. Samples from elsewhere (traps, the daemon's own figures) are kept
per series, as Samples."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from itertools import repeat
from operator import attrgetter, is_
from typing import TypeVar, cast

from collector.packed_values import PackedValues, kinds_of, pack
from core.sample import Sample, Value

SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]
Column = TypeVar("Column", bound=Hashable)  # a tuple of names or units, or kinds bytes

_metric, _unit, _labels, _value, _ts, _note, _device = (
    attrgetter(name) for name in ("metric", "unit", "labels", "value", "ts", "note", "device")
)


class PollColumns:
    """One poll's samples of one device as columns. Made by `ColumnStore.columns`."""

    __slots__ = ("device", "labels", "metrics", "notes", "ts", "units", "values")

    def __init__(
        self,
        device: str,
        metrics: tuple[str, ...],
        units: tuple[str | None, ...],
        labels: tuple[dict[str, str], ...],
        values: PackedValues | tuple[Value, ...],
        ts: float | tuple[float, ...],
        notes: dict[int, str] | None,
    ) -> None:
        self.device = device
        self.metrics = metrics
        self.units = units
        self.labels = labels
        self.values = values
        self.ts = ts  # one time for the whole poll (the usual case), else one per sample
        self.notes = notes  # position → note, for the few samples that have one

    def __len__(self) -> int:
        return len(self.values)

    def samples(self) -> Iterator[Sample]:
        count = len(self.values)
        times: Iterable[float] = self.ts if isinstance(self.ts, tuple) else repeat(self.ts, count)
        notes: Iterable[str | None] = repeat(None, count)
        if self.notes is not None:
            notes = (self.notes.get(i) for i in range(count))
        return map(
            Sample,
            repeat(self.device, count),
            self.metrics,
            self.values,
            self.labels,
            self.units,
            times,
            notes,
        )


class ColumnStore:
    """Turns polls into PollColumns, sharing what repeats: a metric or unit column equal to one
    already held is that one (one copy per switch model, not per switch). The label column
    holds the poll's own dicts, which a table row's samples share and the probe holds anyway
    (the interface labels for traps): keeping an older, equal dict instead would keep two
    copies of every label. But the SNMP probe gives equal rows of different devices the same
    dict, so a label column of the very same dicts as one already held (the last poll's, or
    another switch's of the model) is that one. The shared columns are pruned when they
    outnumber the ones in use, so a room whose ports keep changing does not accumulate every
    sequence it ever saw."""

    def __init__(self) -> None:
        self._shared: dict[Hashable, Hashable] = {}
        # label columns by the hash of their dicts' ids (dicts are not hashable; the column
        # found is used only if it holds the very same dicts)
        self._shared_labels: dict[int, tuple[dict[str, str], ...]] = {}
        self._kinds: dict[tuple[type, ...], bytes] = {}  # values' types → their kinds
        self._prune_above = 64

    def columns(
        self, device: str, samples: Sequence[Sample], previous: PollColumns | None = None
    ) -> PollColumns | None:
        """The poll's columns, or None when its samples do not fit them (a sample of another
        device: then the caller keeps the samples as they are). `previous` is the device's
        last poll, whose label column is most likely this one's."""
        count = len(samples)
        if list(map(_device, samples)).count(device) != count:
            return None
        times = tuple(map(_ts, samples))
        first = times[0] if times else 0.0
        ts: float | tuple[float, ...] = times
        if times.count(first) == count and len(set(map(type, times))) <= 1:
            ts = first
        notes_column = list(map(_note, samples))
        notes = None
        if notes_column.count(None) != count:
            notes = {i: note for i, note in enumerate(notes_column) if note is not None}
        return PollColumns(
            device,
            self._share(tuple(map(_metric, samples))),
            self._share(tuple(map(_unit, samples))),
            self._share_labels(tuple(map(_labels, samples)), previous),
            pack(list(map(_value, samples)), self._kinds_for),
            ts,
            notes,
        )

    def _share(self, column: Column) -> Column:
        return cast(Column, self._shared.setdefault(column, column))

    def _kinds_for(self, values: Sequence[Value]) -> bytes:
        """The values' kinds column, by the sequence of their types: the types of a poll
        repeat like its metric names, and a tuple of them is looked up in a third of the
        time it takes to classify them (a 2,674-sample poll: 40 against 130 us)."""
        types = tuple(map(type, values))
        kinds = self._kinds.get(types)
        if kinds is None:
            kinds = self._kinds[types] = kinds_of(types)
        return kinds

    def _share_labels(
        self, column: tuple[dict[str, str], ...], previous: PollColumns | None
    ) -> tuple[dict[str, str], ...]:
        if previous is not None and _same_dicts(previous.labels, column):
            return previous.labels
        key = hash(tuple(map(id, column)))
        found = self._shared_labels.get(key)
        if found is not None and _same_dicts(found, column):
            return found
        self._shared_labels[key] = column
        return column

    def prune(self, in_use: Iterable[PollColumns]) -> None:
        """Forget shared columns no poll holds any more (called by the owner after a poll
        replaced another; costs a pass over the polls only when the table has grown)."""
        if max(len(self._shared), len(self._shared_labels), len(self._kinds)) <= self._prune_above:
            return
        wanted: dict[int, Hashable] = {}
        kinds: set[int] = set()
        labels: dict[int, tuple[dict[str, str], ...]] = {}
        for poll in in_use:
            wanted[id(poll.metrics)] = poll.metrics
            wanted[id(poll.units)] = poll.units
            labels[id(poll.labels)] = poll.labels
            if isinstance(poll.values, PackedValues):
                kinds.add(id(poll.values.kinds))
        self._shared = {column: column for column in wanted.values()}
        self._kinds = {types: k for types, k in self._kinds.items() if id(k) in kinds}
        self._shared_labels = {hash(tuple(map(id, c))): c for c in labels.values()}
        held = max(len(self._shared), len(self._shared_labels), len(self._kinds))
        self._prune_above = max(64, 2 * held)


def _same_dicts(held: tuple[dict[str, str], ...], column: tuple[dict[str, str], ...]) -> bool:
    return len(held) == len(column) and all(map(is_, held, column))


Held = PollColumns | Sequence[Sample]


def _samples_of(held: Held) -> Iterable[Sample]:
    return held.samples() if isinstance(held, PollColumns) else held


class LatestReadings:
    def __init__(self) -> None:
        self._polls: dict[tuple[str, int], Held] = {}  # (device, probe entry)
        self._other: dict[SeriesKey, Sample] = {}
        self._store = ColumnStore()

    def record_poll(self, device: str, entry: int, samples: Sequence[Sample], up: bool) -> None:
        """A poll's samples, of the device's probe entry `entry`."""
        key = (device, entry)
        previous = self._polls.get(key)
        if not up and previous is not None:
            # Few fresh samples (the device.* ones): compare directly instead of building keys.
            fresh = [(s.metric, s.labels) for s in samples]
            kept = [s for s in _samples_of(previous) if (s.metric, s.labels) not in fresh]
            samples = kept + list(samples)
        last = previous if isinstance(previous, PollColumns) else None
        columns = self._store.columns(device, samples, last)
        self._polls[key] = columns if columns is not None else list(samples)
        self._store.prune(p for p in self._polls.values() if isinstance(p, PollColumns))

    def record(self, samples: Iterable[Sample]) -> None:
        """Samples that come on their own (traps, the daemon's figures)."""
        for sample in samples:
            self._other[sample.series_key()] = sample

    def keep_devices(self, devices: Iterable[str]) -> None:
        """Forget the devices no longer in the inventory (after a reload)."""
        wanted = set(devices)
        for key in [k for k in self._polls if k[0] not in wanted]:
            del self._polls[key]
        for series in [k for k in self._other if k[0] not in wanted]:
            del self._other[series]

    def values(self) -> Iterator[Sample]:
        """Every latest reading, one per series (the newest when two sources have it)."""
        yield from self.mapping().values()

    def mapping(self) -> dict[SeriesKey, Sample]:
        """The latest readings by series. Built on each call (a page view or a report): the
        cost is paid by the reader, not by every poll."""
        out: dict[SeriesKey, Sample] = {}
        for held in list(self._polls.values()):
            # The samples of one table row share their labels: sort them once per row.
            last_labels: dict[str, str] | None = None
            sorted_labels: tuple[tuple[str, str], ...] = ()
            for sample in _samples_of(held):
                if sample.labels is not last_labels:
                    last_labels = sample.labels
                    sorted_labels = tuple(sorted(last_labels.items()))
                self._put(out, (sample.device, sample.metric, sorted_labels), sample)
        for key, sample in list(self._other.items()):
            self._put(out, key, sample)
        return out

    @staticmethod
    def _put(out: dict[SeriesKey, Sample], key: SeriesKey, sample: Sample) -> None:
        held = out.get(key)
        if held is None or sample.ts >= held.ts:
            out[key] = sample

    def __len__(self) -> int:
        """Samples held (a series read by two probes counts twice)."""
        return sum(len(s) for s in self._polls.values()) + len(self._other)
