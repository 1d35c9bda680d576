"""MIB names end to end: `roomwatch mibs compile` on MIB sources, then

- `roomwatch probe snmp --oid IF-MIB::ifDescr` against net-snmp's snmpd prints the ports by
  name;
- the running daemon, with `mib_dirs:` naming the compiled MIBs, receives a vendor trap sent by
  net-snmp's snmptrap (numeric OIDs only, as a device sends them): the incident and the
  message (the file channel's JSON) name the trap, and a rule on one of its varbinds grades it
  and shows the varbind's value."""

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

from tests.fixtures.mib_sources import MIB_SOURCES, TEST_MIB
from tests.fixtures.peers import REPO, free_udp_port, stop_process, wait_until
from tests.fixtures.snmp_peers import Agent, snmptrap, start_snmpd
from tests.fixtures.store_peek import incident_rows

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "collector.cli"]
PORT_ALARM = "1.3.6.1.4.1.99999.0.1"
TRAP_NAME = "ROOMWATCH-TEST-MIB::rwTestPortAlarm"


def roomwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, cwd=REPO, check=False
    )


@pytest.fixture(scope="module")
def mib_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("compiled")
    done = roomwatch("mibs", "compile", str(TEST_MIB), str(MIB_SOURCES), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "compiled   ROOMWATCH-TEST-MIB"
    return out


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Any:
    agent = start_snmpd(tmp_path_factory.mktemp("snmpd"))
    yield agent
    stop_process(agent.proc)


def test_probe_reads_a_column_by_its_mib_name(snmpd: Agent, mib_dir: Path) -> None:
    done = roomwatch(
        "probe", "snmp", snmpd.address, "--community", "public",
        "--oid", "IF-MIB::ifDescr", "--oid", "SNMPv2-MIB::sysName.0", "--oid", "ifOperStatus.1",
        "--mib-dir", str(mib_dir), "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    ports = {r["labels"]["index"]: r["value"] for r in rows if r["metric"] == "ifDescr"}
    assert ports["1"] == "lo"  # net-snmp numbers the loopback first
    assert [r["value"] for r in rows if r["metric"] == "sysName"] == ["roomwatch-test-snmpd"]
    (oper,) = [r for r in rows if r["metric"] == "ifOperStatus"]
    assert (oper["labels"], oper["value"], oper["note"]) == ({"index": "1"}, 1, "up")


def test_probe_names_an_unknown_name_and_what_to_do(snmpd: Agent, mib_dir: Path) -> None:
    done = roomwatch(
        "probe", "snmp", snmpd.address, "--community", "public",
        "--oid", "IF-MIB::ifNoSuchThing", "--mib-dir", str(mib_dir),
    )  # fmt: skip
    assert done.returncode == 2
    assert "no compiled MIB defines 'IF-MIB::ifNoSuchThing'" in done.stderr


RULES = """
groups:
  - name: traps
    rules:
      - name: vendor-trap
        select: {kind: switch}
        metric: snmp.trap
        levels: {3: "== ROOMWATCH-TEST-MIB::rwTestPortAlarm"}
        summary:
          en: "{device.name} sent {value}"
      - name: port-alarm
        select: {kind: switch}
        metric: rwTestAlarmState
        levels: {1: ">= 3", 2: "== 2"}
        summary:
          en: "{device.name}: {metric} = {value} ({labels.trap})"
"""


def write_config(tmp: Path, trap_port: int, mib_dir: Path) -> Path:
    (tmp / "rules").mkdir()
    (tmp / "rules" / "traps.yaml").write_text(RULES, "utf-8")
    (tmp / "inventory.yaml").write_text(
        "devices:\n  - id: edge-sw1\n    name: Edge switch\n    kind: switch\n", "utf-8"
    )
    (tmp / "credentials.yaml").write_text("trap-community: {community: public}\n", "utf-8")
    (tmp / "credentials.yaml").chmod(0o600)
    config = tmp / "roomwatch.yaml"
    config.write_text(
        "inventory: inventory.yaml\nrules: [rules/]\ncredentials: credentials.yaml\n"
        f"state_dir: state\napi: {{enabled: false}}\nmib_dirs: [{mib_dir}]\n"
        f"traps:\n  listen: 127.0.0.1:{trap_port}\n  credentials: [trap-community]\n"
        "  devices: {127.0.0.1: edge-sw1}\n"
        "alerting:\n  language: en\n  notifiers:\n    - {type: file, path: alerts.jsonl}\n",
        "utf-8",
    )
    return config


def incidents(config: Path) -> list[dict[str, Any]]:
    done = roomwatch("incidents", "list", "--json", "-c", str(config))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_a_vendor_trap_is_named_in_the_incident_and_the_message(
    tmp_path: Path, mib_dir: Path
) -> None:
    port = free_udp_port()
    config = write_config(tmp_path, port, mib_dir)
    assert roomwatch("check", "-c", str(config)).returncode == 0
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*CLI, "run", "-c", str(config)],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=dict(os.environ),
        )  # fmt: skip
    try:
        wait_until(lambda: "roomwatch started" in log.read_text("utf-8"), 30, "daemon")
        varbinds = [
            "1.3.6.1.2.1.2.2.1.1.3", "i", "3",  # ifIndex.3
            "1.3.6.1.2.1.2.2.1.2.3", "s", "eth0",  # ifDescr.3
            "1.3.6.1.4.1.99999.1.1.0", "i", "3",  # rwTestAlarmState.0 = critical
            "1.3.6.1.4.1.99999.1.2.0", "s", "fan stopped",
        ]  # fmt: skip
        asyncio.run(
            snmptrap(tmp_path / "persist", "-v2c", "-c", "public", f"127.0.0.1:{port}", "",
                     PORT_ALARM, *varbinds)
        )  # fmt: skip
        wait_until(lambda: len(incident_rows(tmp_path / "state")) == 2, 30, "two incidents")
        listed = incidents(config)
        assert len(listed) == 2, listed
        by_rule = {i["rule"]: i for i in listed}
        trap = json.dumps(by_rule["vendor-trap"], ensure_ascii=False)
        assert f"Edge switch sent {TRAP_NAME}" in trap
        alarm = by_rule["port-alarm"]
        assert alarm["level"] == 1
        assert f"Edge switch: rwTestAlarmState = 3 ({TRAP_NAME})" in json.dumps(alarm)
        messages = tmp_path / "state" / "alerts.jsonl"
        wait_until(lambda: f"sent {TRAP_NAME}" in messages.read_text("utf-8"), 30, "the message")
        assert f"rwTestAlarmState = 3 ({TRAP_NAME})" in messages.read_text("utf-8")
        text = log.read_text("utf-8") + messages.read_text("utf-8")
        assert PORT_ALARM not in text  # shown by name, never as numbers
        assert "snmp_trap_unknown" not in text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop_process(proc)
