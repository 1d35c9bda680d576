"""`roomwatch profiles import librenms LIBRENMS_DIR --out DIR [--os NAME …]`: convert a LibreNMS
checkout's YAML OS definitions into SNMP profiles (probes/snmp/librenms.py says what converts).

It prints one line per OS (whole, partly, not) and every construct it skipped with the reason;
each profile is checked as the probe would load it before it is written. Exit status 0 when
at least one profile was written, 1 when none was, 2 when called wrongly."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from collector.commands.errors import ExitCode, Finding, UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("profiles", help="import SNMP profiles from other tools")
    psub = p.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)
    imp = psub.add_parser("import", help="convert another tool's device definitions")
    isub = imp.add_subparsers(dest="source", metavar="SOURCE", required=True)
    lib = isub.add_parser("librenms", help="LibreNMS YAML OS and sensor definitions")
    lib.add_argument(
        "librenms_dir", help="a LibreNMS checkout (resources/definitions/ or includes/definitions/)"
    )
    lib.add_argument("--out", required=True, help="directory for the profiles (profile_dirs)")
    lib.add_argument("--os", action="append", default=[], help="only this OS (repeatable)")
    lib.add_argument(
        "--mibs", help="MIB folder for names the definitions use (default: LIBRENMS_DIR/mibs)"
    )
    lib.set_defaults(func=_import_librenms)


def _import_librenms(args: argparse.Namespace) -> int:
    # Imported here: the SNMP package is not needed to start every other command.
    from probes.snmp.librenms_files import import_definitions
    from probes.snmp.profiles import Profile, ProfileError, load_profile_file

    out = Path(args.out)
    try:
        mibs = Path(args.mibs) if args.mibs else None
        conversions = import_definitions(Path(args.librenms_dir), args.os, mibs)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    counts = {"whole": 0, "partly": 0, "not": 0}
    for conversion in conversions:
        verdict = conversion.verdict
        if conversion.profile is not None:
            path = out / f"{conversion.profile['name']}.yaml"
            text = "# Converted from LibreNMS definitions (GPL-3.0) by roomwatch profiles import.\n"
            text += yaml.safe_dump(conversion.profile, sort_keys=False, allow_unicode=True)
            try:
                Profile.model_validate(conversion.profile)
                path.write_text(text, encoding="utf-8")
                load_profile_file(path)
            except (ValueError, ProfileError) as exc:
                path.unlink(missing_ok=True)
                conversion.skipped.append(f"the converted profile does not load: {exc}")
                verdict = "not"
            else:
                written += 1
        counts[verdict] += 1
        print(f"{conversion.os}: {verdict} ({conversion.sensors} sensor entries)")
        for reason in conversion.skipped:
            print(f"  skipped {reason}")
    print(
        f"{len(conversions)} OS definitions: {counts['whole']} whole, {counts['partly']} partly,"
        f" {counts['not']} not converted; {written} profiles in {out}"
    )
    if not written:
        raise Finding("no profile was written")
    return ExitCode.OK
