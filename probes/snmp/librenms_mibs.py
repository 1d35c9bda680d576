"""MIB names → OIDs for the LibreNMS importer, from the MIBs of the user's LibreNMS checkout
(`mibs/`, vendor MIBs in subfolders named by module). LibreNMS definitions name table columns
by MIB name (`descr: sensorProbeHumidityDescription`, `skip_values: [{oid:
sensorProbeHumidityOnline …}]`); with the MIBs these become OIDs, without them such a
construct is skipped with the reason. The compiling is `mib_compile`'s (pysmi, local files
only, one module at a time) and the reading `mib_names`'s, into a scratch folder per run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from probes.snmp.ber import format_oid
from probes.snmp.mib_compile import compile_mibs
from probes.snmp.mib_names import MibNames


class DefinitionMibs:
    """Resolves names against the modules a definition names (`mib: A:B`), compiling each
    module (with what it imports) once per import run. `errors` says which did not compile."""

    def __init__(self, mib_root: Path | None) -> None:
        self.root = mib_root if mib_root is not None and mib_root.is_dir() else None
        self.errors: dict[str, str] = {}
        self._done: set[str] = set()
        self._scratch = tempfile.TemporaryDirectory(prefix="roomwatch-librenms-mibs-")
        self._out = Path(self._scratch.name)
        self._names = MibNames()

    def close(self) -> None:
        self._scratch.cleanup()

    def _source(self, module: str, mib_dir: str | None) -> Path | None:
        """The file of `module`: LibreNMS names each MIB file after its module."""
        assert self.root is not None
        for folder in ([self.root / mib_dir] if mib_dir else []) + [self.root]:
            if (folder / module).is_file():
                return folder / module
        return next((p for p in self.root.rglob(module) if p.is_file()), None)

    def _compile(self, modules: list[str], mib_dir: str | None) -> None:
        if self.root is None:
            return
        new = list(dict.fromkeys(m for m in modules if m not in self._done))
        if not new:
            return  # every name lookup passes here: reload the compiled modules only when new
        for module in new:
            self._done.add(module)
            source = self._source(module, mib_dir)
            if source is None:
                self.errors[module] = "missing"
                continue
            folders = [source.parent, self.root]
            outcomes, _ = compile_mibs([source, *dict.fromkeys(folders)], self._out)
            failed = [o for o in outcomes if o.module == module and not o.ok]
            if failed:
                self.errors[module] = f"{failed[0].status} {failed[0].detail}".strip()
        self._names = MibNames.load([self._out])

    def resolve(self, name: str, modules: list[str], mib_dir: str | None) -> str | None:
        """The dotted OID of `name` (or `MODULE::name`) in `modules` or what they import."""
        if "::" in name:
            modules = [name.split("::", 1)[0], *modules]
        self._compile(modules, mib_dir)
        symbol = self._names.by_name.get(name)
        return format_oid(symbol.oid) if symbol is not None else None

    def enums(self, name: str, modules: list[str], mib_dir: str | None) -> dict[int, str]:
        """The enumeration (number → label) of the object `name`, or {} when it has none."""
        if "::" in name:
            modules = [name.split("::", 1)[0], *modules]
        self._compile(modules, mib_dir)
        symbol = self._names.by_name.get(name)
        return dict(symbol.enums) if symbol is not None else {}

    def why_not(self, modules: list[str]) -> str:
        """Why a name did not resolve, in the admin's words."""
        if self.root is None:
            return "no mibs/ folder in the checkout (give --mibs DIR)"
        failed = [f"{m}: {self.errors[m]}" for m in modules if m in self.errors]
        if failed:
            return "its MIB did not compile (" + "; ".join(failed) + ")"
        return f"not in MIB {', '.join(modules) or '(none named)'}"
