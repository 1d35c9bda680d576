"""Import LibreNMS's device knowledge: its YAML OS definitions (`includes/definitions/<os>.yaml`:
detection by sysObjectID and sysDescr) and sensor discovery (`includes/definitions/discovery/
<os>.yaml`: `modules.sensors.<class>.data`) become roomwatch SNMP profiles, one per OS
(`librenms-<os>.yaml`), for `profile: auto` with `profile_dirs`.

The files are the user's (LibreNMS is GPL-3.0): roomwatch ships no converted copy. What is
converted, per sensor entry: the value column (`num_oid`, `{{ $index }}` at its end), the
description (a literal, `{{ $index }}` expanded, or a column given by number), `divisor`,
`multiplier` (and a class's `options`), `skip_values` on the value itself (kept as sentinels
or a `where`), `states` (a state sensor's value becomes its state name), and
`user_func: fahrenheit_to_celsius`. Each becomes `sensor.<class>` {sensor, index} in
LibreNMS's unit for the class; for environment monitors and UPS units the shared names too
(`ambient.temperature`, `battery.charge`, `input.voltage` …) where exactly one sensor of the
definition fits. Everything else (a column named only by its MIB name, PHP-only sensors,
other templates, ops on other columns) is skipped, and `Conversion.skipped` says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
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

# LibreNMS's detection keys → ours (any other key, e.g. an SNMP GET, makes a rule unusable).
_DETECTION_KEYS = {
    "sysObjectID": "sys_object_id",
    "sysObjectID_except": "sys_object_id_except",
    "sysDescr": "sys_descr",
    "sysDescr_regex": "sys_descr_regex",
}

INDEX = "{{ $index }}"
_TEMPLATE = re.compile(r"\{\{\s*\$?[^}]*\}\}")
_NUMERIC = re.compile(r"^\.?\d+(\.\d+)+\.?$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*(::[A-Za-z][A-Za-z0-9-]*)?$")


@dataclass
class Conversion:
    """One OS: the profile written (None when nothing converted) and what was left out."""

    os: str
    profile: dict[str, Any] | None = None
    sensors: int = 0  # sensor entries converted
    skipped: list[str] = field(default_factory=list)  # "where: why"

    @property
    def verdict(self) -> str:
        if not self.sensors:
            return "not"
        return "partly" if self.skipped else "whole"


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


def _detect(os_def: dict[str, Any], where: str, skipped: list[str]) -> list[dict[str, Any]]:
    rules = []
    for item in os_def.get("discovery") or []:
        if not isinstance(item, dict):
            continue
        rule: dict[str, list[str]] = {}
        unsupported = [k for k in item if k not in _DETECTION_KEYS]
        if unsupported:
            skipped.append(f"{where}: a detection rule using {', '.join(unsupported)} (not read)")
            continue
        for key, ours in _DETECTION_KEYS.items():
            values = item.get(key)
            if values is None:
                continue
            values = values if isinstance(values, list) else [values]
            if key in ("sysObjectID", "sysObjectID_except"):
                rule[ours] = [str(v).strip().strip(".") for v in values]  # ".1.3.6.1.4.1.20916.1."
            elif key == "sysDescr_regex":
                rule[ours] = [_php_regex(str(v)) for v in values]
            else:
                rule[ours] = [str(v) for v in values]
        if rule:
            rules.append(rule)
    return rules


def _php_regex(pattern: str) -> str:
    """'/^sensorProbe/i' → '(?i)^sensorProbe' (LibreNMS writes PHP PCRE patterns)."""
    match = re.fullmatch(r"(.)(.*)\1([a-z]*)", pattern.strip(), re.S)
    if match is None:
        return pattern
    body, flags = match.group(2), match.group(3)
    inline = "".join(f for f in flags if f in "imsx")
    return f"(?{inline}){body}" if inline else body


@dataclass
class Names:
    """MIB names of one definition → dotted OIDs (`resolve`), and why one did not (`why`)."""

    resolve: Callable[[str], str | None] = lambda name: None
    why: Callable[[], str] = lambda: "no MIBs given"


def convert_os(
    os_def: dict[str, Any],
    discovery: dict[str, Any] | None,
    os_name: str,
    names: Names | None = None,
) -> Conversion:
    """The profile for one LibreNMS OS (parsed YAML in, profile dict out; `names` resolves the
    MIB names the definition uses, e.g. through `librenms_mibs.MibNames`)."""
    names = names if names is not None else Names()
    result = Conversion(os_name)
    rules = _detect(os_def, f"{os_name}.yaml", result.skipped)
    if not rules:
        result.skipped.append(f"{os_name}.yaml: no detection roomwatch can use")
    tables: list[dict[str, Any]] = []
    sensors = ((discovery or {}).get("modules") or {}).get("sensors") or {}
    if not discovery:
        result.skipped.append(f"{os_name}: no YAML sensor discovery (PHP-only or none)")
    kind = str(os_def.get("type", ""))
    if kind == "power" and not _is_ups(os_def, sensors):
        kind = "power-other"  # a PDU, ATS or DC plant: NUT's UPS names would mislead
    shared: dict[str, list[dict[str, Any]]] = {}
    for sensor_class, block in sensors.items():
        if sensor_class == "pre-cache" or not isinstance(block, dict):
            continue
        if sensor_class not in CLASS_UNITS:
            result.skipped.append(f"sensors.{sensor_class}: a class roomwatch has no unit for")
            continue
        options = block.get("options") or {}
        for n, entry in enumerate(block.get("data") or []):
            where = f"sensors.{sensor_class}.data[{n}] ({entry.get('oid', '?')})"
            table = _sensor_table(sensor_class, entry, options, where, result.skipped, names)
            if table is None:
                continue
            tables.append(table)
            result.sensors += 1
            name = _shared_name(kind, sensor_class, str(entry.get("descr", "")))
            if name is not None:
                shared.setdefault(name, []).append(table)
    for name, fitting in shared.items():
        # Environment readings keep their sensor label, so each is its own ambient series; a
        # UPS name (input.voltage, unlabelled in NUT) only when one sensor alone fits it.
        if name.startswith("ambient.") or len(fitting) == 1:
            for table in fitting:
                metric = dict(table["metrics"][0], name=name)
                if not name.startswith("ambient."):
                    metric["bare"] = True  # NUT's names are the unit's, unlabelled
                if name == "battery.runtime":
                    metric["scale"] = metric.get("scale", 1.0) * 60  # minutes → s
                    metric["unit"] = "s"
                table["metrics"].append(metric)
    if not tables:
        return result
    result.profile = {
        "name": f"librenms-{os_name.lower()}",
        "description": f"Imported from LibreNMS definitions of OS {os_name!r}"
        f" ({os_def.get('text', os_name)}): {result.sensors} sensor entries.",
        "detect": {"rules": rules},
        "priority": -10,  # after roomwatch's own profiles: theirs win a shared name
        "tables": tables,
    }
    return result


def _sensor_table(
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
            skipped.append(f"{where}: a state sensor without states")
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
    elif _NAME.match(descr) and descr[:1].islower() and " " not in descr:
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


def _is_ups(os_def: dict[str, Any], sensors: dict[str, Any]) -> bool:
    """A UPS: LibreNMS's group says so, its name does, or it has a battery charge or runtime."""
    named = f"{os_def.get('os', '')} {os_def.get('text', '')}".lower()
    return (
        os_def.get("group") == "ups"
        or re.search(r"\bups\b", named) is not None
        or "charge" in sensors
        or "runtime" in sensors
    )


def _shared_name(kind: str, sensor_class: str, descr: str) -> str | None:
    """The shared (NUT / ambient) name a sensor also gets, by the device type and words of
    its description; None when none fits."""
    words = descr.lower()
    if kind == "environment" and sensor_class in ("temperature", "humidity"):
        return f"ambient.{sensor_class}"
    if kind != "power":
        return None
    if sensor_class == "charge":
        return "battery.charge"
    if sensor_class == "runtime":
        return "battery.runtime"
    if sensor_class == "load":
        return "ups.load"
    for part in ("input", "output", "battery"):
        if part in words and sensor_class in ("voltage", "frequency", "current", "temperature"):
            if part == "battery" and sensor_class not in ("voltage", "temperature"):
                return None
            return f"{part}.{sensor_class}"
    return None
