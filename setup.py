"""The build's one dynamic part: the hot path compiled to C by mypyc (docs/compiled.md).

Everything else about the package is in pyproject.toml. Only with ROOMWATCH_COMPILE=1 (as
.ci/setup builds it): mypyc type-checks the modules listed under [tool.roomwatch] compiled with
every dependency's types, so it needs mypy, a C compiler, Python's headers and the
dependencies installed (`pip install --no-build-isolation`). Otherwise the package is plain
Python, built anywhere."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def compiled_modules() -> list[str]:
    with open(HERE / "pyproject.toml", "rb") as f:
        return list(tomllib.load(f)["tool"]["roomwatch"]["compiled"])


def ext_modules() -> list[object]:
    if os.environ.get("ROOMWATCH_COMPILE", "0") != "1":
        return []
    from mypyc.build import mypycify

    return list(mypycify(compiled_modules(), opt_level="3"))


setup(ext_modules=ext_modules())
