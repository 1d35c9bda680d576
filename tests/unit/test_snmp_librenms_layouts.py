"""The LibreNMS importer on what the coverage measurement over LibreNMS's own definitions found
(bench/librenms_coverage.py): newer checkouts keep the definitions in resources/definitions/,
many sensors are single instances (a fixed `num_oid`), descriptions name a column with its
MIB module, and some skip rules compare the device's firmware. The definitions here are
written for these tests in LibreNMS's format (no LibreNMS file is copied)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from collector.cli import main
from probes.snmp.librenms import convert_os
from probes.snmp.librenms_files import import_definitions
from probes.snmp.librenms_sensors import Names
from probes.snmp.probe import SnmpProbe, SnmpSettings
from tests.fixtures.snmp_fake import FakeAgentSession

RADIO_DETECTION = """\
os: radio-os
text: 'Acme FM Receiver'
type: appliance
discovery:
    - sysObjectID:
        - .1.3.6.1.4.1.99999.640
"""

# A receiver whose readings are scalars: `frequency.0` in units of 10 kHz, and a scalar its
# agent serves without the `.0` instance (LibreNMS writes `{{ $noindex }}` for those).
RADIO_DISCOVERY = """\
mib: ACME-RADIO-MIB
modules:
  os:
    serial: ACME-RADIO-MIB::serial.0
  sensors:
    frequency:
      data:
        - oid: frequency
          num_oid: .1.3.6.1.4.1.99999.640.3.1.0
          descr: Frequency
          index: 1
          multiplier: 10000
    percent:
      data:
        - oid: ACME-RADIO-MIB::acme
          value: ACME-RADIO-MIB::multipath
          num_oid: '.1.3.6.1.4.1.99999.640.3.5{{ $noindex }}'
          index: 'multipath.1'
          descr: Multipath
