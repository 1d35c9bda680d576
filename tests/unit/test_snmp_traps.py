"""The trap receiver's settings and its notification → sample mapping (no network)."""

from __future__ import annotations

import functools
import gc
import logging
import re

import pytest
import yaml

import probes.snmp.mapping
import probes.snmp.traps
from probes.snmp import ber
from probes.snmp.mapping import interface_labels
from probes.snmp.probe import SnmpProbe, SnmpSettings
from probes.snmp.traps import (
    SNMP_TRAP_OID,
    SnmpTrapReceiver,
    SnmpTrapSettings,
    TrapReceiverSettings,
)
from tests.fixtures.peers import shared_fixture
from tests.fixtures.snmp_fake import FakeAgentSession

LINK_DOWN = (1, 3, 6, 1, 6, 3, 1, 1, 5, 3)


def receiver(**settings: object) -> SnmpTrapReceiver:
    config = SnmpTrapSettings.model_validate({"listen": "127.0.0.1:0", **settings})
    return SnmpTrapReceiver(config, lambda samples: None, clock=lambda: 1000.0)


def trap(oid: ber.Oid, *extra: ber.Varbind) -> list[ber.Varbind]:
    uptime: ber.Varbind = ((1, 3, 6, 1, 2, 1, 1, 3, 0), ber.TIMETICKS, 5)
    return [uptime, (SNMP_TRAP_OID, ber.OBJECT_IDENTIFIER, oid), *extra]


def test_the_docstring_example_is_a_valid_traps_section() -> None:
    (block,) = re.findall(r"```yaml\n(.*?)```", probes.snmp.traps.__doc__ or "", re.S)
    section = yaml.safe_load(block)["traps"]
    settings = TrapReceiverSettings.model_validate(section)
    assert settings.devices["10.0.0.2"] == "core-sw1"


def test_credentials_entries_add_communities_and_v3_users() -> None:
    settings = SnmpTrapSettings(credentials=["c", "u"]).with_credentials(
        {
            "c": {"community": "s3cret-community"},
            "u": {
                "user": "trapuser",
                "auth_key": "s3cret-auth-key",
                "engine_id": "8000000001020304",
            },
        }
    )
    assert settings.communities == ["s3cret-community"]
    assert settings.users[0].user == "trapuser"
    assert "s3cret" not in repr(settings)
    with pytest.raises(KeyError, match="'missing'"):
        SnmpTrapSettings(credentials=["missing"]).with_credentials({})
    by_lookup = SnmpTrapSettings(credentials=["c"]).with_credentials(
        {"c": {"community": "other"}}.__getitem__
    )
    assert by_lookup.communities == ["other"]
    with pytest.raises(ValueError, match="no community or user"):
        SnmpTrapSettings(credentials=["x"]).with_credentials({"x": {"token": "t"}})


def test_bad_listen_address_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="host:port"):
        SnmpTrapSettings(listen="0.0.0.0:http")


def test_link_down_names_the_port_from_the_trap_varbinds() -> None:
    rx = receiver(devices={"10.0.0.2": "core-sw1"})
    samples = rx.samples_for(
        "10.0.0.2",
        trap(
            LINK_DOWN,
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 12), ber.INTEGER, 12),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 12), ber.INTEGER, 2),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 12), ber.OCTET_STRING, b"GigabitEthernet1/0/12"),
        ),
    )
    assert [(s.device, s.metric, s.value, s.labels) for s in samples] == [
        ("core-sw1", "snmp.trap", "linkDown", {"trap": "linkDown"}),
        ("core-sw1", "ifOperStatus", 2, {"ifIndex": "12", "ifDescr": "GigabitEthernet1/0/12"}),
    ]
    assert all(s.ts == 1000.0 for s in samples)


