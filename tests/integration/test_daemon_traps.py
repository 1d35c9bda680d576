"""The daemon's trap receiver: a linkDown trap sent by net-snmp's snmptrap to the running
daemon becomes an `ifOperStatus` sample of the inventory device that sent it, a rule grades
it, and an incident opens; a linkUp resolves it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.peers import REPO, free_udp_port, stop_process, wait_until
from tests.fixtures.snmp_peers import snmptrap
from tests.fixtures.store_peek import all_closed, open_rules

pytestmark = pytest.mark.integration

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"
IF_INDEX = "1.3.6.1.2.1.2.2.1.1.7"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1.7"


def write_config(tmp: Path, trap_port: int) -> Path:
    (tmp / "rules").mkdir()
    (tmp / "inventory.yaml").write_text(
        "devices:\n  - id: core-sw1\n    name: Core switch\n    kind: switch\n"
        "    criticality: 1\n    probes:\n      - type: snmp\n        address: 127.0.0.1:9\n"
        "        credentials: snmp-ro\n        interval: 1h\n",
        "utf-8",
    )
    (tmp / "credentials.yaml").write_text("snmp-ro: {community: public}\n", "utf-8")
    (tmp / "credentials.yaml").chmod(0o600)
    (tmp / "rules" / "ports.yaml").write_text(
        "groups:\n  - name: network\n    rules:\n      - name: port-down\n"
        "        select: {kind: switch}\n        metric: ifOperStatus\n"
        '        levels: {2: "== 2"}\n        summary:\n'
        '          zh: "{device.name} 端口 {labels.ifName} 断开"\n'
        '          en: "{device.name} port {labels.ifName} down"\n',
        "utf-8",
    )
    config = tmp / "roomwatch.yaml"
    config.write_text(
        "inventory: inventory.yaml\nrules: [rules/]\ncredentials: credentials.yaml\n"
        "state_dir: state\napi: {enabled: false}\n"
        f"traps:\n  listen: 127.0.0.1:{trap_port}\n  credentials: [snmp-ro]\n",
        "utf-8",
    )
    return config


def incidents(config: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "collector.cli", "incidents", "list", "--json", "-c", str(config)],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=True,
    ).stdout  # fmt: skip
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def send(tmp: Path, port: int, trap: str) -> None:
    args = ["-v2c", "-c", "public", f"127.0.0.1:{port}", "", trap]
    args += [IF_INDEX, "i", "7", IF_NAME, "s", "Gi1/0/7"]
    asyncio.run(snmptrap(tmp / "snmp-persist", *args))


def test_a_link_down_trap_opens_an_incident_and_link_up_resolves_it(tmp_path: Path) -> None:
    port = free_udp_port()
    config = write_config(tmp_path, port)
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "run", "-c", str(config)],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=dict(os.environ),
        )  # fmt: skip
    try:
        wait_until(lambda: "roomwatch started" in log.read_text("utf-8"), 90, "daemon")
        send(tmp_path, port, LINK_DOWN)
        wait_until(lambda: "port-down" in open_rules(tmp_path / "state"), 30, "incident")
        (incident,) = incidents(config)
        assert incident["state"] == "open"
        assert incident["device"] == "core-sw1"
        assert incident["level"] == 2
        assert "Gi1/0/7" in json.dumps(incident, ensure_ascii=False)
        send(tmp_path, port, LINK_UP)
        wait_until(lambda: all_closed(tmp_path / "state"), 30, "resolution")
        assert all(i["state"] in ("resolved", "closed") for i in incidents(config))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop_process(proc)