"""


def write_checkout(root: Path, layout: str) -> Path:
    detection, discovery = {
        "new": ("resources/definitions/os_detection", "resources/definitions/os_discovery"),
        "old": ("includes/definitions", "includes/definitions/discovery"),
    }[layout]
    for folder in (detection, discovery):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / detection / "aaron-radio.yaml").write_text(RADIO_DETECTION)
    (root / discovery / "aaron-radio.yaml").write_text(RADIO_DISCOVERY)
    return root


@pytest.mark.parametrize("layout", ["new", "old"])
def test_a_checkout_of_either_layout_is_read(tmp_path: Path, layout: str) -> None:
    (conversion,) = import_definitions(write_checkout(tmp_path, layout))
    assert (conversion.os, conversion.verdict, conversion.sensors) == ("aaron-radio", "whole", 2)


def test_a_checkout_of_neither_layout_names_both(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="resources/definitions/os_detection/ nor"):
        import_definitions(tmp_path)


async def test_single_instance_sensors_are_read_with_one_get_each(tmp_path: Path) -> None:
    out = tmp_path / "profiles"
    checkout = write_checkout(tmp_path / "librenms", "new")
    assert main(["profiles", "import", "librenms", str(checkout), "--out", str(out)]) == 0
    agent = FakeAgentSession(
        {
            (1, 3, 6, 1, 2, 1, 1, 2, 0): (6, (1, 3, 6, 1, 4, 1, 99999, 640)),
            (1, 3, 6, 1, 4, 1, 99999, 640, 3, 1, 0): (2, 9810),  # 98.1 MHz in 10 kHz
            (1, 3, 6, 1, 4, 1, 99999, 640, 3, 5): (2, 7),  # no .0: as the agent serves it
        }
    )
    config = SnmpSettings(type="snmp", address="192.0.2.1", profile_dirs=[str(out)])  # type: ignore[call-arg]
    samples = await SnmpProbe("radio", config, session=agent).poll(1000.0)
    readings = {(s.metric, s.labels.get("sensor"), s.labels.get("index")): s.value for s in samples}
    assert readings[("sensor.frequency", "Frequency", "1")] == pytest.approx(98_100_000)
    assert readings[("sensor.percent", "Multipath", "multipath.1")] == 7


def test_a_description_column_named_with_its_module_is_resolved_not_printed() -> None:
    discovery = {
        "modules": {
            "sensors": {
                "fanspeed": {
                    "data": [
                        {
                            "oid": "ACME-MIB::fanTable",
                            "value": "ACME-MIB::fanSpeed",
                            "num_oid": ".1.3.6.1.4.1.99.2.1.4.{{ $index }}",
                            "descr": "ACME-MIB::fanName",
                        }
                    ]
                }
            }
        }
    }
    known = {"ACME-MIB::fanName": "1.3.6.1.4.1.99.2.1.2"}
    names = Names(resolve=known.get, why=lambda: "not in MIB ACME-MIB")
    result = convert_os({"discovery": []}, discovery, "acme", names)
    assert result.profile is not None
    assert result.profile["tables"][0]["labels"]["sensor"] == "1.3.6.1.4.1.99.2.1.2"
    # Without the MIB it is reported and the sensor labelled by index, never by the name.
    result = convert_os({"discovery": []}, discovery, "acme")
    assert result.profile is not None
    assert result.profile["tables"][0]["labels"]["sensor"] == {"template": "fanspeed {index}"}
    assert any("descr column ACME-MIB::fanName has no OID" in r for r in result.skipped)


def test_a_sensor_for_some_firmware_only_is_left_out_with_the_reason() -> None:
    entry = {
        "oid": "ACME-MIB::hostTemperature",
        "num_oid": ".1.3.6.1.4.1.99.1.4.{{ $index }}",
        "descr": "Temperature",
        "divisor": 10000000,
        "skip_values": [{"device": "version", "op": "not_regex", "value": "/^8\\.7\\./"}],
    }
    discovery = {"modules": {"sensors": {"temperature": {"data": [entry]}}}}
    result = convert_os({"discovery": []}, discovery, "acme")
    assert result.sensors == 0
    assert result.skipped[-1] == (
        "sensors.temperature.data[0] (ACME-MIB::hostTemperature): skip_values on the device's"
        " version (sensor left out)"
    )


def test_a_discovery_file_without_sensors_says_so() -> None:
    result = convert_os({"discovery": []}, {"modules": {"os": {"serial": "X.0"}}}, "acme")
    assert result.verdict == "not"
    assert "acme: its discovery file has no sensors (other modules only)" in result.skipped


def test_a_sysdescr_regex_with_pcre_named_groups_becomes_a_python_pattern() -> None:
    os_def = {
        "discovery": [
            {"sysDescr_regex": ["/^Acme Switch (?<hardware>[^,]+), fw_(?<version>[0-9.]+)/i"]}
        ]
    }
    discovery = {"modules": {"sensors": {"temperature": {"data": [ENTRY]}}}}
    result = convert_os(os_def, discovery, "acme")
    assert result.profile is not None
    (rule,) = result.profile["detect"]["rules"]
    assert rule["sys_descr_regex"] == [
        "(?i)^Acme Switch (?P<hardware>[^,]+), fw_(?P<version>[0-9.]+)"
    ]
    # The profile loads as the probe loads it, and the pattern matches what LibreNMS's does.
    from probes.snmp.profiles import Profile

    Profile.model_validate(result.profile)
    assert re.search(rule["sys_descr_regex"][0], "ACME switch X-24, fw_1.2.3")


ENTRY = {"oid": "tempTable", "num_oid": ".1.3.6.1.4.1.99.1.1.{{ $index }}", "descr": "Inlet"}


def test_a_bare_equals_sign_is_read_as_librenms_reads_it(tmp_path: Path) -> None:
    # `op: =` is YAML 1.1's "value" key to PyYAML's SafeLoader, which cannot build it: the
    # whole import used to stop on the first such definition.
    checkout = write_checkout(tmp_path, "new")
    detection = checkout / "resources/definitions/os_detection/aaron-radio.yaml"
    detection.write_text(
        RADIO_DETECTION
        + "    - sysObjectID: .1.3.6.1.4.1.8072.3.2.10\n"
        + "      snmpget: {oid: ACME-RADIO-MIB::maker.0, op: =, value: Acme}\n"
    )
    (conversion,) = import_definitions(checkout)
    assert conversion.sensors == 2
    assert "aaron-radio.yaml: a detection rule using snmpget (not read)" in conversion.skipped


def test_a_definition_that_is_no_yaml_costs_only_its_own_os(tmp_path: Path) -> None:
    checkout = write_checkout(tmp_path, "new")
    (checkout / "resources/definitions/os_detection/broken.yaml").write_text("os: [unclosed\n")
    by_os = {c.os: c for c in import_definitions(checkout)}
    assert by_os["aaron-radio"].sensors == 2
    assert by_os["broken"].verdict == "not"
    assert by_os["broken"].skipped[0].startswith("broken.yaml: could not be read (")


# A MIB written for this test (SMIv1, like the fixtures'): one enumerated status column.
ACME_STATE_MIB = """\
ACME-STATE-MIB DEFINITIONS ::= BEGIN
IMPORTS
    enterprises FROM RFC1155-SMI
    OBJECT-TYPE FROM RFC-1212;

