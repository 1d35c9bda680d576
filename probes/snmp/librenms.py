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
from dataclasses import dataclass, field
from typing import Any

from probes.snmp.librenms_sensors import CLASS_UNITS, Names, fixed_oid, sensor_scalar, sensor_table

# LibreNMS's detection keys → ours (any other key, e.g. an SNMP GET, makes a rule unusable).
_DETECTION_KEYS = {
    "sysObjectID": "sys_object_id",
    "sysObjectID_except": "sys_object_id_except",
    "sysDescr": "sys_descr",
    "sysDescr_regex": "sys_descr_regex",
}


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
    """'/^sensorProbe/i' → '(?i)^sensorProbe', '(?<hw>…)' → '(?P<hw>…)' (LibreNMS writes PHP
    PCRE patterns)."""
    match = re.fullmatch(r"(.)(.*)\1([a-z]*)", pattern.strip(), re.S)
    if match is None:
        return pattern
    body, flags = match.group(2), match.group(3)
    # PCRE names a group (?<name>…) or (?'name'…), Python (?P<name>…); lookbehinds stay.
    body = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", body)
    body = re.sub(r"\(\?'([A-Za-z_]\w*)'", r"(?P<\1>", body)
    inline = "".join(f for f in flags if f in "imsx")
    return f"(?{inline}){body}" if inline else body


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
    scalars: list[dict[str, Any]] = []
    sensors = ((discovery or {}).get("modules") or {}).get("sensors") or {}
    if not discovery:
        result.skipped.append(f"{os_name}: no YAML sensor discovery (PHP-only or none)")
    elif not sensors:
        result.skipped.append(f"{os_name}: its discovery file has no sensors (other modules only)")
    kind = str(os_def.get("type", ""))
    if kind == "power" and not _is_ups(os_def, sensors):
        kind = "power-other"  # a PDU, ATS or DC plant: NUT's UPS names would mislead
    shared: dict[str, list[dict[str, Any]]] = {}
    for sensor_class, block in sensors.items():
        if sensor_class == "pre-cache" or not isinstance(block, dict):
            continue
        if sensor_class == "additional_oids":
            continue  # columns LibreNMS fetches for templates and limits: no sensor of its own
        if sensor_class not in CLASS_UNITS:
            result.skipped.append(f"sensors.{sensor_class}: a class roomwatch has no unit for")
            continue
        options = block.get("options") or {}
        for n, entry in enumerate(block.get("data") or []):
            where = f"sensors.{sensor_class}.data[{n}] ({entry.get('oid', '?')})"
            fixed = fixed_oid(str(entry.get("num_oid") or ""))
            if fixed is not None:
                scalar = sensor_scalar(sensor_class, entry, options, fixed, where, result.skipped)
                if scalar is not None:
                    scalars.append(scalar)
                    result.sensors += 1
                continue
            table = sensor_table(sensor_class, entry, options, where, result.skipped, names)
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
    if not tables and not scalars:
        return result
    result.profile = {
        "name": f"librenms-{os_name.lower()}",
        "description": f"Imported from LibreNMS definitions of OS {os_name!r}"
        f" ({os_def.get('text', os_name)}): {result.sensors} sensor entries.",
        "detect": {"rules": rules},
        "priority": -10,  # after roomwatch's own profiles: theirs win a shared name
        "tables": tables,
    }
    if scalars:
        result.profile["scalars"] = scalars
    return result


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
