"""A real Prometheus scrapes the running daemon on loopback: its own figures at /metrics and
every device's readings at /metrics/devices, with the API token, and PromQL finds the values
the devices reported. `promtool check metrics` passes on both pages as the daemon serves them.

The devices: a website (a real HTTP server answering 200) and this host (the local probe)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.ops_daemon import DaemonFiles, http, start_daemon, stop_daemon, write_config
from tests.fixtures.peers import free_port, stop_process, wait_until
from tests.fixtures.prometheus_peer import Prometheus, promtool_check_metrics
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration

TOKEN = "test-scrape-token-9d2c"  # test only

INVENTORY = """
sites:
  - id: dc1
    rooms: [hall-a]
devices:
  - id: shop
    name: Web shop
    site: dc1
    room: hall-a
    kind: website
    probes:
      - type: http
        url: http://127.0.0.1:{port}/
        interval: 1s
        timeout: 2s
  - id: box
    name: This host
    site: dc1
    kind: server
    probes:
      - type: local
        interval: 1s
"""


@dataclass
class Running:
    files: DaemonFiles
    base: str

    def get(self, path: str) -> str:
        reply = http("GET", self.base + path, TOKEN)
        assert reply.status == 200, reply.text
        return reply.text


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    directory = tmp_path_factory.mktemp("prometheus")
    website = Website()
    api_port = free_port()
    files = write_config(
        directory,
        INVENTORY.format(port=website.port),
        f'{{listen: "127.0.0.1:{api_port}", credentials: api}}',
        credentials={"api": {"token": TOKEN}},
        api_port=api_port,
    )
    proc = start_daemon(files)
    running = Running(files, f"http://127.0.0.1:{api_port}")
    try:
        wait_until(
            lambda: 'device="shop"' in running.get("/metrics/devices"), 30, "the shop's readings"
        )
        yield running
    finally:
        stop_daemon(proc)
        stop_process(proc)
        website.close()


@pytest.mark.parametrize("path", ["/metrics", "/metrics/devices"])
def test_promtool_finds_nothing_to_complain_about(daemon: Running, path: str) -> None:
    checked = promtool_check_metrics(daemon.get(path))
    assert (checked.returncode, checked.stderr) == (0, "")


def test_prometheus_scrapes_the_daemon_and_promql_finds_the_readings(
    daemon: Running, tmp_path: Path
) -> None:
    prometheus = Prometheus(tmp_path / "prometheus").start(
        f"127.0.0.1:{daemon.files.api_port}", ["/metrics", "/metrics/devices"], TOKEN
    )
    try:
        status = prometheus.query_until('roomwatch_http_status{device="shop"}')
        (series,) = status
        assert series["value"][1] == "200"
        assert series["metric"] | {"job": ""} == {
            "__name__": "roomwatch_http_status",
            "device": "shop",
            "site": "dc1",
            "room": "hall-a",
            "kind": "website",
            "instance": f"127.0.0.1:{daemon.files.api_port}",
            "job": "",
        }
        assert series["metric"]["job"] == "roomwatch-devices"
        up = prometheus.query_until('roomwatch_device_up{device="box", kind="server"}')
        assert [s["value"][1] for s in up] == ["1"]
        # the host's root file system: a percentage, as a Prometheus name says
        disk = prometheus.query_until('roomwatch_disk_used_percent{device="box", mount="/"}')
        assert 0 < float(disk[0]["value"][1]) <= 100
        polls = prometheus.query_until('roomwatch_polls_total{job="roomwatch"} > 0')
        assert len(polls) == 1
        health = {t["labels"]["job"]: t["health"] for t in prometheus.targets()}
        assert health == {"roomwatch": "up", "roomwatch-devices": "up"}
    finally:
        prometheus.stop()
