"""How much of a LibreNMS checkout `roomwatch profiles import librenms` converts (issue 15's
figure): each OS definition whole / partly / not, its sensor entries converted / in the YAML,
and every reason the importer gave, grouped by kind.

    .venv/bin/python bench/librenms_coverage.py LIBRENMS_DIR [--mibs DIR] [--os NAME …]
        [--per-os]

It runs the importer itself (probes/snmp/librenms_files.py) and writes nothing. "whole": every
sensor entry converted and nothing left out (detection included); "partly": some entries
converted; "not": none. A reason counts once per OS that has it (and its lines in brackets);
"drops" says whether that kind loses the sensor or only a detail of it (a label, a row filter).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probes.snmp.librenms import Conversion
from probes.snmp.librenms_files import (
    definition_dirs,
    import_definitions,
    read_definition,
)
from probes.snmp.profiles import Profile

# (kind, drops the sensor?, pattern on the importer's reason line), first match wins.
KINDS: list[tuple[str, bool, str]] = [
    ("no YAML sensor discovery (PHP-only or none)", True, r"no YAML sensor discovery"),
    ("discovery file without sensors (other modules only)", True, r"has no sensors"),
    ("needs a MIB not in the checkout / not fetched: value column", True, r"no num_oid, and"),
    (
        "needs a MIB not in the checkout / not fetched: state names from the MIB",
        True,
        r"state sensor without states",
    ),
    (
        "needs a MIB not in the checkout / not fetched: descr or skip column",
        False,
        r"has no OID",
    ),
    ("num_oid template other than {{ $index }}", True, r"num_oid .* is not a column"),
    ("user_func other than fahrenheit_to_celsius", True, r"user_func"),
    ("sensor class without a unit here", True, r"a class roomwatch has no unit for"),
    ("descr template beyond {{ $index }} (label degraded)", False, r"descr template"),
    ("index template beyond {{ $index }}", False, r"index template"),
    ("skip_values on a device field (a sensor for some firmware only)", True, r"device's"),
    ("skip_values kind not converted (device field, in_array …)", False, r"skip_values"),
    ("single-instance sensor: per-row label or skip left out", False, r"single instance|per row"),
    ("additional_oids (extra columns for templates)", False, r"additional_oids"),
    ("entry keys not converted", False, r"\(not converted\)$"),
    ("detection rule with snmpget or other keys", False, r"a detection rule using"),
    ("no detection roomwatch can use", False, r"no detection roomwatch can use"),
    ("profile did not load", True, r"does not load"),
    ("definition could not be read", True, r"could not be read"),
]
SKIP_CLASSES = ("pre-cache", "additional_oids")


def kind_of(reason: str) -> tuple[str, bool]:
    for kind, drops, pattern in KINDS:
        if re.search(pattern, reason):
            return kind, drops
    return "other: " + reason.split(": ", 1)[-1][:60], False


def sensor_entries(discovery_file: Path) -> int:
    """Sensor entries of one discovery file, counted as the importer walks them."""
    if not discovery_file.is_file():
        return 0
    sensors = ((read_definition(discovery_file).get("modules") or {}).get("sensors")) or {}
    return sum(
        len(block.get("data") or [])
        for name, block in sensors.items()
        if name not in SKIP_CLASSES and isinstance(block, dict)
    )


def _check_loads(conversion: Conversion) -> None:
    """As the command does: a profile the probe would refuse converts nothing."""
    if conversion.profile is None:
        return
    try:
        Profile.model_validate(conversion.profile)
    except ValueError as exc:
        conversion.skipped.append(f"the converted profile does not load: {exc}")
        conversion.profile, conversion.sensors = None, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("librenms_dir", type=Path)
    parser.add_argument("--mibs", type=Path, help="MIB folder (default: LIBRENMS_DIR/mibs)")
    parser.add_argument("--os", action="append", default=[], help="only this OS (repeatable)")
    parser.add_argument("--per-os", action="store_true", help="one line per OS too")
    args = parser.parse_args(argv)
    try:
        _, discovery_dir = definition_dirs(args.librenms_dir)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    conversions = import_definitions(args.librenms_dir, args.os, args.mibs)
    for conversion in conversions:
        _check_loads(conversion)
    verdicts: Counter[str] = Counter()
    os_by_kind: Counter[str] = Counter()
    lines_by_kind: Counter[str] = Counter()
    drops: dict[str, bool] = {}
    total_entries = converted = 0
    for conversion in conversions:
        entries = sensor_entries(discovery_dir / f"{conversion.os}.yaml")
        total_entries += entries
        converted += conversion.sensors
        verdicts[conversion.verdict] += 1
        kinds = set()
        for reason in conversion.skipped:
            kind, dropping = kind_of(reason)
            drops[kind] = dropping
            lines_by_kind[kind] += 1
            kinds.add(kind)
        os_by_kind.update(kinds)
        if args.per_os:
            print(
                f"{conversion.os}: {conversion.verdict}, {conversion.sensors}/{entries} entries;"
                f" {'; '.join(sorted(kinds)) or 'nothing left out'}"
            )
    n = len(conversions)
    if not n:
        print("no OS definitions found")
        return 1
    print(f"{n} OS definitions in {args.librenms_dir}")
    for verdict in ("whole", "partly", "not"):
        print(f"  {verdict:<7} {verdicts[verdict]:>4}  {100 * verdicts[verdict] / n:5.1f} %")
    share = 100 * converted / total_entries if total_entries else 0.0
    print(f"sensor entries converted: {converted} of {total_entries} ({share:.1f} %)")
    print("reasons (OS definitions with it [lines]; drops = the sensor is lost):")
    for kind, count in sorted(os_by_kind.items(), key=lambda kv: (-kv[1], kv[0])):
        mark = "drops" if drops[kind] else "     "
        print(f"  {count:>4} {100 * count / n:5.1f} %  [{lines_by_kind[kind]:>4}]  {mark}  {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
