"""Reading a LibreNMS checkout for the importer: its OS and discovery definitions as
LibreNMS reads them (YAML 1.2) and the MIBs they name, each OS handed to `librenms.convert_os`.
`import_definitions` is what `roomwatch profiles import librenms` calls."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from probes.snmp.librenms import Conversion, convert_os
from probes.snmp.librenms_mibs import DefinitionMibs
from probes.snmp.librenms_sensors import Names


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as LibreNMS (Symfony, YAML 1.2) reads it: `No`, `Off`, `yes` are strings, not
    booleans (a state named "No" must stay "No"), and a bare `=` (`op: =` in a detection
    rule) is the string "=", not YAML 1.1's value key, which SafeLoader cannot build."""


_YAML11_ONLY = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:value")
_Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_definition(path: Path) -> dict[str, Any]:
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    return loaded if isinstance(loaded, dict) else {}


# Where a checkout keeps the OS detection and the sensor discovery files: LibreNMS moved them
# in includes/definitions/ (and its discovery/) in older checkouts, in resources/definitions/
# os_detection/ and os_discovery/ in newer ones; a checkout of either age is read.
LAYOUTS = (
    (Path("resources/definitions/os_detection"), Path("resources/definitions/os_discovery")),
    (Path("includes/definitions"), Path("includes/definitions/discovery")),
)


def definition_dirs(librenms_dir: Path) -> tuple[Path, Path]:
    """The (detection, discovery) folders of a checkout, newest layout first. Raises
    FileNotFoundError when the directory has neither."""
    for detection, discovery in LAYOUTS:
        if (librenms_dir / detection).is_dir():
            return librenms_dir / detection, librenms_dir / discovery
    raise FileNotFoundError(
        f"{librenms_dir}: neither resources/definitions/os_detection/ nor"
        " includes/definitions/ (not a LibreNMS checkout?)"
    )


def import_definitions(
    librenms_dir: Path, only: Iterable[str] = (), mibs: Path | None = None
) -> list[Conversion]:
    """Convert every OS definition of a LibreNMS checkout (or only the OS names given),
    resolving MIB names with the MIBs in `mibs` (default: the checkout's `mibs/`).
    Raises FileNotFoundError when the directory is no LibreNMS checkout."""
    detection, discovery = definition_dirs(librenms_dir)
    mib_names = DefinitionMibs(mibs if mibs is not None else librenms_dir / "mibs")
    try:
        return _convert_all(detection, discovery, set(only), mib_names)
    finally:
        mib_names.close()


def _convert_all(
    definitions: Path, discovery_dir: Path, wanted: set[str], mib_names: DefinitionMibs
) -> list[Conversion]:
    out = []
    for path in sorted(definitions.glob("*.yaml")):
        if wanted and path.stem not in wanted:
            continue
        discovery_path = discovery_dir / path.name
        try:
            discovery = read_definition(discovery_path) if discovery_path.is_file() else None
            os_def = read_definition(path)
            modules = [m for m in str((discovery or {}).get("mib") or "").split(":") if m]
            mib_dir = os_def.get("mib_dir")
            mib_dir = str(mib_dir[0] if isinstance(mib_dir, list) and mib_dir else mib_dir or "")
            names = _names_for(mib_names, modules, mib_dir or None)
            out.append(convert_os(os_def, discovery, path.stem, names))
        except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # One broken file costs its OS, never the whole import.
            failed = Conversion(path.stem)
            failed.skipped.append(f"{path.name}: could not be read ({exc})")
            out.append(failed)
    missing = wanted - {c.os for c in out}
    for name in sorted(missing):
        out.append(Conversion(name, skipped=[f"{name}: no {definitions / (name + '.yaml')}"]))
    return out


def _names_for(mib_names: DefinitionMibs, modules: list[str], mib_dir: str | None) -> Names:
    def resolve(name: str) -> str | None:
        return mib_names.resolve(name, modules, mib_dir)

    def why() -> str:
        return mib_names.why_not(modules)

    def enums(name: str) -> dict[int, str]:
        return mib_names.enums(name, modules, mib_dir)

    return Names(resolve, why, enums)
