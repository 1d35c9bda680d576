"""Samples to InfluxDB line protocol: the mapping Grafana and PromQL users query by.

One sample is one line. The metric name is split at its first dot:

    battery.charge = 95 on ups-1 (site bj-1, kind ups)
      -> battery,device=ups-1,kind=ups,site=bj-1 charge=95.0 1763800000000

    measurement = the part before the first dot        (`battery`, `ups`, `device`, `http`)
    field       = the rest, further dots as underscores (`charge`, `status`, `spool_depth`)
    a metric without a dot (SNMP MIB names)             -> measurement = the name, field `value`

so VictoriaMetrics and InfluxDB's Prometheus-style views name the series `battery_charge`,
`ups_load`, `device_up`, `roomwatch_spool_depth`, `ifHCInOctets_value`.

Tags: `device` (the inventory id), the device's inventory tags given by the daemon (`site`,
`kind`), then the sample's labels; a label named like one of those is written `label_<name>`.
Empty tag values are left out (line protocol has no empty tag). Tags are sorted by key.

Names InfluxDB refuses are renamed, never dropped: it discards a point with a tag or field key
`time` (or `_field`, `_measurement`) and reserves every name starting with `_`, and a line
starting with `#` is a comment. So a label `time` is written `label_time`, a field `time`
(NUT's `ups.time`) `field_time`, and a metric `_x.y` or `#x.y` goes to measurement
`metric__x` / `metric_#x`.

Fields: numbers and booleans are written as floats (`1.0`/`0.0` for booleans), so a metric never
changes field type between probes (InfluxDB rejects a write whose field type differs from the
stored one); integers are exact up to 2**53. Strings (UPS states such as "OL CHRG") are string
fields; VictoriaMetrics stores them as 0, InfluxDB keeps them. NaN and infinities cannot be
written in line protocol: `encode_sample` returns None and the sink counts them.
Not written: `unit` and `note` (details, not identity; a changing tag would split the series).

Timestamps are integer milliseconds (write precision `ms`). A sample stamped 0 takes the time it
was accepted. Newlines in names and values become spaces (line protocol is line-based)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from core.sample import Sample

TagsFor = Callable[[str], Mapping[str, str]]

PRECISION = "ms"

_MEASUREMENT_ESCAPES = str.maketrans({"\\": "\\\\", ",": "\\,", " ": "\\ ", "\n": " ", "\r": " "})
_KEY_ESCAPES = str.maketrans(
    {"\\": "\\\\", ",": "\\,", "=": "\\=", " ": "\\ ", "\n": " ", "\r": " "}
)
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": " ", "\r": " "})


def _reserved(key: str) -> bool:
    """A tag or field key InfluxDB discards the point for, or keeps for itself."""
    return key == "time" or key.startswith("_")


def split_metric(metric: str) -> tuple[str, str]:
    """(measurement, field) of a metric name."""
    head, dot, rest = metric.partition(".")
    if not dot or not head or not rest:
        head, rest = metric, "value"
    field = rest.replace(".", "_")
    if head.startswith(("_", "#")):
        head = f"metric_{head}"
    return head, f"field_{field}" if _reserved(field) else field


def _key(text: str) -> str:
    return text.translate(_KEY_ESCAPES)


def field_value(value: object) -> str | None:
    """The field value as line protocol text, or None when it cannot be written."""
    if isinstance(value, str):
        return '"' + value.translate(_STRING_ESCAPES) + '"'
    if isinstance(value, bool):
        return "1.0" if value else "0.0"
    if isinstance(value, int | float):
        number = float(value)
        return repr(number) if math.isfinite(number) else None
    return None


def tag_set(
    device: str, device_tags: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, str]:
    """The tags of one line, before escaping (empty values dropped)."""
    tags = {"device": device}
    for key, value in device_tags.items():
        if key != "device" and not _reserved(key):
            tags[key] = value
    for key, value in labels.items():
        tags[f"label_{key}" if key in tags or _reserved(key) else key] = value
    return {k: v for k, v in tags.items() if k and v}


def metric_parts(metric: str) -> tuple[str, str]:
    """The escaped measurement and ` field=` of a metric: a line's text around its tags."""
    measurement, field = split_metric(metric)
    return measurement.translate(_MEASUREMENT_ESCAPES), f" {_key(field)}="


