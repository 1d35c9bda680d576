"""The latest reading of every series, for the API, the status page and the reports.

Kept as each probe's last poll: the poll's own list of samples, held as it came (no copy, no
per-series key), replaced by the next poll. A per-series dict of Sample objects with a sorted
label tuple as key cost about 400 bytes a series, 250 MB at 1,000 switches; the poll's list
costs the samples alone. Readings a failed poll does not bring (everything but `device.up` and
`device.poll_seconds`) stay from the last answered poll, so the board shows the last known
values, stamped with their time. A series that an answered poll no longer has (a port
removed) is gone with it, and a device removed from the inventory is forgotten at the reload:
the memory follows the inventory, not the history. Samples from elsewhere (traps, the daemon's
own figures) are kept per series."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from core.sample import Sample

SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]


class LatestReadings:
    def __init__(self) -> None:
        self._polls: dict[tuple[str, int], Sequence[Sample]] = {}  # (device, probe entry)
        self._other: dict[SeriesKey, Sample] = {}

    def record_poll(self, device: str, entry: int, samples: Sequence[Sample], up: bool) -> None:
        """A poll's samples, of the device's probe entry `entry` (the list is kept as it is:
        the caller must not change it afterwards)."""
        key = (device, entry)
        previous = self._polls.get(key)
        if up or previous is None:
            self._polls[key] = samples
            return
        # Few samples (the device.* ones): compare directly instead of building keys.
        fresh = [(s.metric, s.labels) for s in samples]
        self._polls[key] = [s for s in previous if (s.metric, s.labels) not in fresh] + list(
            samples
        )

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
        for samples in list(self._polls.values()):
            for sample in samples:
                self._put(out, sample)
        for sample in list(self._other.values()):
            self._put(out, sample)
        return out

    @staticmethod
    def _put(out: dict[SeriesKey, Sample], sample: Sample) -> None:
        key = sample.series_key()
        held = out.get(key)
        if held is None or sample.ts >= held.ts:
            out[key] = sample

    def __len__(self) -> int:
        """Samples held (a series read by two probes counts twice)."""
        return sum(len(s) for s in self._polls.values()) + len(self._other)
