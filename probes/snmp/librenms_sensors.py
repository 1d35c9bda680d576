"""One LibreNMS sensor entry (`modules.sensors.<class>.data[n]` of a discovery definition) as
a roomwatch profile table or scalar, for `librenms.convert_os`: the value OID, description
and index labels, divisor/multiplier, skip rules and state names; what cannot be converted is
appended to `skipped` with the reason ("where: why")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from probes.snmp.profiles import SKIP_OPS

# LibreNMS's unit of each sensor class (its graphs' units); `runtime` is in minutes.
CLASS_UNITS: dict[str, str | None] = {
    "airflow": "cfm",
    "ber": None,
    "bitrate": "bps",
    "charge": "%",
    "chromatic_dispersion": "ps/nm",
    "cooling": "W",
    "count": None,
    "current": "A",
    "dbm": "dBm",
    "delay": "s",
    "eer": None,
    "fanspeed": "RPM",
    "frequency": "Hz",
    "humidity": "%",
    "load": "%",
    "loss": "dB",
    "percent": "%",
    "power": "W",
    "power_consumed": "kWh",
    "power_factor": None,
    "pressure": "kPa",
    "quality_factor": "dB",
    "runtime": "min",
    "signal": "dBm",
    "snr": "dB",
    "state": None,
    "temperature": "°C",
    "tv_signal": "dBmV",
    "voltage": "V",
    "waterflow": "l/m",
}

# The keys of a sensor entry the importer reads, or leaves out on purpose: limits are
# thresholds (roomwatch rules grade faults), the rest is LibreNMS bookkeeping.
_KNOWN_KEYS = frozenset(
    (
        "oid", "value", "num_oid", "descr", "index", "divisor", "multiplier", "skip_values",
        "skip_value_lt", "skip_value_gt", "states", "state_name", "user_func", "group",
        "low_limit", "low_warn_limit", "warn_limit", "high_limit", "entPhysicalIndex",
        "entPhysicalIndex_measured", "rrd_type", "snmp_flags",
    )
)  # fmt: skip

INDEX = "{{ $index }}"
_TEMPLATE = re.compile(r"\{\{\s*\$?[^}]*\}\}")
_NUMERIC = re.compile(r"^\.?\d+(\.\d+)+\.?$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*(::[A-Za-z][A-Za-z0-9-]*)?$")


@dataclass
class Names:
    """MIB names of one definition → dotted OIDs (`resolve`), an object's enumeration
    (`enums`: number → name, for state sensors that leave their states to the MIB), and why a
    name did not resolve (`why`)."""

    resolve: Callable[[str], str | None] = lambda name: None
    why: Callable[[], str] = lambda: "no MIBs given"
    enums: Callable[[str], dict[int, str]] = lambda name: {}


def _template(text: str) -> str:
    """LibreNMS's `{{ $index }}` as our label template's `{index}`."""
    return re.sub(r"\{\{\s*\$index\s*\}\}", "{index}", text)


def _column(num_oid: str) -> str | None:
    """The column OID of a `num_oid` that ends in the row index (`….{{ $index }}`, or the old
    style with a trailing dot), or None for any other template."""
    text = num_oid.strip().strip("'\"")
    if text.endswith(INDEX) or re.search(r"\{\{\s*\$index\s*\}\}$", text):
        text = re.sub(r"\.?\{\{\s*\$index\s*\}\}$", "", text)
    elif not text.endswith("."):
        return None
    text = text.rstrip(".")
    return text.lstrip(".") if _NUMERIC.match(text) else None


def fixed_oid(num_oid: str) -> str | None:
    """The OID of a `num_oid` that names one instance (`.1.3.6.1.4.1.42111.640.3.1.0`, or
    `….1.1.1{{ $noindex }}` for an agent that serves a scalar without `.0`): read with a GET."""
    text = re.sub(r"\{\{\s*\$noindex\s*\}\}$", "", num_oid.strip().strip("'\""))
    if "{{" in text or text.endswith(".") or not _NUMERIC.match(text):
        return None
    return text.lstrip(".")


def sensor_scalar(
    sensor_class: str,
    entry: dict[str, Any],
    options: dict[str, Any],
    oid: str,
    where: str,
    skipped: list[str],
) -> dict[str, Any] | None:
    """A sensor whose `num_oid` is one fixed instance: a scalar metric (one GET) labelled with
    its literal description and LibreNMS's index. Built as a one-row table, then flattened."""
    table = sensor_table(
        sensor_class, {**entry, "num_oid": f"{oid}.{INDEX}"}, options, where, skipped,
        Names(),
    )  # fmt: skip
    if table is None:
        return None
    metric = dict(table["metrics"][0], oid=oid)
    labels: dict[str, str] = {}
    for name, spec in table["labels"].items():
        text = spec.get("template") if isinstance(spec, dict) else None
        if text is None or "{index}" in text:
            skipped.append(f"{where}: a {name} label LibreNMS reads per row (left out)")
            continue
        labels[name] = text
    labels.setdefault("index", str(entry.get("index", "0")))
    metric["labels"] = labels
    if table.get("skip"):
        skipped.append(f"{where}: skip_values on a single instance (not converted)")
    return metric