def test_ups_traps_set_nut_status_flags() -> None:
    rx = receiver()
    on_battery = rx.samples_for("10.0.5.10", trap((1, 3, 6, 1, 2, 1, 33, 2, 1)))
    assert ("ups.status", "OB") in [(s.metric, s.value) for s in on_battery]
    low = rx.samples_for("10.0.5.10", trap((1, 3, 6, 1, 4, 1, 318, 0, 7)))
    assert ("ups.status", "OB LB") in [(s.metric, s.value) for s in low]
    assert on_battery[0].device == "10.0.5.10"  # unmapped: the address, never dropped


def test_a_v1_ups_mib_trap_is_known_in_its_converted_form() -> None:
    # A UPS card sending upsTrapOnBattery as SNMPv1 (enterprise upsTraps, specific 1): the
    # receiver sees snmpTrapOID upsTraps.0.1 (RFC 3584).
    rx = receiver()
    samples = rx.samples_for("10.0.5.10", trap((1, 3, 6, 1, 2, 1, 33, 2, 0, 1)))
    assert [(s.metric, s.value) for s in samples] == [
        ("snmp.trap", "upsTrapOnBattery"),
        ("ups.status", "OB"),
    ]
    assert not rx.unknown


def test_link_trap_names_lose_padding_nuls_as_polled_ones_do() -> None:
    rx = receiver()
    samples = rx.samples_for(
        "10.0.0.2",
        trap(
            LINK_DOWN,
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 4), ber.INTEGER, 4),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 4), ber.OCTET_STRING, b"eth3\x00"),
        ),
    )
    assert [s.labels for s in samples if s.metric == "ifOperStatus"] == [
        {"ifIndex": "4", "ifDescr": "eth3"}
    ]


def test_unknown_traps_are_counted_and_logged_once_per_type(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rx = receiver()
    caplog.set_level(logging.WARNING, logger="roomwatch.snmp_traps")
    for _ in range(3):
        samples = rx.samples_for("10.0.0.9", trap((1, 3, 6, 1, 4, 1, 9, 0, 77)))
    assert samples[0].value == "1.3.6.1.4.1.9.0.77"
    assert samples[0].labels == {"trap": "unknown"}
    assert rx.unknown["1.3.6.1.4.1.9.0.77"] == 3
    assert len(caplog.records) == 1
    assert rx.samples_for("10.0.0.9", [((1, 3, 6, 1, 2, 1, 1, 3, 0), ber.TIMETICKS, 1)]) == []
    assert rx.unknown["(no snmpTrapOID)"] == 1


def test_the_lookup_callback_names_unmapped_sources() -> None:
    config = SnmpTrapSettings(listen="127.0.0.1:0", devices={"10.0.0.2": "core-sw1"})
    rx = SnmpTrapReceiver(config, lambda s: None, device_for={"10.0.0.3": "edge-sw3"}.get)
    assert rx.device_id("10.0.0.2") == "core-sw1"
    assert rx.device_id("10.0.0.3") == "edge-sw3"
    assert rx.device_id("10.0.0.4") == "10.0.0.4"


async def test_a_link_trap_updates_the_series_the_poll_writes() -> None:
    session = FakeAgentSession.from_recording(shared_fixture("snmp", "ios_2960x.snmprec"))
    settings = SnmpSettings(type="snmp", address="192.0.2.1", profile=["if-mib"])
    probe = SnmpProbe("core-sw2", settings, session=session)  # the daemon keeps its probes
    polled = await probe.poll(1000.0)
    (port,) = [
        s for s in polled if s.metric == "ifOperStatus" and s.labels.get("ifIndex") == "10101"
    ]
    rx = receiver(devices={"10.0.0.3": "core-sw2"})
    samples = rx.samples_for(
        "10.0.0.3", trap(LINK_DOWN, ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 10101), ber.INTEGER, 10101))
    )
    (down,) = [s for s in samples if s.metric == "ifOperStatus"]
    assert down.series_key() == port.series_key()
    assert down.labels["ifName"] == "Gi1/0/1"
    assert down.value == 2


