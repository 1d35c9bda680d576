"""The package layout of DESIGN.md §2: imports flow one way, and our generic top-level names
resolve to this repository, not to same-named packages installed elsewhere."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "probes", "inventory", "rules", "alerting", "collector")

# What each package may import of ours (DESIGN.md §2): the kernel at the floor, then one way up.
ALLOWED = {
    "core": set(),
    "probes": {"core"},
    "inventory": {"core", "probes"},
    "rules": {"core", "inventory"},
    "alerting": {"core", "inventory", "rules"},
    "collector": {"core", "probes", "inventory", "rules", "alerting"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_the_design_allows(package: str) -> None:
    offenders = []
    for path in sorted((REPO / package).rglob("*.py")):
        ours = _imports(path) & set(PACKAGES)
        wrong = ours - ALLOWED[package] - {package}
        if wrong:
            offenders.append(f"{path.relative_to(REPO)} imports {sorted(wrong)}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("package", PACKAGES)
def test_top_level_names_resolve_to_this_repository(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(REPO / package)