def sensor_table(
    sensor_class: str,
    entry: dict[str, Any],
    options: dict[str, Any],
    where: str,
    skipped: list[str],
    names: Names,
) -> dict[str, Any] | None:
    num_oid = entry.get("num_oid")
    value_name = str(entry.get("value") or entry.get("oid") or "")
    if num_oid:
        column = _column(str(num_oid))
        if column is None:
            skipped.append(f"{where}: num_oid {num_oid} is not a column followed by the index")
            return None
    else:
        column = names.resolve(value_name)
        if column is None:
            skipped.append(f"{where}: no num_oid, and {value_name} has no OID: {names.why()}")
            return None
    settings = {**options, **entry}
    unknown = sorted(str(k) for k in settings if k not in _KNOWN_KEYS)
    if unknown:
        skipped.append(f"{where}: {', '.join(unknown)} (not converted)")
    divisor = float(settings.get("divisor") or 1)
    multiplier = float(settings.get("multiplier") or 1)
    metric: dict[str, Any] = {"name": f"sensor.{sensor_class}", "oid": column}
    unit = CLASS_UNITS[sensor_class]
    if unit is not None:
        metric["unit"] = unit
    scale = multiplier / divisor
    func = settings.get("user_func")
    if func == "fahrenheit_to_celsius":
        scale *= 5 / 9
        metric["offset"] = round(-160 / 9, 9)
    elif func:
        skipped.append(f"{where}: user_func {func} (a LibreNMS PHP function; value unscaled)")
        return None
    if scale != 1.0:
        metric["scale"] = round(scale, 12)
    if sensor_class == "state":
        states = {int(s["value"]): str(s["descr"]) for s in entry.get("states") or []}
        if not states:
            # LibreNMS then names the states after the value object's enumeration in its MIB.
            states = dict(names.enums(value_name))
        if not states:
            skipped.append(
                f"{where}: a state sensor without states, and {value_name} has no"
                f" enumeration (LibreNMS names them from its MIB: {names.why()})"
            )
            return None
        metric["map"] = states
    elif unit is not None or scale != 1.0:
        metric["parse"] = "number"
    table: dict[str, Any] = {"index": "index", "metrics": [metric], "labels": {}}
    descr = str(entry.get("descr", "")).strip()
    index_text = str(entry.get("index", INDEX))
    if _TEMPLATE.sub("", index_text) != index_text.replace(INDEX, "") or "$" in index_text.replace(
        INDEX, ""
    ):
        skipped.append(f"{where}: index template {index_text} (the row index is used)")
    elif index_text != INDEX:
        table["labels"]["index"] = {"template": _template(index_text)}  # LibreNMS's index
    if not descr:
        descr = sensor_class
    if _NUMERIC.match(descr):
        # A fixed OID that LibreNMS GETs for the description: read once per poll.
        table["labels"]["sensor"] = {"scalar": descr.strip(".")}
    elif _NAME.match(descr) and (descr[:1].islower() or "::" in descr):
        described_by = names.resolve(descr)
        if described_by is not None:
            table["labels"]["sensor"] = described_by  # the description column
        else:
            skipped.append(
                f"{where}: descr column {descr} has no OID ({names.why()});"
                " the sensor is labelled by index"
            )
            table["labels"]["sensor"] = {"template": f"{sensor_class} {{index}}"}
    elif "{{" in _template(descr):
        skipped.append(f"{where}: descr template {descr} (only {INDEX} is expanded)")
        table["labels"]["sensor"] = {"template": _TEMPLATE.sub("", _template(descr)).strip()}
    else:
        table["labels"]["sensor"] = {"template": _template(descr)}
    device_rules = [
        rule
        for rule in settings.get("skip_values") or []
        if isinstance(rule, dict) and "device" in rule
    ]
    if device_rules:
        # A sensor for some firmware only (LibreNMS compares the device's version, hardware
        # …): read unconditionally it would be wrong on the others.
        fields = ", ".join(str(rule["device"]) for rule in device_rules)
        skipped.append(f"{where}: skip_values on the device's {fields} (sensor left out)")
        return None
    _skip_values(settings.get("skip_values"), value_name, metric, table, where, skipped, names)
    for key, op in (("skip_value_lt", "<"), ("skip_value_gt", ">")):
        bound = settings.get(key)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            table.setdefault("skip", []).append({"oid": column, "op": op, "value": bound})
        elif bound is not None:
            skipped.append(f"{where}: {key} {bound} (not a number)")
    return table


def _skip_values(
    rules: Any,
    value_name: str,
    metric: dict[str, Any],
    table: dict[str, Any],
    where: str,
    skipped: list[str],
    names: Names,
) -> None:
    """LibreNMS skips a sensor where `oid op value` holds: `==` on the value itself becomes a
    sentinel, the rest a table `skip` rule on the column named (`in_array`, `exists` and other
    operators roomwatch has not are reported)."""
    if rules is None:
        return
    if not isinstance(rules, list):
        rules = [rules]
    for rule in rules:
        if not isinstance(rule, dict):
            metric.setdefault("sentinels", []).append(float(rule))  # a plain value to skip
            continue
        oid, op, value = rule.get("oid"), str(rule.get("op", "==")), rule.get("value")
        if not isinstance(value, int | float | str) or isinstance(value, bool):
            skipped.append(f"{where}: skip_values {oid} {op} {value} (not converted)")
            continue
        if oid in (None, value_name):
            column: str | None = metric["oid"]
        else:
            column = names.resolve(str(oid))
            if column is None:
                skipped.append(
                    f"{where}: skip_values {oid} {op} {value} ({oid} has no OID: {names.why()})"
                )
                continue
        assert column is not None
        op = {"=": "==", "===": "==", "!==": "!="}.get(op, op)
        if op == "==" and column == metric["oid"] and isinstance(value, int | float):
            metric.setdefault("sentinels", []).append(float(value))
        elif op in SKIP_OPS:
            table.setdefault("skip", []).append({"oid": column, "op": op, "value": value})
        else:
            skipped.append(f"{where}: skip_values {oid} {op} {value} (operator {op} not converted)")
