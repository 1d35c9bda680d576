"""core/compiled.py: which modules run compiled, a source edited after compiling, and the
switch that runs everything as plain Python. (That both ways compute the same:
tests/integration/test_compiled_same.py.)"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from core import compiled
from core.compiled import compiled_modules, log_how_it_runs, stale

REPO = Path(__file__).resolve().parents[2]
SUFFIX = ".cpython-311-x86_64-linux-gnu.so"


def fake_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    """A module of ours that looks compiled: an extension file with its source beside it."""
    built = tmp_path / f"{name.rpartition('.')[2]}{SUFFIX}"
    built.write_bytes(b"")
    source = built.with_name(f"{name.rpartition('.')[2]}.py")
    source.write_text("")
    module = types.ModuleType(name)
    module.__file__ = str(built)
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(compiled, "_EXTENSION_SUFFIXES", (SUFFIX,))
    return source


def test_a_source_edited_after_compiling_is_named_and_a_fresh_build_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = fake_compiled(tmp_path, monkeypatch, "probes.snmp.fake_hot")
    built = source.with_name(f"fake_hot{SUFFIX}")
    os.utime(source, (1_000.0, 1_000.0))
    os.utime(built, (1_001.0, 1_001.0))  # the build, after the source
    assert "probes.snmp.fake_hot" in compiled_modules()
    assert stale(["probes.snmp.fake_hot"]) == []
    os.utime(source, (1_600.0, 1_600.0))  # edited ten minutes later
    assert stale(["probes.snmp.fake_hot"]) == [str(source)]
    assert str(source) in stale()
    source.unlink()  # installed without sources: nothing to be out of date with
    assert stale(["probes.snmp.fake_hot"]) == []


def test_plain_python_switch_loads_every_module_from_its_source() -> None:
    code = (
        "import probes.snmp.ber, rules.engine, collector.latest;"
        "from core.compiled import compiled_modules;"
        "print(probes.snmp.ber.__file__, rules.engine.__file__, len(compiled_modules()))"
    )
    env = {**os.environ, "ROOMWATCH_PLAIN_PYTHON": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    ber, engine, count = done.stdout.split()
    assert ber.endswith("probes/snmp/ber.py") and engine.endswith("rules/engine.py")
    assert count == "0"


def test_the_daemon_says_how_its_hot_path_runs_and_warns_of_an_edited_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    source = fake_compiled(tmp_path, monkeypatch, "rules.fake_hot")
    os.utime(source.with_name(f"fake_hot{SUFFIX}"), (1_000.0, 1_000.0))
    with caplog.at_level(logging.INFO, logger="roomwatch"):
        log_how_it_runs(logging.getLogger("roomwatch"))
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("compiled hot path: ") and m.endswith(" modules (mypyc)") for m in said)
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith(f"{source} was edited after it was compiled")
    assert ".ci/setup" in warning.getMessage()


def test_nothing_compiled_is_said_as_plain_python(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("core.compiled.compiled_modules", list)
    monkeypatch.setenv("ROOMWATCH_PLAIN_PYTHON", "1")
    with caplog.at_level(logging.INFO, logger="roomwatch"):
        log_how_it_runs(logging.getLogger("roomwatch"))
    assert [r.getMessage() for r in caplog.records] == [
        "compiled hot path: plain Python (ROOMWATCH_PLAIN_PYTHON is set)"
    ]
