"""The Sample: one reading of one metric of one device (DESIGN.md §3, a user-facing contract)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Value = float | int | bool | str


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading. `note` is a non-identifying detail (a failure reason) and never part of
    an incident's identity; `ts` is POSIX seconds."""

    device: str
    metric: str
    value: Value
    labels: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    ts: float = 0.0
    note: str | None = None

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
