"""`roomwatch mibs compile SRC… --out DIR` and `roomwatch mibs name NAME|OID…`.

compile: MIB source files (or directories lending the MIBs they import) compiled with pysmi
into JSON in DIR; name DIR in `mib_dirs:` of roomwatch.yaml and traps, their varbinds and
OIDs are shown by name. Exit 0 when every module compiled, 1 when one did not (each line
says why), 2 when a source is not there.

name: translate, as snmptranslate does: `IF-MIB::ifDescr.3` → 1.3.6.1.2.1.2.2.1.2.3 and
back, with the MIBs of `--mib-dir` (default: `mib_dirs` of roomwatch.yaml)."""

from __future__ import annotations

import argparse
from pathlib import Path

from collector.commands.errors import ExitCode, Finding, UsageError
from collector.config import DEFAULT_CONFIG, load_config
from core.yamlsource import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mibs", help="compile MIBs, so traps and OIDs are shown by name")
    what = p.add_subparsers(dest="mibs_command", metavar="COMMAND", required=True)
    c = what.add_parser("compile", help="compile MIB source files with pysmi", description=__doc__)
    c.add_argument("sources", nargs="+", type=Path, metavar="SRC", help="MIB file or directory")
    c.add_argument("--out", required=True, type=Path, help="where the compiled MIBs go")
    c.add_argument("--rebuild", action="store_true", help="compile again what is up to date")
    c.set_defaults(func=_compile)
    n = what.add_parser("name", help="a name to its OID, an OID to its name")
    n.add_argument("names", nargs="+", metavar="NAME|OID")
    add_mib_dir_option(n)
    n.set_defaults(func=_name)


def add_mib_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mib-dir",
        action="append",
        type=Path,
        default=None,
        help="compiled MIBs (repeatable; default: mib_dirs of roomwatch.yaml)",
    )
    parser.add_argument(
        "-c", "--config", default=str(DEFAULT_CONFIG), help="roomwatch.yaml (for its mib_dirs)"
    )


def mib_dirs(given: list[Path] | None, config: str) -> list[Path]:
    """--mib-dir when given, else the config's mib_dirs (none when it cannot be read: the
    default config may not exist on a workstation)."""
    if given:
        return given
    try:
        return load_config(config).mib_dirs
    except ConfigError:
        return []


def _compile(args: argparse.Namespace) -> int:
    from probes.snmp.mib_compile import compile_mibs

    outcomes, problems = compile_mibs(args.sources, args.out, rebuild=args.rebuild)
    if problems:
        raise UsageError(*(f"roomwatch mibs compile: {p}" for p in problems))
    if not outcomes:
        raise Finding("roomwatch mibs compile: no MIB module found in the sources given")
    for outcome in outcomes:
        detail = f": {outcome.detail}" if outcome.detail else ""
        print(f"{outcome.status:<10} {outcome.module}{detail}")
    if not all(o.ok for o in outcomes):
        return ExitCode.FINDING
    print(f"ok: {len(outcomes)} modules in {args.out} (name it in mib_dirs: of roomwatch.yaml)")
    return ExitCode.OK


def _name(args: argparse.Namespace) -> int:
    from probes.snmp import ber
    from probes.snmp.mib_names import MibNames, UnknownName

    names = MibNames.load(mib_dirs(args.mib_dir, args.config))
    failed = []
    for text in args.names:
        try:
            oid = names.oid_of(text)
        except UnknownName as exc:
            failed.append(f"roomwatch mibs name: {exc}")
            continue
        numeric = text.strip().lstrip(".")[:1].isdigit()
        print(names.text_of(oid) if numeric else ber.format_oid(oid))
    if failed:
        raise Finding(*failed)
    return ExitCode.OK
