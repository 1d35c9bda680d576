"""The suite tests what runs: a compiled module whose source was edited since it was compiled
(core/compiled.py) would be tested as the old code, so the run stops and says what to do."""

from __future__ import annotations

import importlib

import pytest

from core.compiled import stale
from tests.fixtures.compiled_list import listed_modules


def pytest_sessionstart(session: pytest.Session) -> None:
    names = listed_modules()
    for name in names:
        importlib.import_module(name)
    edited = stale(names)
    if edited:
        pytest.exit(
            "edited after they were compiled (the tests would run the old code): "
            + ", ".join(edited)
            + "; run .ci/setup to compile them again, or ROOMWATCH_PLAIN_PYTHON=1 to test"
            " the sources as plain Python",
            returncode=3,
        )
