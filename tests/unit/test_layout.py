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


# ------------------------------------------------------------------------ import circles
#
# Every import statement counts, wherever it stands: at module level, under `if TYPE_CHECKING`
# (mypy and every reader still see the two modules as one knot, and the next runtime import
# of the same name closes the circle) and inside a function (a deferred import only hides a
# circle until the function runs; messages ↔ notices ↔ mailing was one). Not counted: that
# importing `a.b` first runs `a/__init__.py`; a package re-exporting its submodules is how a
# package is made, and an explicit `from a import x` still counts as an edge to `a`.


def module_names(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name → file, for every module of `packages` under `root`."""
    out: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Module → the modules of ours it imports (the longest dotted prefix that is a module)."""
    modules = module_names(root, packages)

    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(ours(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from . import x, from ..a import b
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    targets.add(ours(f"{base}.{alias.name}") if base else ours(alias.name))
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle (a → b → … → a) for every knot of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    knots: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            knot = set()
            while True:
                member = stack.pop()
                knot.add(member)
                if member == node:
                    break
            if len(knot) > 1:
                knots.append(knot)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    circles = []
    for knot in knots:
        start = min(knot)
        paths = {start: [start]}
        queue = [start]
        while queue:  # the shortest way round from `start` back to itself, inside the knot
            node = queue.pop(0)
            if start in graph[node]:
                circles.append([*paths[node], start])
                break
            for target in sorted(graph[node] & knot):
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    queue.append(target)
    return sorted(circles)


def test_no_module_imports_itself_round_a_circle() -> None:
    circles = import_circles(import_graph(REPO, PACKAGES))
    assert not circles, "import circles:\n" + "\n".join(" → ".join(c) for c in circles)


def test_the_circle_finder_sees_deferred_type_checking_and_relative_imports(
    tmp_path: Path,
) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "pkg/b.py": "def f():\n    from . import c\n",
        "pkg/c.py": "import pkg.a\n",
        "pkg/d.py": "from pkg import a\n",  # into the knot, not part of it
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.d"] == {"pkg.a"}
    assert import_circles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
