"""The LibreNMS importer against LibreNMS's own oracle through a real agent: the recording
replayed by snmpsim, polled with `profile: auto` and the imported profiles, and each sensor
LibreNMS's test data lists compared with what the probe read (within 0.01)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.cli import main
from probes.snmp.engines import close_shared
from probes.snmp.probe import SnmpProbe, SnmpSettings
from tests.fixtures.librenms_oracle import LIBRENMS, compare
from tests.fixtures.peers import stop_process
from tests.fixtures.snmp_peers import Agent, sorted_recording, start_snmpsim

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def snmpsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    work = tmp_path_factory.mktemp("snmpsim-librenms")
    netagent = work / "netagent2.snmprec"  # LibreNMS's recording, out of OID order
    sorted_recording(LIBRENMS / "tests" / "snmpsim" / "netagent2.snmprec", netagent)
    agent = start_snmpsim(work, extra={"netagent2": netagent})
    yield agent
    stop_process(agent.proc)


# recording (snmpsim community) → (sensors matched, sensors in the oracle excerpt); see
# tests/unit/test_snmp_librenms.py for why the others differ.
EXPECTED = {"cyberpower": (12, 17), "akcp_serverprobe8": (44, 47), "wut_57613": (1, 1)}


@pytest.mark.parametrize("recording", sorted(EXPECTED))
@pytest.mark.parametrize("engine", ["lean", "pysnmp"])
async def test_imported_profiles_read_the_sensors_librenms_reads(
    snmpsim: Agent, tmp_path: Path, engine: str, recording: str
) -> None:
    out = tmp_path / "profiles"
    assert main(["profiles", "import", "librenms", str(LIBRENMS), "--out", str(out)]) == 0
    config = SnmpSettings.model_validate(
        {
            "type": "snmp",
            "address": snmpsim.address,
            "community": recording,
            "profile_dirs": [str(out)],
            "engine": engine,
            "timeout": 20,
        }
    )
    probe = SnmpProbe("dev", config)
    try:
        samples = list(await probe.poll(1000.0))
    finally:
        await probe.close()
        await close_shared()
    result = compare(recording, samples)
    assert (len(result.matched), result.total) == EXPECTED[recording], result.missed


@pytest.mark.parametrize("engine", ["lean", "pysnmp"])
async def test_a_netagent_ups_card_reads_as_nut_names(snmpsim: Agent, engine: str) -> None:
    # What the importer cannot give (LibreNMS has only state sensors for these cards): our
    # own xppc profile, picked by auto.
    config = SnmpSettings.model_validate(
        {"type": "snmp", "address": snmpsim.address, "community": "netagent2", "engine": engine}
    )
    probe = SnmpProbe("ups", config)
    try:
        samples = {s.metric: s.value for s in await probe.poll(1000.0) if not s.labels}
    finally:
        await probe.close()
        await close_shared()
    assert (samples["input.voltage"], samples["output.voltage"]) == (254.5, 228.5)
    assert (samples["ups.load"], samples["battery.charge"]) == (44, 100)
