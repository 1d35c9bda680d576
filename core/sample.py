"""The Sample: one reading of one metric of one device (DESIGN.md §3, a user-facing contract)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Value = float | int | bool | str


@dataclass(frozen=True, slots=True, init=False)
class Sample:
    """One reading. `note` is a non-identifying detail (a failure reason) and never part of
    an incident's identity; `ts` is POSIX seconds. `labels` is read-only by convention: the
    samples of one table row share one dict, and so do equal rows of different devices."""

    device: str
    metric: str
    value: Value
    labels: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    ts: float = 0.0
    note: str | None = None

    def __init__(
        self,
        device: str,
        metric: str,
        value: Value,
        labels: dict[str, str] | None = None,
        unit: str | None = None,
        ts: float = 0.0,
        note: str | None = None,
    ) -> None:
        # The generated frozen __init__ looks up object.__setattr__ for every field; a poll
        # of a switch makes 600 samples, so the slots' own setters are called directly
        # (a third less time per sample; still frozen afterwards).
        _set_device(self, device)
        _set_metric(self, metric)
        _set_value(self, value)
        _set_labels(self, {} if labels is None else labels)
        _set_unit(self, unit)
        _set_ts(self, ts)
        _set_note(self, note)

    def series_key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """Identity of the time series this sample belongs to."""
        return (self.device, self.metric, tuple(sorted(self.labels.items())))

    def to_json(self) -> dict[str, Any]:
        """The JSON object printed by `roomwatch poll --json` (one per line)."""
        value: Any = self.value
        if isinstance(value, float) and not math.isfinite(value):
            value = None  # JSON has no NaN/Infinity; a reader sees "no value"
        out: dict[str, Any] = {
            "device": self.device,
            "metric": self.metric,
            "value": value,
            "labels": dict(self.labels),
            "unit": self.unit,
            "ts": self.ts,
        }
        if self.note is not None:
            out["note"] = self.note
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sample:
        return cls(
            device=str(data["device"]),
            metric=str(data["metric"]),
            value=data["value"],
            labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()},
            unit=data.get("unit"),
            ts=float(data.get("ts", 0.0)),
            note=data.get("note"),
        )


# The labels of a sample that has none, for the probes' hot paths: one dict shared by all of
# them (read-only, as every sample's labels are), so a poll's label column in the latest
# readings is the same dicts poll after poll and device after device (collector.latest).
NO_LABELS: dict[str, str] = {}

_set_device, _set_metric, _set_value, _set_labels, _set_unit, _set_ts, _set_note = (
    Sample.__dict__[name].__set__
    for name in ("device", "metric", "value", "labels", "unit", "ts", "note")
)


class _Draft:
    """A Sample under construction: the same slots, without the frozen guard, so a hot path
    fills them with plain attribute stores and then makes it a Sample (`new_sample`)."""

    __slots__ = Sample.__slots__

    def __init__(
        self,
        device: str,
        metric: str,
        value: Value,
        labels: dict[str, str],
        unit: str | None,
        ts: float,
    ) -> None:
        self.device = device
        self.metric = metric
        self.value = value
        self.labels = labels
        self.unit = unit
        self.ts = ts
        self.note = None
        self.__class__ = Sample  # type: ignore[assignment]


def new_sample(
    device: str, metric: str, value: Value, labels: dict[str, str], unit: str | None, ts: float
) -> Sample:
    """`Sample(device, metric, value, labels, unit, ts)` for the probes' hot paths (a switch
    poll makes 750 samples): about half the constructor's time, since the slots are filled
    by plain stores before the object becomes a (frozen) Sample; `labels` is kept as given."""
    return _Draft(device, metric, value, labels, unit, ts)  # type: ignore[return-value]
