"""Every shared real-device recording, replayed by snmpsim over UDP, polled with
`profile: auto` (v2c, and v3 authPriv for one), plus a synthetic 10,000-row table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from probes.snmp.probe import SnmpProbe, SnmpSettings
from tests.fixtures.peers import stop_process
from tests.fixtures.snmp_expected import PROFILES, check_recording
from tests.fixtures.snmp_peers import (
    V3_AUTH,
    V3_PRIV,
    V3_USER,
    Agent,
    big_table_recording,
    recordings,
    start_snmpsim,
)

pytestmark = pytest.mark.integration

BIG_ROWS = 10_000


@pytest.fixture(scope="module")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    work = tmp_path_factory.mktemp("snmpsim")
    big = work / "big-table.snmprec"
    big_table_recording(big, BIG_ROWS)
    agent = start_snmpsim(work, extra={"big-table": big})
    yield agent
    stop_process(agent.proc)


def test_every_recording_is_served() -> None:
    assert recordings() == sorted(PROFILES)


@pytest.mark.parametrize("name", sorted(PROFILES))
async def test_recording_polls_with_auto_and_yields_sensible_metrics(
    snmpsim: Agent, name: str
) -> None:
    config = SnmpSettings.model_validate(
        {"type": "snmp", "address": snmpsim.address, "community": name, "profile": "auto"}
    )
    probe = SnmpProbe(name, config)
    samples = list(await probe.poll(1_763_800_000.0))
    assert probe._auto is not None
    assert [p.name for p in probe._auto] == PROFILES[name]
    check_recording(name, samples)


async def test_v3_authpriv_with_a_context_reads_a_ups(snmpsim: Agent) -> None:
    config = SnmpSettings.model_validate(
        {"type": "snmp", "address": snmpsim.address, "version": "3", "user": V3_USER,
         "auth_protocol": "sha", "auth_key": V3_AUTH, "priv_protocol": "aes",
         "priv_key": V3_PRIV, "context": "apc_smx750i", "profile": "auto"}
    )  # fmt: skip
    samples = list(await SnmpProbe("apc_smx750i", config).poll(1_763_800_000.0))
    check_recording("apc_smx750i", samples)


async def test_a_ten_thousand_row_table_is_read_whole(snmpsim: Agent) -> None:
    config = SnmpSettings.model_validate(
        {"type": "snmp", "address": snmpsim.address, "community": "big-table",
         "profile": "if-mib", "max_repetitions": 50, "timeout": 60}
    )  # fmt: skip
    samples = list(await SnmpProbe("big", config).poll(1000.0))
    oper = [s for s in samples if s.metric == "ifOperStatus"]
    assert len(oper) == BIG_ROWS
    assert oper[-1].labels == {"ifIndex": str(BIG_ROWS), "ifDescr": f"port{BIG_ROWS}"}
