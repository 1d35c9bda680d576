"""The dashboards in dashboards/ are what dashboards/generate.py writes, and each is a
dashboard Grafana can provision: a unique uid, a data source variable every panel uses."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from tests.fixtures.peers import REPO

DASHBOARDS = REPO / "dashboards"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboards_generate", DASHBOARDS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dashboards_generate"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_files_are_what_the_generator_writes() -> None:
    expected: dict[Path, str] = generator().rendered()
    on_disk = {
        p.relative_to(DASHBOARDS): p.read_text(encoding="utf-8")
        for p in DASHBOARDS.glob("*/*.json")
    }
    assert sorted(on_disk) == sorted(expected), "run: .venv/bin/python dashboards/generate.py"
    for path, text in expected.items():
        assert on_disk[path] == text, (
            f"{path} is stale: run .venv/bin/python dashboards/generate.py"
        )


def test_each_dashboard_provisions_on_its_own() -> None:
    uids = []
    for path in sorted(DASHBOARDS.glob("*/*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        uids.append(dashboard["uid"])
        assert len(dashboard["uid"]) <= 40  # Grafana's limit
        names = [v["name"] for v in dashboard["templating"]["list"]]
        assert names[:3] == ["datasource", "site", "device"], path
        assert dashboard["panels"], path
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}", (path, panel["title"])
            assert len(panel["targets"]) == 1
    assert len(uids) == len(set(uids)) == 21
