"""Every shipped Grafana dashboard against the data the daemon really writes.

Grafana cannot be installed here, so instead: the daemon watches a small room of real peers
(tests/fixtures/sample_room.py) and writes through its InfluxDB sink into a real
VictoriaMetrics, which also scrapes its /metrics and /metrics/devices. Then

- prometheus/ and victoriametrics/: every panel's PromQL and every variable's
  `label_values(…)` runs against VictoriaMetrics (Grafana's variables filled in as "All");
  a query that errors or returns nothing fails the test.
- influxdb/: InfluxQL cannot run on VictoriaMetrics (it answers InfluxQL with nothing at
  all), so what is checked is what can be honestly: every measurement a query reads from, and
  every field and tag it names, exists in what the sink wrote (VictoriaMetrics keeps a line
  `battery,device=u charge=95` as `battery_charge{device="u"}`, text fields included, as 0).
  Whether InfluxDB would accept the InfluxQL itself is not tested here."""

from __future__ import annotations

import json
import re
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.peers import REPO
from tests.fixtures.sample_room import Room, sample_room

pytestmark = pytest.mark.integration

DASHBOARDS = REPO / "dashboards"
PROMQL_FILES = sorted(
    [*DASHBOARDS.glob("prometheus/*.json"), *DASHBOARDS.glob("victoriametrics/*.json")]
)
INFLUX_FILES = sorted(DASHBOARDS.glob("influxdb/*.json"))
# Grafana's variables as a user opening a dashboard gets them: every site, every device
GRAFANA = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$site": ".*",
    "$device": ".*",
    "$job": ".*",
}


def filled(query: str) -> str:
    for name, value in GRAFANA.items():
        query = query.replace(name, value)
    return query


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    with sample_room(tmp_path_factory.mktemp("dashboards")) as running:
        yield running


def promql(room: Room, query: str) -> list[dict[str, Any]]:
    try:
        body = json.loads(room.vm.get("/api/v1/query", {"query": query, "time": str(time.time())}))
    except urllib.error.HTTPError as exc:
        pytest.fail(f"{query}: {exc.code} {exc.read().decode()[:300]}")
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def until_answered(room: Room, query: str, timeout: float = 40.0) -> list[dict[str, Any]]:
    """The first sample needs a poll, a flush and (for rate) two scrapes: poll, then judge."""
    deadline = time.monotonic() + timeout
    while True:
        room.vm.get("/internal/force_flush")
        result = promql(room, query)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def targets(path: Path) -> list[tuple[str, str]]:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            out.append((panel["title"], target.get("expr") or target.get("query")))
    return out


def variables(path: Path) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["templating"][
        "list"
    ]
    return [v for v in listed if v["type"] == "query"]


def test_every_flavour_has_the_seven_dashboards() -> None:
    for flavour in ("prometheus", "victoriametrics", "influxdb"):
        names = sorted(p.stem for p in (DASHBOARDS / flavour).glob("*.json"))
        assert names == ["environment", "hosts", "network", "overview", "self", "ups", "websites"]


@pytest.mark.parametrize("path", PROMQL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_panel_query_returns_data(room: Room, path: Path) -> None:
    for title, query in targets(path):
        assert until_answered(room, filled(query)), f"{path.name} panel {title!r}: {query}"


LABEL_VALUES = re.compile(r"label_values\((?P<series>.+), (?P<label>\w+)\)")


@pytest.mark.parametrize("path", PROMQL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_variable_offers_values(room: Room, path: Path) -> None:
    for variable in variables(path):
        match = LABEL_VALUES.fullmatch(variable["query"])
        assert match, variable["query"]
        until_answered(room, filled(match["series"]))
        body = json.loads(
            room.vm.get(
                f"/api/v1/label/{match['label']}/values", {"match[]": filled(match["series"])}
            )
        )
        assert [v for v in body["data"] if v], f"{path.name} ${variable['name']}: no values"


QUOTED = re.compile(r'"([^"]+)"')
FROM = re.compile(r'FROM "([^"]+)"')


def written_names(room: Room, measurement: str) -> tuple[set[str], set[str]]:
    """The fields and the tags the sink wrote for one measurement."""
    until_answered(room, f'{{__name__=~"{measurement}_.+"}}')
    series = json.loads(
        room.vm.get("/api/v1/series", {"match[]": f'{{__name__=~"{measurement}_.+"}}'})
    )["data"]
    fields = {s["__name__"].removeprefix(f"{measurement}_") for s in series}
    tags = {key for s in series for key in s if key != "__name__"}
    return fields, tags


@pytest.mark.parametrize("path", INFLUX_FILES, ids=lambda p: p.name)
def test_influxql_reads_only_measurements_fields_and_tags_the_sink_writes(
    room: Room, path: Path
) -> None:
    queries = [q for _, q in targets(path)] + [v["query"] for v in variables(path)]
    for query in queries:
        (measurement,) = FROM.findall(query)
        fields, tags = written_names(room, measurement)
        assert fields, f"{path.name}: nothing written to measurement {measurement!r}: {query}"
        named = set(QUOTED.findall(query)) - {measurement}
        unknown = named - fields - tags
        assert not unknown, f"{path.name}: {sorted(unknown)} not written: {query}"
