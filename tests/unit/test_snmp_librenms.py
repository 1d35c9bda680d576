"""The LibreNMS importer (issue 15 item 4) on definitions kept as fixtures (GPL-3.0, see
tests/fixtures/librenms/MANIFEST.md): what converts, what is skipped and why, and the
imported profile polled on the recording of the same device against LibreNMS's own values."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.cli import main
from probes.snmp import SnmpProbe, SnmpSettings
from probes.snmp.librenms import import_definitions
from probes.snmp.profiles import load_profiles
from tests.fixtures.librenms_oracle import LIBRENMS, compare
from tests.fixtures.peers import shared_fixture
from tests.fixtures.snmp_fake import FakeAgentSession


def test_each_definition_is_whole_partly_or_not_with_the_reasons() -> None:
    by_os = {c.os: c for c in import_definitions(LIBRENMS)}
    assert by_os["cyberpower"].verdict == "whole"
    assert by_os["cyberpower"].sensors == 16
    akcp = by_os["akcp"]
    assert akcp.verdict == "partly"
    assert any(
        "descr column sensorProbeHumidityDescription is a MIB name" in r for r in akcp.skipped
    )
    assert any("skip_values sensorProbeHumidityOnline != 2" in r for r in akcp.skipped)
    wut = by_os["wut"]
    assert wut.verdict == "partly"
    assert any("descr column wtWebGraphThermHygroPortName" in r for r in wut.skipped)


def test_the_command_writes_profiles_that_auto_picks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "profiles"
    assert main(["profiles", "import", "librenms", str(LIBRENMS), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cyberpower: whole (16 sensor entries)" in printed
    assert "3 OS definitions: 1 whole, 2 partly, 0 not converted; 3 profiles in" in printed
    assert "  skipped sensors.humidity.data[0] (sensorProbeHumidityTable): descr column" in printed
    profiles = load_profiles((str(out),))
    assert {"librenms-akcp", "librenms-cyberpower", "librenms-wut"} <= profiles.keys()


def test_a_directory_that_is_no_librenms_checkout_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["profiles", "import", "librenms", str(tmp_path), "--out", str(tmp_path)]) == 2


async def test_the_imported_cyberpower_profile_reads_librenms_values(tmp_path: Path) -> None:
    out = tmp_path / "profiles"
    assert main(["profiles", "import", "librenms", str(LIBRENMS), "--out", str(out)]) == 0
    session = FakeAgentSession.from_recording(shared_fixture("snmp", "cyberpower.snmprec"))
    config = SnmpSettings(type="snmp", address="192.0.2.1", profile_dirs=[str(out)])  # type: ignore[call-arg]
    probe = SnmpProbe("ups", config, session=session)
    samples = list(await probe.poll(1000.0))
    assert "librenms-cyberpower" in {p.name for p in probe._auto or []}
    result = compare("cyberpower", samples)
    assert result.total == 17
    assert len(result.matched) == 12, result.missed
    # The five others differ because the definition kept here is older than LibreNMS's test
    # data (its JSON has divisor 10 for the output current and frequency, 1 for humidity, and
    # the contact table the newer definition added): the import follows the file it is given.
    assert sorted(m.split(":")[0] for m in result.missed) == [
        "current upsAdvanceOutputCurrent.0 'Output'",
        "frequency upsAdvanceOutputFrequency.0 'Output'",
        "humidity envirHumidity.0 'Environment Sensor Humidity'",
        "state envirContactStatus.1 'Door Alarm'",
        "state envirContactStatus.2 'Flood Alarm'",
    ]
    # The shared names of a UPS, where one sensor fits.
    by_metric = {s.metric: s.value for s in samples if not s.labels}
    assert by_metric["battery.charge"] == 100
