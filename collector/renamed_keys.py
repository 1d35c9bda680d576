"""Config keys renamed between releases: the old name keeps working for one release, with a
warning naming the file, the line and the new name (docs/upgrade.md).

    RENAMED = {("api", "old_name"): Rename("new_name", until="0.3")}

A path is the keys from the top of roomwatch.yaml down to the renamed one. `apply_renames`
moves each old key that is present to its new name (keeping its line for error messages)
before the file is validated, so the rest of roomwatch only ever sees the new name. Writing
both names is an error: which one was meant cannot be guessed.

Add an entry when renaming a key; remove it in the release named by `until`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.yamlsource import ConfigError, LineDict


@dataclass(frozen=True)
class Rename:
    new: str
    until: str  # the first release that no longer reads the old name


RENAMED: dict[tuple[str, ...], Rename] = {}


def apply_renames(
    data: LineDict, path: Path, renamed: Mapping[tuple[str, ...], Rename] | None = None
) -> list[str]:
    """Rename in place; returns one warning per old name found. Raises ConfigError when a
    mapping holds the old and the new name."""
    warnings: list[str] = []
    for keys, rename in (RENAMED if renamed is None else renamed).items():
        parent: object = data
        for key in keys[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        old = keys[-1]
        if not isinstance(parent, LineDict) or old not in parent:
            continue
        line, column = parent.positions.get(old, parent.start)
        where = ".".join((*keys[:-1], old))
        if rename.new in parent:
            raise ConfigError.single(
                path,
                f"{where} and {rename.new} both given: {old} is the old name, keep only {rename.new}",
                line,
                column,
            )
        parent[rename.new] = parent.pop(old)
        parent.positions[rename.new] = (line, column)
        warnings.append(
            f"{path}:{line}: {where!r} is now {rename.new!r} (the old name is read until"
            f" roomwatch {rename.until}; rename it)"
        )
    return warnings
