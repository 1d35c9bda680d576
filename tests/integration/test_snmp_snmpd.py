"""The snmp probe against net-snmp's snmpd on a loopback port: v1, v2c and v3 (authNoPriv,
authPriv with SHA/AES, SHA-256/AES and MD5/DES), wrong credentials, silence, and the lean
codec against pysnmp on the same agent."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from core.sample import Sample
from probes.base import ProbeAuthError, ProbeTimeout
from probes.snmp.ber import COUNTER_TAGS, Oid, parse_oid
from probes.snmp.engines import make_session
from probes.snmp.lean import LeanSession, LeanV3Session
from probes.snmp.probe import SnmpProbe, SnmpSettings
from probes.snmp.pysnmp_engine import PysnmpSession
from probes.snmp.session import Target
from probes.snmp.walk import Column, walk_columns
from tests.fixtures.peers import free_udp_port, stop_process
from tests.fixtures.snmp_peers import V3_AUTH, V3_PRIV, V3_USER, V3_USER_256, Agent, start_snmpd

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    agent = start_snmpd(tmp_path_factory.mktemp("snmpd"))
    yield agent
    stop_process(agent.proc)


def probe(agent: Agent, **settings: object) -> SnmpProbe:
    config = SnmpSettings.model_validate(
        {"type": "snmp", "address": agent.address, "request_timeout": 1, **settings}
    )
    return SnmpProbe("lab-snmpd", config)


def one(samples: list[Sample], metric: str, **labels: str) -> Sample:
    found = [s for s in samples if s.metric == metric and labels.items() <= s.labels.items()]
    assert len(found) == 1, (metric, labels, found)
    return found[0]


async def test_v2c_auto_reads_system_interfaces_and_host_resources(snmpd: Agent) -> None:
    p = probe(snmpd, community="public")
    samples = list(await p.poll(1000.0))
    assert one(samples, "sysName").value == "roomwatch-test-snmpd"
    assert one(samples, "sysLocation").value == "Test rack 1"
    assert isinstance(one(samples, "sysUpTime").value, float)
    assert one(samples, "ifOperStatus", ifDescr="lo").value == 1  # up
    assert one(samples, "ifAdminStatus", ifName="lo").value == 1
    assert isinstance(one(samples, "ifHCInOctets", ifName="lo").value, int)
    assert [s for s in samples if s.metric == "hrStorageUsed"]
    assert p._auto is not None
    assert {"system", "if-mib", "host-resources"} <= {x.name for x in p._auto}


async def test_second_poll_gives_non_negative_interface_rates(snmpd: Agent) -> None:
    p = probe(snmpd, community="public", profile="if-mib")
    await p.poll(1000.0)
    samples = list(await p.poll(1001.0))
    rates = [s for s in samples if s.metric == "ifHCInOctets.rate"]
    assert rates
    assert all(isinstance(s.value, float) and s.value >= 0 for s in rates)


async def test_v1_walks_with_getnext(snmpd: Agent) -> None:
    p = probe(snmpd, community="public", version="1", profile="system,if-mib")
    samples = list(await p.poll(1000.0))
    assert one(samples, "sysName").value == "roomwatch-test-snmpd"
    assert one(samples, "ifOperStatus", ifDescr="lo").value == 1
    # v1 has no Counter64: the 32-bit octets carry the traffic, rates and utilisation.
    assert not [s for s in samples if s.metric == "ifHCInOctets"]
    assert isinstance(one(samples, "ifInOctets", ifDescr="lo").value, int)
    samples = list(await p.poll(1001.0))
    assert float(one(samples, "ifInOctets.rate", ifDescr="lo").value) >= 0
    assert 0 <= float(one(samples, "ifInUtilization", ifDescr="lo").value) <= 100


@pytest.mark.parametrize(
    ("user", "auth", "priv"),
    [
        (V3_USER, "sha", "aes"),  # the lean USM path
        (V3_USER, "sha", "aes128"),
        (V3_USER_256, "sha256", "aes"),
        ("desuser", "md5", "des"),
        ("authonly", "sha", "none"),
        ("aes256user", "sha", "aes256"),  # pysnmp, net-snmp's AES-256 key extension
    ],
)
async def test_v3_security_levels_and_protocols(
    snmpd: Agent, user: str, auth: str, priv: str
) -> None:
    keys: dict[str, object] = {"auth_key": V3_AUTH}
    if priv != "none":
        keys["priv_key"] = V3_PRIV
    p = probe(snmpd, version="3", user=user, auth_protocol=auth, priv_protocol=priv,
              profile="system,if-mib", **keys)  # fmt: skip
    samples = list(await p.poll(1000.0))
    assert one(samples, "sysName").value == "roomwatch-test-snmpd"
    assert one(samples, "ifOperStatus", ifDescr="lo").value == 1


@pytest.mark.parametrize("engine", ["auto", "pysnmp"])
async def test_wrong_community_is_reported_as_auth(snmpd: Agent, engine: str) -> None:
    p = probe(snmpd, community="not-the-community", retries=0, engine=engine)
    with pytest.raises(ProbeAuthError, match="community"):
        await p.poll(1000.0)


async def test_a_v3_user_below_its_security_level_is_reported_as_auth(snmpd: Agent) -> None:
    # snmpd answers authorizationError to `authonly` asking without authentication.
    p = probe(snmpd, version="3", user="authonly", retries=0)
    with pytest.raises(ProbeAuthError, match="authorizationError"):
        await p.poll(1000.0)


@pytest.mark.parametrize(
    "settings",
    [
        {"user": V3_USER, "auth_key": "wrong-auth-key", "priv_key": V3_PRIV},
        {"user": "nobody-here", "auth_key": V3_AUTH, "priv_key": V3_PRIV},
        {"user": V3_USER, "auth_key": V3_AUTH, "priv_key": "wrong-priv-key"},
        {"user": V3_USER, "auth_key": "wrong-auth-key", "priv_key": V3_PRIV, "engine": "pysnmp"},
        {"user": V3_USER, "auth_key": V3_AUTH, "priv_key": "wrong-priv-key", "engine": "pysnmp"},
        {"user": V3_USER, "auth_key": V3_AUTH, "priv_key": V3_PRIV, "priv_protocol": "aes256"},
        # Cisco's AES-256 key extension where the agent uses net-snmp's
        {
            "user": "aes256user",
            "auth_key": V3_AUTH,
            "priv_key": V3_PRIV,
            "priv_protocol": "aes256c",
        },
    ],
)
async def test_wrong_v3_key_or_user_is_reported_as_auth(
    snmpd: Agent, settings: dict[str, object]
) -> None:
    p = probe(snmpd, **{"version": "3", "auth_protocol": "sha", "priv_protocol": "aes",
                        "retries": 0, **settings})  # fmt: skip
    with pytest.raises(ProbeAuthError):
        await p.poll(1000.0)


@pytest.mark.parametrize("version", ["2c", "3"])
async def test_a_silent_port_times_out_after_the_retries(version: str) -> None:
    port = free_udp_port()  # nobody listens there
    extra: dict[str, object] = {"community": "public"}
    if version == "3":
        extra = {"user": V3_USER, "auth_protocol": "sha", "auth_key": V3_AUTH}
    config = SnmpSettings.model_validate(
        {"type": "snmp", "address": f"127.0.0.1:{port}", "version": version,
         "request_timeout": 0.2, "retries": 1, **extra}
    )  # fmt: skip
    with pytest.raises(ProbeTimeout):
        await SnmpProbe("ghost", config).poll(1000.0)


async def test_lean_and_pysnmp_paths_read_the_same_varbinds(snmpd: Agent) -> None:
    target = Target("127.0.0.1", snmpd.port, "2c", community="public")
    columns = [parse_oid(f"1.3.6.1.2.1.2.2.1.{c}") for c in (1, 2, 3, 7, 8)]
    columns += [parse_oid("1.3.6.1.2.1.25.2.3.1.3")]
    lean = await walk_columns(LeanSession(target), columns, max_repetitions=10)
    reference = await walk_columns(PysnmpSession(target), columns, max_repetitions=10)
    assert lean == reference
    assert len(lean[columns[1]]) >= 1
    scalars = [
        parse_oid(o) for o in ("1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.6.0")
    ]
    assert await LeanSession(target).get(scalars) == await PysnmpSession(target).get(scalars)


async def test_engine_pysnmp_polls_the_same_metrics_as_the_lean_engine(snmpd: Agent) -> None:
    lean = await probe(snmpd, community="public", profile="if-mib").poll(1000.0)
    ref = await probe(snmpd, community="public", profile="if-mib", engine="pysnmp").poll(1000.0)
    stable = ("ifDescr", "ifOperStatus", "ifAdminStatus", "ifType", "ifHighSpeed")

    def pick(samples: Sequence[Sample]) -> list[tuple[str, tuple[tuple[str, str], ...], object]]:
        return sorted(
            (
                (s.metric, tuple(sorted(s.labels.items())), s.value)
                for s in samples
                if s.metric in stable
            ),
            key=repr,
        )

    assert pick(lean) == pick(ref)
    assert pick(lean)


def test_roomwatch_probe_command_prints_json_lines(snmpd: Agent, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "collector.cli", "probe", "snmp", snmpd.address,
         "--community", "public", "--profile", "auto", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    by_metric = {(d["metric"], d["labels"].get("ifDescr")): d for d in lines}
    assert by_metric[("sysName", None)]["value"] == "roomwatch-test-snmpd"
    assert by_metric[("ifOperStatus", "lo")]["value"] == 1
    assert by_metric[("device.up", None)]["value"] == 1


def test_roomwatch_probe_command_v3_and_a_wrong_key(snmpd: Agent) -> None:
    base = [sys.executable, "-m", "collector.cli", "probe", "snmp", snmpd.address,
            "--version", "3", "--user", V3_USER, "--auth-protocol", "sha",
            "--priv-protocol", "aes", "--priv-key", V3_PRIV, "--profile", "system", "--json"]  # fmt: skip
    good = subprocess.run(
        [*base, "--auth-key", V3_AUTH], capture_output=True, text=True, timeout=60, check=False
    )
    assert good.returncode == 0, good.stderr
    bad = subprocess.run(
        [*base, "--auth-key", "not-the-key", "--retries", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode != 0
    assert "auth" in bad.stderr
    assert "not-the-key" not in bad.stderr + bad.stdout


@pytest.mark.parametrize(
    ("user", "auth", "priv"),
    [(V3_USER, "sha", "aes"), (V3_USER_256, "sha256", "aes"), ("desuser", "md5", "des")],
)
async def test_lean_v3_and_pysnmp_v3_read_the_same_varbinds(
    snmpd: Agent, user: str, auth: str, priv: str
) -> None:
    target = Target("127.0.0.1", snmpd.port, "3", user=user, auth_protocol=auth,
                    auth_key=V3_AUTH, priv_protocol=priv, priv_key=V3_PRIV)  # fmt: skip
    lean = make_session(target)
    assert isinstance(lean, LeanV3Session)
    columns = [parse_oid("1.3.6.1.2.1.2.2"), parse_oid("1.3.6.1.2.1.31.1.1")]
    ours = await walk_columns(lean, columns, max_repetitions=10)
    reference = await walk_columns(PysnmpSession(target), columns, max_repetitions=10)

    # Counters move between the two walks (our own queries cross lo): compare their types.
    def stable(walked: dict[Oid, Column]) -> dict[Oid, list[tuple[Oid, int, object]]]:
        return {
            column: [(i, t, None if t in COUNTER_TAGS else v) for i, t, v in rows]
            for column, rows in walked.items()
        }

    assert stable(ours) == stable(reference)
    assert len(ours[columns[0]]) > 10


def test_inventory_device_with_credentials_polls_via_roomwatch_poll(
    snmpd: Agent, tmp_path: Path
) -> None:
    """The whole path an admin uses: secrets in credentials.yaml, referenced by name from the
    inventory, `roomwatch check` then `roomwatch poll --json`."""
    (tmp_path / "roomwatch.yaml").write_text(
        f"inventory: inventory.yaml\nrules: []\ncredentials: credentials.yaml\n"
        f"state_dir: {tmp_path / 'state'}\n"
    )
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n"
        "  - id: lab-sw1\n    kind: switch\n    criticality: 2\n    probes:\n"
        f"      - {{type: snmp, address: '{snmpd.address}', credentials: lab-v2c, profile: [system, if-mib]}}\n"
        "  - id: lab-ups\n    kind: ups\n    criticality: 1\n    probes:\n"
        f"      - {{type: snmp, address: '{snmpd.address}', version: 3, user: {V3_USER},"
        " auth_protocol: sha, priv_protocol: aes, credentials: lab-v3, profile: system}\n"
    )
    creds = tmp_path / "credentials.yaml"
    creds.write_text(
        f"lab-v2c:\n  community: public\nlab-v3:\n  auth_key: {V3_AUTH}\n  priv_key: {V3_PRIV}\n"
    )
    creds.chmod(0o600)
    base = [sys.executable, "-m", "collector.cli"]
    config = str(tmp_path / "roomwatch.yaml")
    check = subprocess.run([*base, "check", "-c", config], capture_output=True, text=True,
                           timeout=60, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    poll = subprocess.run([*base, "poll", "-c", config, "--json"], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert poll.returncode == 0, poll.stderr
    lines = [json.loads(line) for line in poll.stdout.splitlines()]
    names = {d["device"]: d["value"] for d in lines if d["metric"] == "sysName"}
    assert names == {"lab-sw1": "roomwatch-test-snmpd", "lab-ups": "roomwatch-test-snmpd"}
    assert "public" not in poll.stderr and V3_AUTH not in poll.stdout + poll.stderr
