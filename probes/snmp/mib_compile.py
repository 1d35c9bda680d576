"""`roomwatch mibs compile SRC… --out DIR`: MIB source files compiled with pysmi into the JSON
files roomwatch reads names from (`mib_dirs:` in roomwatch.yaml, mib_names.py).

SRC is a MIB file or a directory of them. A file may be named anything (`CISCO-ENVMON.my`,
`rfc1628.txt`): the module names are read from its `NAME DEFINITIONS ::= BEGIN` lines. Every
module in a named file is compiled; a directory only lends the modules others import (so
`roomwatch mibs compile vendor/ACME-UPS-MIB.txt /usr/share/snmp/mibs` compiles one MIB and
whatever it imports). Only local files are read: pysmi is given no HTTP reader, so nothing
is downloaded. net-snmp's own MIB directory (/usr/share/snmp/mibs) is searched too.

Each module is compiled on its own, so one with a missing import does not stop the others;
the report names what each module lacks."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SYSTEM_MIB_DIRS = (Path("/usr/share/snmp/mibs"),)
_NO_MODULE = re.compile(r'no module "([^"]+)"')
_MODULE = re.compile(rb"^\s*([A-Za-z][A-Za-z0-9-]*)\s+DEFINITIONS\s*::=\s*BEGIN", re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    module: str
    status: str  # compiled | untouched (up to date) | missing | failed
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("compiled", "untouched")


def modules_in(path: Path) -> list[str]:
    """The MIB module names a file defines (empty: not a MIB source)."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    return [m.decode("ascii") for m in _MODULE.findall(data)]


def _stage(files: Iterable[Path], staging: Path) -> dict[str, Path]:
    """Each module of the named files linked under its own name (pysmi finds a module by
    its file name); returns module → the file it came from."""
    found: dict[str, Path] = {}
    for path in files:
        for module in modules_in(path):
            if module not in found:
                found[module] = path
                target = staging / module
                if not target.exists():
                    target.symlink_to(path.resolve())
    return found


def compile_mibs(
    sources: Sequence[Path], out: Path, rebuild: bool = False
) -> tuple[list[Outcome], list[str]]:
    """Compile the modules of the source files (and, when only directories are given, every
    MIB in them) into `out`. Returns the outcome of each module asked for (dependencies
    compiled on the way are not listed) and problems with the sources themselves."""
    from pysmi.codegen import JsonCodeGen
    from pysmi.compiler import MibCompiler
    from pysmi.parser import SmiStarParser
    from pysmi.reader import FileReader
    from pysmi.writer import FileWriter

    problems: list[str] = []
    files: list[Path] = []
    dirs: list[Path] = []
    for source in sources:
        if source.is_dir():
            dirs.append(source)
        elif source.is_file():
            files.append(source)
        else:
            problems.append(f"{source}: no such file or directory")
    out.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="roomwatch-mibs-") as tmp:
        staging = Path(tmp)
        wanted = _stage(files, staging)
        for path in files:
            if not modules_in(path):
                problems.append(f"{path}: not a MIB (no 'NAME DEFINITIONS ::= BEGIN' line)")
        if not files:
            # directories only: compile every MIB in them
            for directory in dirs:
                wanted.update(
                    _stage(sorted(p for p in directory.iterdir() if p.is_file()), staging)
                )
        search = [staging, *dirs, *{p.parent for p in files}]
        search += [d for d in SYSTEM_MIB_DIRS if d.is_dir() and d not in search]
        parser = SmiStarParser()  # builds its tables once (about a second)
        for module in sorted(wanted):
            compiler = MibCompiler(
                parser, JsonCodeGen(), FileWriter(str(out)).set_options(suffix=".json")
            )
            compiler.add_sources(*(FileReader(str(d)) for d in search))
            statuses = compiler.compile(module, rebuild=rebuild, genTexts=False)
            outcomes.append(_outcome(module, statuses))
    return outcomes, problems


def _outcome(module: str, statuses: dict[str, object]) -> Outcome:
    status = str(statuses.get(module, "failed"))
    if status in ("compiled", "untouched"):
        return Outcome(module, status)
    missing = sorted(name for name, st in statuses.items() if str(st) == "missing")
    failed = {
        name: str(getattr(st, "error", "") or "")
        for name, st in statuses.items()
        if str(st) == "failed"
    }
    if failed:
        name, error = next(iter(sorted(failed.items())))
        absent = _NO_MODULE.search(error)
        if absent:  # pysmi's words for an import whose source is nowhere
            return Outcome(
                module,
                "missing",
                f"imports {absent.group(1)}, which no source names (add its file or directory)",
            )
        where = "" if name == module else f" (in {name}, which it imports)"
        return Outcome(module, "failed", f"{error or 'cannot be compiled'}{where}")
    if missing:
        lacking = [m for m in missing if m != module]
        if not lacking:
            return Outcome(module, "missing", "no source file found")
        return Outcome(
            module,
            "missing",
            f"imports {', '.join(lacking)}, which no source names (add its file or directory)",
        )
    return Outcome(module, "failed", f"pysmi says {status}")
