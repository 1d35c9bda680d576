"""Printing samples: JSON lines (the contract of DESIGN §3) or a table for people."""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.sample import Sample


def print_samples(samples: Sequence[Sample], as_json: bool) -> None:
    if as_json:
        for sample in samples:
            print(json.dumps(sample.to_json(), ensure_ascii=False))
        return
    rows = []
    for s in samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        value = _readable(s.value)
        rows.append((s.device, s.metric, labels, value, s.unit or "", s.note or ""))
    header = ("DEVICE", "METRIC", "LABELS", "VALUE", "UNIT", "NOTE")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(col.ljust(w) for col, w in zip(row, widths, strict=True)).rstrip())


def _readable(value: object) -> str:
    """Six significant digits, but whole numbers (uptimes, byte counts) in full, not 2.3e+06."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.0f}"
    return str(value)
