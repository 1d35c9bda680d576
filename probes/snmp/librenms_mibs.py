"""MIB names → OIDs for the LibreNMS importer, from the MIBs of the user's LibreNMS checkout
(`mibs/`, vendor MIBs in subfolders), compiled with pysmi (the field's MIB compiler) to its
JSON form in memory. LibreNMS definitions name table columns by MIB name (`descr:
sensorProbeHumidityDescription`, `skip_values: [{oid: sensorProbeHumidityOnline …}]`); with
the MIBs these become OIDs, without them such a construct is skipped with the reason."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class MibNames:
    """Resolves names against the modules a definition names (`mib: A:B`), compiling each
    module (and what it imports) once per import run. `errors` says which did not compile."""

    def __init__(self, mib_root: Path | None) -> None:
        self.root = mib_root if mib_root is not None and mib_root.is_dir() else None
        self._names: dict[str, dict[str, str]] = {}  # module → name → dotted OID
        self.errors: dict[str, str] = {}
        self._compiler: Any = None
        self._compiled: dict[str, str] = {}  # module → its JSON, as pysmi wrote it

    def _compile(self, modules: Iterable[str], mib_dir: str | None) -> None:
        wanted = [m for m in modules if m not in self._names and m not in self.errors]
        if not wanted or self.root is None:
            return
        # pysmi logs every lookup at debug level and a few lines at info: not for our output.
        logging.getLogger("pysmi").setLevel(logging.WARNING)
        from pysmi.codegen import JsonCodeGen
        from pysmi.compiler import MibCompiler
        from pysmi.parser import SmiStarParser
        from pysmi.reader import FileReader
        from pysmi.writer import CallbackWriter

        def keep(name: str, data: str, _ctx: Any) -> None:
            self._compiled[name] = data

        compiler = MibCompiler(SmiStarParser(), JsonCodeGen(), CallbackWriter(keep))
        sources = []
        if mib_dir and (self.root / mib_dir).is_dir():
            sources.append(FileReader(str(self.root / mib_dir), recursive=False))
        sources.append(FileReader(str(self.root), recursive=False))
        sources.append(FileReader(str(self.root), recursive=True))
        compiler.add_sources(*sources)
        for module in wanted:
            # One module at a time: pysmi marks every module of a call "unprocessed" when one
            # of them is missing, and definitions name MIBs a checkout may not have.
            status = compiler.compile(module, noDeps=False).get(module)
            if module not in self._compiled:
                error = getattr(status, "error", None) or str(status or "not found")
                self.errors[module] = str(error).splitlines()[0][:200]
        for module, data in self._compiled.items():
            if module not in self._names:
                self._names[module] = _oids(json.loads(data))

    def resolve(self, name: str, modules: list[str], mib_dir: str | None) -> str | None:
        """The dotted OID of `name` (or `MODULE::name`) in `modules` or what they import."""
        if "::" in name:
            module, name = name.split("::", 1)
            modules = [module, *modules]
        self._compile(modules, mib_dir)
        for module in modules:
            found = self._names.get(module, {}).get(name)
            if found is not None:
                return found
        for names in self._names.values():  # an imported module's symbol
            found = names.get(name)
            if found is not None:
                return found
        return None

    def why_not(self, modules: list[str]) -> str:
        """Why a name did not resolve, in the admin's words."""
        if self.root is None:
            return "no mibs/ folder in the checkout (give --mibs DIR)"
        failed = [f"{m}: {self.errors[m]}" for m in modules if m in self.errors]
        if failed:
            return "its MIB did not compile (" + "; ".join(failed) + ")"
        return f"not in MIB {', '.join(modules) or '(none named)'}"


def _oids(document: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, symbol in document.items():
        if isinstance(symbol, dict) and "oid" in symbol:
            out[str(symbol.get("name", key))] = str(symbol["oid"])
    return out
