"""MIB names: compiling MIB sources with pysmi (`roomwatch mibs compile`), names for OIDs and
OIDs for names, and traps, their varbinds and unknown OIDs by name in the receiver's samples.
The MIBs are real sources (IETF IF-MIB from npm's net-snmp, a vendor-style test MIB),
compiled by the same code the command runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from probes.snmp import ber
from probes.snmp.mib_compile import compile_mibs, modules_in
from probes.snmp.mib_names import MibNames, UnknownName
from probes.snmp.traps import SNMP_TRAP_OID, SnmpTrapReceiver, SnmpTrapSettings
from tests.fixtures.mib_sources import MIB_SOURCES, TEST_MIB, compiled_mibs

__all__ = ["compiled_mibs"]  # the fixture, used by name

PORT_ALARM = (1, 3, 6, 1, 4, 1, 99999, 0, 1)
IF_DESCR_3 = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 3)


@pytest.fixture(scope="module")
def names(compiled_mibs: Path) -> MibNames:
    return MibNames.load([compiled_mibs])


def test_names_for_oids_and_oids_for_names(names: MibNames) -> None:
    assert names.name_of(IF_DESCR_3) == "IF-MIB::ifDescr.3"
    assert names.name_of(PORT_ALARM) == "ROOMWATCH-TEST-MIB::rwTestPortAlarm"
    assert names.name_of((1, 3, 6, 1, 6, 3, 1, 1, 5, 1)) == "SNMPv2-MIB::coldStart"
    assert names.oid_of("IF-MIB::ifDescr") == IF_DESCR_3[:-1]
    assert names.oid_of("IF-MIB::ifDescr.3") == IF_DESCR_3
    assert names.oid_of("ifDescr.3") == IF_DESCR_3
    assert names.oid_of(".1.3.6.1.2.1.2.2.1.2.3") == IF_DESCR_3
    # another enterprise's OID: only `enterprises` would name it, which helps nobody
    assert names.name_of((1, 3, 6, 1, 4, 1, 318, 0, 5)) is None
    assert names.text_of((1, 3, 6, 1, 4, 1, 318, 0, 5)) == "1.3.6.1.4.1.318.0.5"


def test_values_are_shown_by_name(names: MibNames) -> None:
    oper = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 3)
    assert names.value_text(oper, 2) == "down(2)"
    assert names.value_text(oper, 99) == "99"
    assert names.value_text(IF_DESCR_3, b"eth0") == "eth0"
    assert names.value_text(IF_DESCR_3, b"\x00\x1b\x21") == "0x001b21"
    assert names.value_text((1, 3, 6, 1, 2, 1, 1, 2, 0), PORT_ALARM) == (
        "ROOMWATCH-TEST-MIB::rwTestPortAlarm"
    )


def test_an_unknown_name_says_what_to_do(names: MibNames) -> None:
    with pytest.raises(UnknownName, match=r"no compiled MIB defines 'CISCO-MIB::x'.*mibs compile"):
        names.oid_of("CISCO-MIB::x")
    with pytest.raises(UnknownName, match="index 'a' is not numbers"):
        names.oid_of("ifDescr.a")
    with pytest.raises(UnknownName, match="not an OID"):
        names.oid_of("1.3.x")


def test_a_bad_file_in_a_mib_dir_costs_only_itself(
    compiled_mibs: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "IF-MIB.json").write_text(
        (compiled_mibs / "IF-MIB.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    loaded = MibNames.load([tmp_path])
    assert loaded.name_of(IF_DESCR_3) == "IF-MIB::ifDescr.3"
    assert "broken.json" in caplog.text


def receiver(names: MibNames | None) -> SnmpTrapReceiver:
    settings = SnmpTrapSettings.model_validate({"listen": "127.0.0.1:0"})
    return SnmpTrapReceiver(settings, lambda samples: None, clock=lambda: 1000.0, names=names)


def port_alarm() -> list[ber.Varbind]:
    return [
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), ber.TIMETICKS, 5),
        (SNMP_TRAP_OID, ber.OBJECT_IDENTIFIER, PORT_ALARM),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 3), ber.INTEGER, 3),
        (IF_DESCR_3, ber.OCTET_STRING, b"eth0"),
        ((1, 3, 6, 1, 4, 1, 99999, 1, 1, 0), ber.INTEGER, 3),
        ((1, 3, 6, 1, 4, 1, 99999, 1, 2, 0), ber.OCTET_STRING, b"fan stopped"),
        ((1, 3, 6, 1, 6, 3, 18, 1, 4, 0), ber.OCTET_STRING, b"s3cret-community"),
    ]


def test_a_trap_only_a_mib_knows_is_named_with_its_varbinds(names: MibNames) -> None:
    rx = receiver(names)
    samples = {
        (s.metric, tuple(sorted(s.labels.items()))): s
        for s in rx.samples_for("10.0.0.9", port_alarm())
    }
    trap_name = "ROOMWATCH-TEST-MIB::rwTestPortAlarm"
    trap = samples[("snmp.trap", (("trap", trap_name),))]
    assert trap.value == trap_name
    assert trap.note == (
        "IF-MIB::ifIndex.3=3 IF-MIB::ifDescr.3=eth0 ROOMWATCH-TEST-MIB::rwTestAlarmState.0=critical(3)"
        " ROOMWATCH-TEST-MIB::rwTestAlarmText.0=fan stopped"
    )
    assert samples[("rwTestAlarmState", (("trap", trap_name),))].value == 3
    assert samples[("ifDescr", (("index", "3"), ("trap", trap_name)))].value == "eth0"
    assert samples[("rwTestAlarmText", (("trap", trap_name),))].value == "fan stopped"
    assert not rx.unknown  # named: not counted or logged as unknown
    # the community a v1 trap carries never reaches a sample, a note or the log
    assert not [s for s in samples.values() if "s3cret" in f"{s.value} {s.note}"]


def test_without_mibs_the_trap_stays_an_unknown_oid(names: MibNames) -> None:
    rx = receiver(None)
    (sample,) = rx.samples_for("10.0.0.9", port_alarm())
    assert (sample.value, sample.labels, sample.note) == (
        "1.3.6.1.4.1.99999.0.1",
        {"trap": "unknown"},
        None,
    )
    assert rx.unknown == {"1.3.6.1.4.1.99999.0.1": 1}


def test_a_link_trap_keeps_its_ifoperstatus_series_and_gains_a_note(names: MibNames) -> None:
    link_down = [
        (SNMP_TRAP_OID, ber.OBJECT_IDENTIFIER, (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 7), ber.INTEGER, 7),
    ]
    with_names = receiver(names).samples_for("10.0.0.9", link_down)
    without = receiver(None).samples_for("10.0.0.9", link_down)
    assert [(s.metric, s.value, s.labels) for s in with_names] == [
        (s.metric, s.value, s.labels) for s in without
    ]
    assert with_names[0].note == "IF-MIB::ifIndex.7=7"


def test_compile_names_each_module_and_what_it_lacks(tmp_path: Path) -> None:
    lonely = tmp_path / "src" / "acme-ups.my"  # any file name: the module name is inside
    lonely.parent.mkdir()
    lonely.write_text(TEST_MIB.read_text(encoding="utf-8"), encoding="utf-8")
    outcomes, problems = compile_mibs([lonely], tmp_path / "out")
    assert problems == []
    ((module, status, detail),) = [(o.module, o.status, o.detail) for o in outcomes]
    assert (module, status) == ("ROOMWATCH-TEST-MIB", "missing")
    assert "imports" in detail and "add its file or directory" in detail

    garbage = tmp_path / "src" / "BROKEN-MIB.txt"
    garbage.write_text("BROKEN-MIB DEFINITIONS ::= BEGIN\n  this is not SMI\nEND\n", "utf-8")
    outcomes, _ = compile_mibs([garbage, MIB_SOURCES], tmp_path / "out")
    ((status, detail),) = [(o.status, o.detail) for o in outcomes]
    assert status == "failed" and "line 2" in detail

    outcomes, problems = compile_mibs(
        [tmp_path / "nope.txt", MIB_SOURCES / "MANIFEST.md"], tmp_path / "out"
    )
    assert outcomes == []
    assert [p.split(": ", 1)[1] for p in problems] == [
        "no such file or directory",
        "not a MIB (no 'NAME DEFINITIONS ::= BEGIN' line)",
    ]


def test_compiled_json_is_pysmi_s_and_modules_are_read_from_files(compiled_mibs: Path) -> None:
    data = json.loads((compiled_mibs / "ROOMWATCH-TEST-MIB.json").read_text(encoding="utf-8"))
    assert data["rwTestPortAlarm"]["oid"] == "1.3.6.1.4.1.99999.0.1"
    assert modules_in(TEST_MIB) == ["ROOMWATCH-TEST-MIB"]
    assert modules_in(MIB_SOURCES / "MANIFEST.md") == []


def test_check_warns_about_a_mib_dir_that_names_nothing(
    tmp_path: Path, compiled_mibs: Path
) -> None:
    from collector.loading import mib_dir_warnings

    (tmp_path / "empty").mkdir()
    warnings = mib_dir_warnings([tmp_path / "nope", tmp_path / "empty", compiled_mibs])
    assert len(warnings) == 2
    assert "nope is not a directory" in warnings[0] and "roomwatch mibs compile" in warnings[0]
    assert "holds no compiled MIB" in warnings[1]
