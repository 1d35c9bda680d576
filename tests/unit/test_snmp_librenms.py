"""The LibreNMS importer (issue 15 item 4) on definitions kept as fixtures (GPL-3.0, see
tests/fixtures/librenms/MANIFEST.md): what converts, what is skipped and why, and the
imported profile polled on the recording of the same device against LibreNMS's own values."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.cli import main
from core.sample import Sample
from probes.snmp.librenms_files import import_definitions
from probes.snmp.probe import SnmpProbe, SnmpSettings
from probes.snmp.profiles import load_profiles
from tests.fixtures.librenms_oracle import LIBRENMS, compare
from tests.fixtures.peers import shared_fixture
from tests.fixtures.snmp_fake import FakeAgentSession


def test_each_definition_is_whole_partly_or_not_with_the_reasons() -> None:
    by_os = {c.os: c for c in import_definitions(LIBRENMS)}
    assert by_os["cyberpower"].verdict == "whole"
    assert by_os["cyberpower"].sensors == 16
    # With the checkout's MIBs, columns named by MIB name resolve: akcp's humidity and switch
    # descriptions and their "online" skip rules; what the test MIBs lack is reported.
    akcp = by_os["akcp"]
    assert akcp.verdict == "partly"
    assert akcp.sensors == 6
    assert not any("sensorProbeHumidityDescription" in r for r in akcp.skipped)
    assert any(
        "descr column current4to20mASensorDescription has no OID (not in MIB SPAGENT-MIB)" in r
        for r in akcp.skipped
    )
    wut = by_os["wut"]
    assert wut.verdict == "partly"
    assert not any("wtWebGraphThermoBaroPortName" in r for r in wut.skipped)
    assert any(
        "wtWebGraphThermHygroPortName has no OID (its MIB did not compile"
        " (WebGraph-Thermo-Hygrometer-MIB: missing" in r
        for r in wut.skipped
    )


def test_what_the_importer_cannot_map_is_named_with_the_reason() -> None:
    by_os = {c.os: c for c in import_definitions(LIBRENMS, ["avtech", "netagent2"])}
    avtech = by_os["avtech"]
    assert (avtech.verdict, avtech.sensors) == ("partly", 26)
    # LibreNMS's {{ $id }} (a value of its pre-cached data) has no counterpart here.
    assert sorted(r.split(": ", 1)[1] for r in avtech.skipped) == [
        "descr template Analog {{ $id }} (only {{ $index }} is expanded)",
        "descr template Relay {{ $id }} (only {{ $index }} is expanded)",
        "descr template Sensor {{ $id }} (only {{ $index }} is expanded)",
        "descr template Switch {{ $id }} (only {{ $index }} is expanded)",
        "descr template WiSH {{ $id }} Internal (only {{ $index }} is expanded)",
    ]
    # Its description OIDs are fixed instances: read as a scalar label.
    table = avtech.profile["tables"][0] if avtech.profile else {}
    assert table["labels"]["sensor"] == {"scalar": "1.3.6.1.4.1.20916.1.9.1.1.1.3.0"}
    # NET Agent II: detected by LibreNMS's PHP, not by YAML: converted, but not for `auto`.
    assert by_os["netagent2"].skipped == ["netagent2.yaml: no detection roomwatch can use"]


def test_without_mibs_a_column_named_by_mib_name_is_reported_not_guessed(tmp_path: Path) -> None:
    by_os = {c.os: c for c in import_definitions(LIBRENMS, ["akcp"], mibs=tmp_path / "none")}
    assert any(
        "descr column sensorProbeHumidityDescription has no OID (no mibs/ folder in the"
        " checkout (give --mibs DIR)); the sensor is labelled by index" in r
        for r in by_os["akcp"].skipped
    )


def test_the_command_writes_profiles_that_auto_picks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "profiles"
    assert main(["profiles", "import", "librenms", str(LIBRENMS), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cyberpower: whole (16 sensor entries)" in printed
    assert "8 OS definitions: 4 whole, 4 partly, 0 not converted; 8 profiles in" in printed
    assert "  skipped sensors.current.data[0] (current4to20mASensorTable): descr column" in printed
    profiles = load_profiles((str(out),))
    assert {"librenms-akcp", "librenms-avtech", "librenms-cyberpower", "librenms-netagent2"} | {
        "librenms-wut"
    } <= profiles.keys()


def test_a_directory_that_is_no_librenms_checkout_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["profiles", "import", "librenms", str(tmp_path), "--out", str(tmp_path)]) == 2


async def imported_poll(tmp_path: Path, recording: str) -> list[Sample]:
    out = tmp_path / "profiles"
    if not out.exists():
        assert main(["profiles", "import", "librenms", str(LIBRENMS), "--out", str(out)]) == 0
    session = FakeAgentSession.from_recording(shared_fixture("snmp", f"{recording}.snmprec"))
    config = SnmpSettings(type="snmp", address="192.0.2.1", profile_dirs=[str(out)])  # type: ignore[call-arg]
    probe = SnmpProbe("dev", config, session=session)
    samples = list(await probe.poll(1000.0))
    assert f"librenms-{recording.split('_')[0]}" in {p.name for p in probe._auto or []}
    return samples


async def test_the_imported_cyberpower_profile_reads_librenms_values(tmp_path: Path) -> None:
    samples = await imported_poll(tmp_path, "cyberpower")
    result = compare("cyberpower", samples)
    assert (len(result.matched), result.total) == (12, 17), result.missed
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
    assert result.extra == []
    # The shared names of a UPS, where one sensor fits.
    by_metric = {s.metric: s.value for s in samples if not s.labels}
    assert by_metric["battery.charge"] == 100


async def test_the_imported_akcp_profile_reads_librenms_values(tmp_path: Path) -> None:
    result = compare("akcp_serverprobe8", await imported_poll(tmp_path, "akcp_serverprobe8"))
    # Humidity and every switch and probe state as LibreNMS reads them (the "online" skip rule
    # resolved through the MIB keeps the same switches); its temperatures come from a newer
    # definition than the one kept here, which has no temperature section.
    assert (len(result.matched), result.total) == (44, 47), result.missed
    assert sorted(m.split(":")[0] for m in result.missed) == [
        "temperature 0 'Temp.Sensor Carrier'",
        "temperature 6 'Temp.Sensor 2'",
        "temperature 7 'Temp.Sensor 1'",
    ]
    # The switch states the excerpt leaves out (index 6 and 38-61), and nothing else.
    expected_extra = {f"sensor.state hhmsSensorArraySwitchStatus.{k}" for k in (6, *range(38, 62))}
    assert set(result.extra) == expected_extra


async def test_the_imported_wut_profile_reads_librenms_values(tmp_path: Path) -> None:
    samples = await imported_poll(tmp_path, "wut_57613")
    result = compare("wut_57613", samples)
    assert (len(result.matched), result.total) == (1, 1), result.missed
    # The skip rule (port name containing "druck") keeps only the pressure port; the entries
    # for the other W&T models, whose MIBs the fixtures lack, are read unfiltered (reported).
    assert not [e for e in result.extra if e.startswith("sensor.pressure")]


def test_skip_value_bounds_become_skip_rules_and_unknown_keys_are_reported() -> None:
    from probes.snmp.librenms import convert_os

    discovery = {
        "modules": {
            "sensors": {
                "temperature": {
                    "data": [
                        {
                            "oid": "tempTable",
                            "num_oid": ".1.3.6.1.4.1.99.1.1.{{ $index }}",
                            "descr": "Inlet {{ $index }}",
                            "skip_value_lt": -50,
                            "high_limit": 45,  # a threshold: rules' business, not reported
                            "aggregator": "sum",  # something the importer does not know
                        }
                    ]
                }
            }
        }
    }
    os_def = {
        "os": "acme",
        "type": "environment",
        "discovery": [{"sysObjectID": ".1.3.6.1.4.1.99"}],
    }
    result = convert_os(os_def, discovery, "acme")
    assert result.skipped == ["sensors.temperature.data[0] (tempTable): aggregator (not converted)"]
    assert result.profile is not None
    table = result.profile["tables"][0]
    assert table["skip"] == [{"oid": "1.3.6.1.4.1.99.1.1", "op": "<", "value": -50}]
    assert table["labels"]["sensor"] == {"template": "Inlet {index}"}
    assert [m["name"] for m in table["metrics"]] == ["sensor.temperature", "ambient.temperature"]


def test_nut_names_only_for_ups_units_and_without_the_sensor_labels() -> None:
    by_os = {c.os: c for c in import_definitions(LIBRENMS, ["cyberpower", "ats", "cetpower"])}

    def shared(os_name: str) -> dict[str, bool]:
        profile = by_os[os_name].profile
        assert profile is not None
        metrics = [m for t in profile["tables"] for m in t["metrics"]]
        return {
            m["name"]: m.get("bare", False) for m in metrics if not m["name"].startswith("sensor.")
        }

    # A UPS (it has a battery charge): its one input voltage is NUT's input.voltage, unlabelled.
    assert shared("cyberpower")["input.voltage"] is True
    assert shared("cyberpower")["battery.runtime"] is True
    # A transfer switch and a DC plant controller are "power" devices too, but no UPS.
    assert shared("ats") == {}
    assert shared("cetpower") == {}
    # ALGCOM's detection excludes a sysObjectID subtree, which the rule keeps.
    algcom = {c.os: c for c in import_definitions(LIBRENMS, ["algcom-dc-ups"])}["algcom-dc-ups"]
    assert algcom.verdict == "whole"
    assert algcom.profile is not None
    assert algcom.profile["detect"]["rules"] == [
        {"sys_object_id": ["1.3.6.1.4.1.49136"], "sys_object_id_except": ["1.3.6.1.4.1.49136.100"]}
    ]


def test_a_detection_rule_needs_every_key_and_honours_the_exception() -> None:
    from probes.snmp.profiles import DetectRule

    rule = DetectRule(
        sys_object_id=["1.3.6.1.4.1.49136"],
        sys_object_id_except=["1.3.6.1.4.1.49136.100"],
        sys_descr_regex=["(?i)^algcom"],
    )
    assert rule.matches((1, 3, 6, 1, 4, 1, 49136, 1), "ALGCOM DC UPS")
    assert not rule.matches((1, 3, 6, 1, 4, 1, 49136, 100, 2), "ALGCOM DC UPS")
    assert not rule.matches((1, 3, 6, 1, 4, 1, 49136, 1), "something else")
    assert not rule.matches(None, "ALGCOM DC UPS")
    with pytest.raises(ValueError, match=r"not a valid OID|not a numeric OID"):
        DetectRule(sys_object_id=["1.3.6.1.4.1.20916."])
