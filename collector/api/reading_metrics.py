"""Every device's latest readings as Prometheus metric families (`GET /metrics/devices`).

Names follow Prometheus' conventions:

    battery.charge = 95 %      -> roomwatch_battery_charge_percent{device="ups-1",…} 95
    ambient.temperature °C     -> roomwatch_ambient_temperature_celsius
    http.response_seconds (s)  -> roomwatch_http_response_seconds   (the unit is not repeated)
    ifHCInOctets (SNMP)        -> roomwatch_if_hc_in_octets{…,if_name="Gi1/0/1"}  (snake_case)
    ups.status = "OL CHRG"     -> roomwatch_ups_status_info{…,state="OL CHRG"} 1   (a state)

- `roomwatch_` + the metric name in snake_case (a MIB name's humps become `_`: ifHCInOctets
  -> if_hc_in_octets, as promtool's lint asks) with every character Prometheus does not allow
  (the dots) written `_`, + the unit as a suffix in base units (`_percent`, `_celsius`, `_volts`,
  `_seconds`, `_bytes`, …; Mbit/s and hPa are scaled to bits per second and pascals). A unit
  roomwatch does not know adds no suffix.
- Numbers and booleans (1/0) are gauges: the latest reading. Raw counters (ifHCInOctets,
  net.rx_bytes) are gauges too, because a sample does not say it is a counter; `rate()` and
  `increase()` work on them all the same.
- A string reading is a state: an info-style metric `<name>_info` of value 1 with the state in
  the label `state`. When the state changes the old series ends and a new one starts, as with
  any info metric.
- Labels: `device`, `site`, `room`, `kind` from the inventory (empty when the inventory has
  none), then the sample's own labels (`ifName` as `if_name`, `mount`, `sensor`, …) in
  snake_case with disallowed characters written `_`. A sample label named like one of ours (`device`, `kind`, `state`, …)
  or starting with `__` is written `label_<name>`, as the InfluxDB sink does.
- A reading older than `stale_after` (`api.readings_stale_after`, 10 minutes by default) is
  left out, so a device that stopped answering, or a series it no longer reports, disappears
  from Prometheus instead of showing its last value for ever. `device.up` keeps saying 0 for a
  device that does not answer, because every failed poll writes it anew.
- roomwatch's own `roomwatch.*` samples are left out: /metrics carries those figures.
- No timestamps are written: Prometheus stamps a scrape itself (as its exporters do)."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric

from core.sample import Sample
from inventory.model import Inventory

PREFIX = "roomwatch_"
# The daemon's figures about itself (roomwatch.spool.depth, …) are on /metrics already,
# under the names users scrape there (roomwatch_sink_spool_depth{sink}).
OWN_METRICS = "roomwatch."
DEFAULT_STALE_AFTER = 600.0
OUR_LABELS = ("device", "site", "room", "kind")
STATE_LABEL = "state"

# unit as a sample carries it -> (suffix in base units, factor to the base unit)
UNITS: dict[str, tuple[str, float]] = {
    "%": ("percent", 1.0),
    "%RH": ("percent", 1.0),
    "°C": ("celsius", 1.0),
    "V": ("volts", 1.0),
    "A": ("amperes", 1.0),
    "Ah": ("ampere_hours", 1.0),
    "W": ("watts", 1.0),
    "VA": ("voltamperes", 1.0),
    "Hz": ("hertz", 1.0),
    "s": ("seconds", 1.0),
    "ms": ("seconds", 0.001),
    "d": ("days", 1.0),
    "B": ("bytes", 1.0),
    "bit/s": ("bits_per_second", 1.0),
    "Mbit/s": ("bits_per_second", 1e6),
    "hPa": ("pascals", 100.0),
}

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9_:]")
_NOT_IN_LABEL = re.compile(r"[^A-Za-z0-9_]")
_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """ifHCInOctets -> if_hc_in_octets; battery.charge and snake_case stay as they are."""
    return _HUMP.sub("_", name).lower()


def _base_name(metric: str) -> str:
    return PREFIX + _NOT_IN_NAME.sub("_", snake_case(metric))


def metric_name(metric: str, unit: str | None) -> tuple[str, float]:
    """The Prometheus name of a numeric reading and the factor its value is scaled by."""
    base = _base_name(metric)
    suffix, factor = UNITS.get(unit or "", ("", 1.0))
    if suffix and not (base.endswith("_" + suffix) or f"_{suffix}_" in base):
        base = f"{base}_{suffix}"
    return base, factor


@functools.lru_cache(maxsize=4096)
def label_name(key: str) -> str:
    name = _NOT_IN_LABEL.sub("_", snake_case(key)) or "_"
    if name[0].isdigit():
        name = "_" + name
    if name in OUR_LABELS or name == STATE_LABEL or name.startswith("__"):
        name = f"label_{name}"
    return name


@dataclass(frozen=True)
class _Family:
    name: str  # the family's name (an info family's samples add `_info`)
    sample_name: str
    kind: str  # gauge | info
    help: str
    factor: float


@functools.lru_cache(maxsize=8192)
def _family(metric: str, unit: str | None, state: bool) -> _Family:
    """What a metric becomes: computed once per metric and unit, not once per sample (a
    room of 5,000 devices has a quarter of a million readings and a few hundred metrics)."""
    if state:
        name = _base_name(metric)
        help_ = f"State {metric} of a device (value 1; the state is the label state)."
        return _Family(name, name + "_info", "info", help_, 1.0)
    name, factor = metric_name(metric, unit)
    shown = f" ({unit})" if unit else ""
    return _Family(name, name, "gauge", f"Latest reading of {metric}{shown} per device.", factor)


Labels = tuple[tuple[str, str], ...]


def _reading(
    sample: Sample, device_labels: Mapping[str, str]
) -> tuple[_Family, Labels, float] | None:
    value = sample.value
    labels = dict(device_labels)
    for key, text in sample.labels.items():
        labels[label_name(key)] = text
    if isinstance(value, str):
        labels[STATE_LABEL] = value
        return _family(sample.metric, None, True), tuple(labels.items()), 1.0
    if isinstance(value, bool):
        number = 1.0 if value else 0.0
    elif isinstance(value, int | float):
        number = float(value)
    else:
        return None  # not a reading at all: a probe bug must not break the scrape
    family = _family(sample.metric, sample.unit, False)
    if family.factor != 1.0 and math.isfinite(number):
        number *= family.factor
    return family, tuple(labels.items()), number


def device_labels(inventory: Inventory, device_id: str) -> dict[str, str]:
    device = inventory.devices.get(device_id)
    if device is None:
        return {"device": device_id, "site": "", "room": "", "kind": ""}
    return {
        "device": device.id,
        "site": device.site or "",
        "room": device.room or "",
        "kind": device.kind,
    }


def reading_families(
    latest: Iterable[Sample], inventory: Inventory, now: float, stale_after: float
) -> list[Metric]:
    """The families of every reading newer than `stale_after`, sorted by name. Pure.

    Two readings that land on the same name and labels (`a.b` and `a_b`) keep the newer."""
    # sample name -> (its family, labels -> (ts, value)); metrics landing on one name (a.b
    # and a_b) share it, and of one series the newer reading wins
    chosen: dict[str, tuple[_Family, dict[Labels, tuple[float, float]]]] = {}
    labels_of: dict[str, dict[str, str]] = {}
    for sample in latest:
        if sample.ts and now - sample.ts > stale_after:
            continue
        if sample.metric.startswith(OWN_METRICS):
            continue
        labels = labels_of.get(sample.device)
        if labels is None:
            labels = labels_of[sample.device] = device_labels(inventory, sample.device)
        reading = _reading(sample, labels)
        if reading is None:
            continue
        family, key, value = reading
        entry = chosen.get(family.sample_name)
        if entry is None:
            entry = chosen[family.sample_name] = (family, {})
        held = entry[1].get(key)
        if held is None or sample.ts >= held[0]:
            entry[1][key] = (sample.ts, value)
    families = []
    for sample_name in sorted(chosen):
        family, series = chosen[sample_name]
        metric = Metric(family.name, family.help, family.kind)
        for key, (_, value) in series.items():
            metric.add_sample(sample_name, dict(key), value)
        families.append(metric)
    return families