acme            OBJECT IDENTIFIER ::= { enterprises 99999 }
acmePsuTable OBJECT-TYPE
    SYNTAX SEQUENCE OF AcmePsuEntry
    ACCESS not-accessible
    STATUS mandatory
    DESCRIPTION "Power supplies."
    ::= { acme 1 }
acmePsuEntry OBJECT-TYPE
    SYNTAX AcmePsuEntry
    ACCESS not-accessible
    STATUS mandatory
    DESCRIPTION "One power supply."
    INDEX { acmePsuIndex }
    ::= { acmePsuTable 1 }
AcmePsuEntry ::= SEQUENCE { acmePsuIndex INTEGER, acmePsuState INTEGER }
acmePsuIndex OBJECT-TYPE
    SYNTAX INTEGER
    ACCESS read-only
    STATUS mandatory
    DESCRIPTION "Its number."
    ::= { acmePsuEntry 1 }
acmePsuState OBJECT-TYPE
    SYNTAX INTEGER { ok(1), failed(2), absent(3) }
    ACCESS read-only
    STATUS mandatory
    DESCRIPTION "Its state."
    ::= { acmePsuEntry 2 }
END
"""

PSU_DISCOVERY = """\
mib: ACME-STATE-MIB
modules:
    sensors:
        state:
            data:
                -
                    oid: ACME-STATE-MIB::acmePsuTable
                    value: ACME-STATE-MIB::acmePsuState
                    num_oid: '.1.3.6.1.4.1.99999.1.1.2.{{ $index }}'
                    descr: 'PSU {{ $index }}'
                    state_name: acmePsuState
                    states:
"""


def test_a_state_sensor_without_states_is_named_from_its_mib(tmp_path: Path) -> None:
    checkout = write_checkout(tmp_path, "new")
    (checkout / "resources/definitions/os_discovery/aaron-radio.yaml").write_text(PSU_DISCOVERY)
    mibs = checkout / "mibs"
    (mibs / "acme").mkdir(parents=True)
    (mibs / "acme" / "ACME-STATE-MIB").write_text(ACME_STATE_MIB)
    for base in (
        "RFC1155-SMI",
        "RFC-1212",
        "RFC1213-MIB",
        "SNMPv2-SMI",
        "SNMPv2-TC",
        "SNMPv2-CONF",
    ):
        shutil.copy(Path(__file__).parents[1] / "fixtures/librenms/mibs" / base, mibs / base)
    (conversion,) = import_definitions(checkout)
    assert conversion.profile is not None, conversion.skipped
    (metric,) = conversion.profile["tables"][0]["metrics"]
    assert metric["map"] == {1: "ok", 2: "failed", 3: "absent"}
    # Without the MIB the sensor is left out, and the line says why.
    (conversion,) = import_definitions(checkout, mibs=tmp_path / "none")
    assert conversion.sensors == 0
    assert (
        "acmePsuState has no enumeration (LibreNMS names them from its MIB: no mibs/"
        in (conversion.skipped[-1])
    )
