"""The compiled hot path against the plain one (core/compiled.py): every shared recording,
replayed by snmpsim, polled and carried through the line encoder, the latest readings and the
rule engine, once by the modules mypyc compiled and once by their sources as plain Python
(ROOMWATCH_PLAIN_PYTHON=1), must give the very same samples, lines, readings and faults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.compiled_list import listed_modules
from tests.fixtures.peers import stop_process
from tests.fixtures.snmp_peers import Agent, start_snmpsim

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    agent = start_snmpsim(tmp_path_factory.mktemp("snmpsim"))
    yield agent
    stop_process(agent.proc)


def replay(agent: Agent, tmp_path: Path, plain: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "ROOMWATCH_PLAIN_PYTHON"}
    if plain:
        env["ROOMWATCH_PLAIN_PYTHON"] = "1"
    rules = tmp_path / ("plain" if plain else "compiled")
    rules.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "tests.fixtures.hot_path_replay", agent.address, str(rules)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_compiled_and_plain_python_poll_encode_and_grade_every_recording_alike(
    snmpsim: Agent, tmp_path: Path
) -> None:
    compiled = replay(snmpsim, tmp_path, plain=False)
    plain = replay(snmpsim, tmp_path, plain=True)
    assert plain["compiled"] == []
    if not compiled["compiled"]:
        pytest.skip("installed as plain Python (ROOMWATCH_COMPILE=0): nothing to compare with")
    # every listed module the replay imports ran compiled
    assert set(compiled["compiled"]) == set(listed_modules())
    # something of every kind to compare: all recordings polled, rates on the later rounds
    assert len(plain["samples"]) > 3_000
    assert any(s["metric"].endswith(".rate") for s in plain["samples"])
    assert len(plain["lines"]) > 3_000
    assert len(plain["latest"]) > 1_000
    assert any("any-port-not-up" in f for f in plain["faults"])
    assert any("traffic-seen" in f for f in plain["faults"])
    for part in ("samples", "lines", "latest", "faults"):
        assert compiled[part] == plain[part], part
