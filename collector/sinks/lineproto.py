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


def series_prefix(
    metric: str, device: str, device_tags: Mapping[str, str], labels: Mapping[str, str]
) -> str:
    """`measurement,tags field=` of a series: everything of a line but the value and time."""
    measurement, field = split_metric(metric)
    tags = tag_set(device, device_tags, labels)
    tag_text = "".join(f",{_key(k)}={_key(tags[k])}" for k in sorted(tags))
    return f"{measurement.translate(_MEASUREMENT_ESCAPES)}{tag_text} {_key(field)}="


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
    """Encodes samples, remembering each series' prefix (the same series come back every
    poll, and escaping tags is most of the cost). `tags_for` answers are cached too; call
    `forget()` when the inventory changes. Memory is bounded by `max_series`."""

    def __init__(self, tags_for: TagsFor | None = None, max_series: int = 200_000) -> None:
        self.tags_for = tags_for
        self.max_series = max_series
        self._prefixes: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}
        self._device_tags: dict[str, Mapping[str, str]] = {}

    def forget(self) -> None:
        self._prefixes.clear()
        self._device_tags.clear()

    def _tags(self, device: str) -> Mapping[str, str]:
        tags = self._device_tags.get(device)
        if tags is None:
            tags = {}
            if self.tags_for is not None:
                try:
                    tags = dict(self.tags_for(device))
                except Exception:  # an inventory lookup must not cost a sample
                    tags = {}
            self._device_tags[device] = tags
        return tags

    def encode(self, samples: Iterable[Sample], default_ts: float = 0.0) -> tuple[list[str], int]:
        """Lines for the samples that can be written, and how many could not (non-finite
        numbers, or not a Sample at all: a probe bug must not block the spool)."""
        lines: list[str] = []
        skipped = 0
        prefixes = self._prefixes
        for sample in samples:
            try:
                value = field_value(sample.value)
                if value is None or not sample.metric:
                    skipped += 1
                    continue
                key = (sample.metric, sample.device, tuple(sample.labels.items()))
                prefix = prefixes.get(key)
                if prefix is None:
                    if len(prefixes) >= self.max_series:
                        prefixes.clear()
                    prefix = series_prefix(
                        sample.metric, sample.device, self._tags(sample.device), sample.labels
                    )
                    prefixes[key] = prefix
                ts = sample.ts if sample.ts > 0 else default_ts
                lines.append(f"{prefix}{value} {round(ts * 1000)}")
            except Exception:
                skipped += 1
        return lines, skipped


def encode_samples(
    samples: Iterable[Sample], tags_for: TagsFor | None = None, default_ts: float = 0.0
) -> tuple[list[str], int]:
    """Lines for the samples that can be written, and how many could not."""
    return LineEncoder(tags_for).encode(samples, default_ts)