def tag_text(device: str, device_tags: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """`,key=value…` of a line: its escaped tags, sorted."""
    tags = tag_set(device, device_tags, labels)
    return "".join(f",{_key(k)}={_key(tags[k])}" for k in sorted(tags))


def series_prefix(
    metric: str, device: str, device_tags: Mapping[str, str], labels: Mapping[str, str]
) -> str:
    """`measurement,tags field=` of a series: everything of a line but the value and time."""
    measurement, field = metric_parts(metric)
    return f"{measurement}{tag_text(device, device_tags, labels)}{field}"


def encode_sample(
    sample: Sample, device_tags: Mapping[str, str] | None = None, default_ts: float = 0.0
) -> str | None:
    """One line (without newline), or None for a value line protocol cannot carry."""
    value = field_value(sample.value)
    if value is None or not sample.metric:
        return None
    prefix = series_prefix(sample.metric, sample.device, device_tags or {}, sample.labels)
    ts = sample.ts if sample.ts > 0 else default_ts
    return f"{prefix}{value} {round(ts * 1000)}"


class LineEncoder:
    """Encodes samples, remembering the escaped text of each metric name and of each tag set
    (escaping is most of the cost, and the same names and tag sets come back every poll).
    Tag sets are cached, not whole series: the samples of one table row (an interface's
    twenty metrics) share one entry, so the cache stays small at 5,000 devices and never
    thrashes. `tags_for` answers are cached too: `refresh_tags()` (the sink calls it once a
    minute) drops what changed, and the devices no longer encoded.
    Memory is bounded by `max_series` (distinct tag sets; metric names alike)."""

    def __init__(self, tags_for: TagsFor | None = None, max_series: int = 500_000) -> None:
        self.tags_for = tags_for
        self.max_series = max_series
        self._metrics: dict[str, tuple[str, str]] = {}
        # device → labels as one flat tuple (the names, then the values: its length says
        # where they part) → escaped tag text (a device's entries go when its tags do). A
        # port's three labels as a tuple of pairs were four tuples, 300 bytes a row kept for
        # every device; flat, 100.
        self._tag_texts: dict[str, dict[tuple[str, ...], str]] = {}
        self._tag_count = 0
        self._device_tags: dict[str, Mapping[str, str]] = {}
        self._used: set[str] = set()  # devices encoded since the last refresh
        self._used_before: set[str] = set()  # and in the refresh period before

    def refresh_tags(self) -> int:
        """Ask `tags_for` again for every device seen, and forget the tag texts of those
        whose inventory tags changed (a device moved to another site). Returns how many.
        The rest of the cache stays: clearing it all every minute re-escaped every tag set
        at every poll of a room polled once a minute."""
        changed = 0
        recent = self._used | self._used_before
        for device in [d for d in self._tag_texts if d not in recent]:  # gone, or rarely seen
            self._tag_count -= len(self._tag_texts.pop(device))
            self._device_tags.pop(device, None)
        for device, old in list(self._device_tags.items()):
            if self._lookup(device) != old:
                del self._device_tags[device]
                self._tag_count -= len(self._tag_texts.pop(device, {}))
                changed += 1
        self._used_before, self._used = self._used, set()
        return changed

    def cache_size(self) -> int:
        """Entries held (metric names and tag sets)."""
        return len(self._metrics) + self._tag_count

    def _lookup(self, device: str) -> Mapping[str, str]:
        if self.tags_for is None:
            return {}
        try:
            return dict(self.tags_for(device))
        except Exception:  # an inventory lookup must not cost a sample
            return {}

    def _tags(self, device: str) -> Mapping[str, str]:
        tags = self._device_tags.get(device)
        if tags is None:
            tags = self._device_tags[device] = self._lookup(device)
        return tags

    def _tag_text(self, device: str, labels: Mapping[str, str]) -> str:
        self._used.add(device)
        texts = self._tag_texts.get(device)
        if texts is None:
            texts = self._tag_texts[device] = {}
        key = (*labels, *labels.values())
        text = texts.get(key)
        if text is None:
            if self._tag_count >= self.max_series:
                self._tag_texts.clear()
                self._tag_count = 0
                texts = self._tag_texts[device] = {}
            text = texts[key] = tag_text(device, self._tags(device), labels)
            self._tag_count += 1
        return text

    def encode(self, samples: Iterable[Sample], default_ts: float = 0.0) -> tuple[list[str], int]:
        """Lines for the samples that can be written, and how many could not (non-finite
        numbers, or not a Sample at all: a probe bug must not block the spool)."""
        lines: list[str] = []
        skipped = 0
        metrics = self._metrics
        # Samples of one table row share one labels dict (probes build one per row): within
        # this call (the samples, and so their dicts, are alive) its id finds its tag text
        # without building the key. The device is checked: a dict may be shared more widely.
        by_dict: dict[int, tuple[str, str]] = {}
        # A poll's samples share one time stamp: its text is made once, not per sample.
        last_ts: float | None = None
        ts_text = ""
        last_labels: object = None
        last_device: object = None
        last_tags = ""
        for sample in samples:
            try:
                raw = sample.value
                if type(raw) is float:  # most readings: the plain path's answer, inlined
                    value = repr(raw) if raw - raw == 0.0 else None  # nan, ±inf: not finite
                elif type(raw) is int:  # counters (too large for a float: OverflowError)
                    value = repr(float(raw))
                else:
                    value = field_value(raw)
                metric = sample.metric
                if value is None or not metric:
                    skipped += 1
                    continue
                parts = metrics.get(metric)
                if parts is None:
                    if len(metrics) >= self.max_series:
                        metrics.clear()
                    parts = metrics[metric] = metric_parts(metric)
                device, labels = sample.device, sample.labels
                if labels is last_labels and device is last_device:
                    tags = last_tags  # the next sample of the same row
                else:
                    known = by_dict.get(id(labels))
                    if known is not None and known[0] == device:
                        tags = known[1]
                    else:
                        tags = self._tag_text(device, labels)
                        by_dict[id(labels)] = (device, tags)
                    last_labels, last_device, last_tags = labels, device, tags
                ts = sample.ts if sample.ts > 0 else default_ts
                if ts != last_ts:
                    last_ts, ts_text = ts, str(round(ts * 1000))
                lines.append(f"{parts[0]}{tags}{parts[1]}{value} {ts_text}")
            except Exception:
                skipped += 1
        return lines, skipped


def encode_samples(
    samples: Iterable[Sample], tags_for: TagsFor | None = None, default_ts: float = 0.0
) -> tuple[list[str], int]:
    """Lines for the samples that can be written, and how many could not."""
    return LineEncoder(tags_for).encode(samples, default_ts)
