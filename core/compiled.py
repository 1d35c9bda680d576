"""Which of roomwatch's modules run compiled, and the switch that runs them all as plain Python.

The hot path (the SNMP wire and sample building, the line encoder, the latest readings, the
rule engine: pyproject.toml, [tool.roomwatch] compiled) is compiled to C by mypyc when roomwatch
is installed (setup.py): the same sources, type-checked by mypy --strict, become extension
modules next to them. Python finds an extension module before the source of the same name, so
two things need saying out loud:

- a source edited after it was compiled is not what runs (`stale`): the daemon warns at start
  and the test suite refuses to run until `.ci/setup` has compiled it again;
- `ROOMWATCH_PLAIN_PYTHON=1` loads every roomwatch module from its source, compiled or not
  (`load_sources_first`, called by the packages' `__init__` before any compiled module can
  load): the tests run the plain path this way against the compiled one, and a profiler
  that reads Python frames (py-spy) sees the whole daemon.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGES = frozenset({"core", "probes", "inventory", "rules", "alerting", "collector"})
PLAIN_ENV = "ROOMWATCH_PLAIN_PYTHON"
_EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)
# An installed package's files get their times from the wheel; a source within this of its
# extension module was not edited after the build.
_SAME_BUILD_S = 2.0


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Finds roomwatch's modules as source files only (never the extension modules)."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if path is None or fullname.partition(".")[0] not in PACKAGES:
            return None  # a top-level package: its __init__ is a source file anyway
        loaders = [(importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES)]
        for entry in path:
            spec = importlib.machinery.FileFinder(entry, *loaders).find_spec(fullname, target)
            if spec is not None:
                return spec
        return None


def plain_python_asked() -> bool:
    return os.environ.get(PLAIN_ENV, "") not in ("", "0")


def load_sources_first() -> None:
    """With ROOMWATCH_PLAIN_PYTHON set, load roomwatch's modules from their sources from now
    on. Idempotent."""
    if plain_python_asked() and not any(isinstance(f, _SourcesFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourcesFirst())


def is_compiled(module: ModuleType) -> bool:
    return str(getattr(module, "__file__", "") or "").endswith(_EXTENSION_SUFFIXES)


def compiled_modules() -> list[str]:
    """The roomwatch modules loaded so far that run compiled, by name."""
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if name.partition(".")[0] in PACKAGES and module is not None and is_compiled(module)
    )


def stale(names: Sequence[str] | None = None) -> list[str]:
    """The source files (paths) edited after their module was compiled: what runs is older
    than what they say. `names`: the modules to look at (default: every compiled one loaded)."""
    out = []
    for name in compiled_modules() if names is None else names:
        module = sys.modules.get(name)
        if module is None or not is_compiled(module):
            continue
        built = Path(str(module.__file__))
        source = built.with_name(built.name.split(".", 1)[0] + ".py")
        try:
            if source.stat().st_mtime > built.stat().st_mtime + _SAME_BUILD_S:
                out.append(str(source))
        except FileNotFoundError:
            continue  # installed without sources: nothing to be out of date with
    return out


def log_how_it_runs(log: logging.Logger) -> None:
    """Say which modules run compiled (those loaded by now: call it once the probes are
    built), and warn of any whose source was edited after it was compiled."""
    names = compiled_modules()
    if names:
        log.info("compiled hot path: %d modules (mypyc)", len(names))
    else:
        why = f"{PLAIN_ENV} is set" if plain_python_asked() else "none compiled"
        log.info("compiled hot path: plain Python (%s)", why)
    for source in stale(names):
        log.warning(
            "%s was edited after it was compiled: the daemon runs the old compiled code"
            " (run .ci/setup to compile it again, or set %s=1)",
            source,
            PLAIN_ENV,
        )
