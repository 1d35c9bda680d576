"""Finding and loading device profiles: YAML data files that say which registers or which reply
fields of a device map to which metric.

A profile is named either by its shipped name (`probes/profiles/<kind>/<name>.yaml`) or by a
path to an admin's own file (relative paths in an inventory file are taken from its folder). Profiles are validated with the caller's pydantic model and cached
per file; a broken profile is a configuration error (ValueError naming the file and the
problem), raised when the inventory is loaded, not at poll time.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from probes.profile_files import ProfileFileError, read_profile

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"

_M = TypeVar("_M", bound=BaseModel)


def shipped(kind: str) -> list[str]:
    """Names of the profiles shipped for `kind` (e.g. "modbus", "serial")."""
    return sorted(p.stem for p in (PROFILES_DIR / kind).glob("*.yaml"))


def is_path(name: str) -> bool:
    """Whether a `profile:` setting names a file rather than a shipped profile."""
    return name.endswith((".yaml", ".yml")) or "/" in name


def resolve_setting(name: str, context: Any) -> str:
    """The `profile:` setting as the probe will use it. A relative path written in an inventory
    file is taken from that file's folder (the loader passes it as validation context
    `base_dir`), not from wherever the daemon or `roomwatch check` was started."""
    base = context.get("base_dir") if isinstance(context, dict) else None
    if base is None or not is_path(name):
        return name
    path = Path(name).expanduser()
    return name if path.is_absolute() else str(Path(base) / path)


def profile_path(kind: str, name: str) -> Path:
    path = Path(name).expanduser() if is_path(name) else PROFILES_DIR / kind / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(shipped(kind)) or "none"
        raise ValueError(
            f"no {kind} profile {name!r} (shipped: {known}; or give a path to a .yaml)"
        )
    return path


def load_profile(kind: str, name: str, model: type[_M]) -> _M:
    """The validated profile. Raises ValueError with the file and every problem found."""
    path = profile_path(kind, name)
    profile: _M = _load(path.resolve(), path.stat().st_mtime_ns, model)
    return profile


@lru_cache(maxsize=128)
def _load(path: Path, _mtime_ns: int, model: type[_M]) -> _M:
    try:
        return read_profile(path, model)
    except ProfileFileError as exc:
        raise ValueError(f"profile {exc}") from None