async def test_a_port_gone_from_the_poll_is_no_longer_labelled_as_polled() -> None:
    session = FakeAgentSession.from_recording(shared_fixture("snmp", "ios_2960x.snmprec"))
    settings = SnmpSettings(type="snmp", address="192.0.2.1", profile=["if-mib"])
    probe = SnmpProbe("core-sw4", settings, session=session)
    await probe.poll(1000.0)
    polled = interface_labels("core-sw4", "10101")
    assert polled is not None and polled["ifName"] == "Gi1/0/1"
    tables = ((1, 3, 6, 1, 2, 1, 2, 2, 1), (1, 3, 6, 1, 2, 1, 31, 1, 1, 1))
    for oid in [o for o in session.mib if o[:-2] in tables and o[-1] == 10101]:
        del session.mib[oid]
    session.oids = sorted(session.mib)
    await probe.poll(1060.0)
    assert interface_labels("core-sw4", "10101") is None
    assert interface_labels("core-sw4", "10102") is not None
    assert interface_labels("core-sw5", "10102") is None  # a device never polled


@pytest.mark.parametrize("compiled", [True, False])
async def test_a_device_removed_at_a_reload_leaves_no_port_labels_behind(
    compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The labels are the polling probe's: a reload that drops the device drops them (they
    held the interface table's row memory), and a reload's new probe takes over."""
    if not compiled:  # every table by the general path (patched where the probe calls it:
        # a module compiled by mypyc calls its siblings directly, past any patch of theirs)
        plain = functools.partial(probes.snmp.mapping.build_samples, compiled=False)
        monkeypatch.setattr("probes.snmp.probe.build_samples", plain)
    session = FakeAgentSession.from_recording(shared_fixture("snmp", "ios_2960x.snmprec"))
    settings = SnmpSettings(type="snmp", address="192.0.2.1", profile=["if-mib"])
    old = SnmpProbe("core-sw6", settings, session=session)
    await old.poll(1000.0)
    new = SnmpProbe("core-sw6", settings, session=session)
    await new.poll(1060.0)
    del old
    gc.collect()
    assert interface_labels("core-sw6", "10101") is not None  # the new probe's
    del new
    gc.collect()
    assert interface_labels("core-sw6", "10101") is None


def test_link_up_with_fewer_varbinds_clears_the_series_its_link_down_opened() -> None:
    # A trap-only switch (never polled): linkDown names the port, linkUp gives only ifIndex.
    rx = receiver()
    down = rx.samples_for(
        "10.0.0.7",
        trap(
            LINK_DOWN,
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 5), ber.INTEGER, 5),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 5), ber.OCTET_STRING, b"Gi1/0/5"),
        ),
    )
    up = rx.samples_for(
        "10.0.0.7",
        trap((1, 3, 6, 1, 6, 3, 1, 1, 5, 4), ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 5), ber.INTEGER, 5)),
    )
    (opened,) = [s for s in down if s.metric == "ifOperStatus"]
    (cleared,) = [s for s in up if s.metric == "ifOperStatus"]
    assert (opened.value, cleared.value) == (2, 1)
    assert opened.labels == cleared.labels == {"ifIndex": "5", "ifDescr": "Gi1/0/5"}


def test_refused_notifications_from_a_flood_of_sources_cost_bounded_memory_and_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probes.snmp.traps, "REFUSED_SOURCES_LOGGED", 3)
    caplog.set_level(logging.WARNING, logger="roomwatch.snmp_traps")
    rx = receiver()
    point = "rfc2576.prepareDataElements:sm-failure"
    for i in range(50):
        rx._refused(None, point, {"transportAddress": (f"10.9.0.{i}", 162)}, None)
    assert len(rx.refused) == 4
    assert rx.refused[("(many sources)", "unknown community")] == 47
    assert rx.stats()["refused"] == 50
    assert len(caplog.records) == 4
