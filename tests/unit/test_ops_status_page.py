"""The wall-screen board: which colour each device gets, what the incident list and the
readings show, and that the page is self-contained and escapes what it shows."""

from __future__ import annotations

import re
from typing import Any

import pytest

from alerting.config import SlaTargets
from alerting.store import Incident
from collector.api.board import Board, build_board, format_value, tile_state
from collector.api.page import format_remaining, render
from core.sample import Sample
from inventory.model import Device, Inventory, Site
from rules.maintenance import MaintenanceWindow, selector_from

NOW = 1_800_000_000.0
SLA = SlaTargets(respond=300, arrive=600, repair=4 * 3600)


def incident(id: int, device: str, level: int, **changes: Any) -> Incident:
    values: dict[str, Any] = {
        "id": id,
        "key": f"rule|{device}",
        "rule": "rule",
        "grp": "g",
        "device": device,
        "metric": "m",
        "site": "dc1",
        "labels": {},
        "level": level,
        "state": "open",
        "suppressed": None,
        "stale": False,
        "summary": {"en": f"{device} is in trouble", "zh": f"{device} 故障"},
        "runbook": None,
        "value": 1,
        "since": NOW - 120,
        "opened_at": NOW - 120,
        "active_since": NOW - 120,
        "level_since": NOW - 120,
        "updated_at": NOW - 120,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "arrived_at": None,
        "arrived_by": None,
        "resolved_at": None,
        "resolved_by": None,
        "closed_at": None,
        "assignee": None,
        "occurrences": 1,
        "problem_id": None,
        "tier": 0,
        "reminders": 0,
        "last_notified_at": None,
    }
    values.update(changes)
    return Incident(**values)


def inventory() -> Inventory:
    devices = [
        Device("sw1", "Core switch", "switch", 1, site="dc1", room="hall-a"),
        Device("ups1", "UPS A", "ups", 1, site="dc1", room="hall-a"),
        Device("th1", "Sensor <A>", "sensor", 3, site="dc1", room="hall-b"),
        Device("web", "Shop", "website", 2, site="dc1"),
        Device("new", "Not polled yet", "server", 2, site="dc1", room="hall-b"),
    ]
    return Inventory(
        sites={"dc1": Site("dc1", "Data centre 1", ("hall-a", "hall-b"))},
        devices={d.id: d for d in devices},
    )


def latest(*samples: Sample) -> dict[Any, Sample]:
    return {s.series_key(): s for s in samples}


SAMPLES = latest(
    Sample("sw1", "device.up", 1, ts=NOW),
    Sample("ups1", "device.up", 1, ts=NOW),
    Sample("ups1", "ups.status", "OB DISCHRG", ts=NOW),
    Sample("ups1", "battery.charge", 63.0, ts=NOW),
    Sample("ups1", "battery.runtime", 5400, ts=NOW),
    Sample("th1", "device.up", 1, ts=NOW),
    Sample("th1", "ambient.temperature", 31.25, {"sensor": "inlet"}, ts=NOW),
    Sample("th1", "ambient.humidity", 48.0, {"sensor": "inlet"}, ts=NOW),
    Sample("web", "device.up", 0, ts=NOW, note="refused"),
)


def board(incidents: list[Incident], windows: list[MaintenanceWindow] | None = None) -> Board:
    return build_board(inventory(), incidents, SAMPLES, windows or [], lambda _: SLA, "en", NOW)


def tiles(b: Board) -> dict[str, str]:
    return {t.id: t.state for s in b.sites for r in s.rooms for t in r.tiles}


def test_each_device_takes_the_colour_of_its_worst_open_level() -> None:
    b = board(
        [
            incident(1, "sw1", 2),
            incident(2, "sw1", 1),
            incident(3, "ups1", 3),
            incident(4, "th1", 1, state="resolved"),  # over: no colour
        ]
    )
    assert tiles(b) == {"sw1": "l1", "ups1": "l3", "th1": "ok", "web": "ok", "new": "nodata"}


def test_suppressed_and_maintenance_are_told_apart_from_healthy() -> None:
    window = MaintenanceWindow("mw-1", selector_from({"id": "th1"}), NOW - 60, NOW + 60)
    b = board([incident(1, "sw1", 1, suppressed="dependency")], [window])
    assert tiles(b)["sw1"] == "suppressed"
    assert tiles(b)["th1"] == "maintenance"
    # an acknowledged fault is still open: the device stays red
    assert tiles(board([incident(1, "sw1", 1, state="acknowledged")]))["sw1"] == "l1"


def test_tile_state_prefers_a_real_level_over_everything_else() -> None:
    assert tile_state(2, True, True, False) == "l2"
    assert tile_state(None, True, False, True) == "suppressed"
    assert tile_state(None, False, False, False) == "nodata"


def test_rooms_follow_the_site_and_devices_without_a_room_come_last() -> None:
    (site,) = board([]).sites
    assert site.name == "Data centre 1"
    assert [(r.name, [t.id for t in r.tiles]) for r in site.rooms] == [
        ("hall-a", ["sw1", "ups1"]),
        ("hall-b", ["th1", "new"]),
        ("other", ["web"]),
    ]


def test_a_device_that_does_not_answer_says_why() -> None:
    (tile,) = [t for s in board([]).sites for r in s.rooms for t in r.tiles if t.id == "web"]
    assert tile.note == "refused"


@pytest.mark.parametrize("http_first", [True, False])
def test_a_device_with_one_probe_failing_says_so_whatever_the_order(http_first: bool) -> None:
    snmp = Sample("sw1", "device.up", 1, {"probe": "snmp"}, ts=NOW)
    http = Sample("sw1", "device.up", 0, {"probe": "http"}, ts=NOW, note="timeout")
    seen = latest(*((http, snmp) if http_first else (snmp, http)))
    b = build_board(inventory(), [], seen, [], lambda _: SLA, "en", NOW)
    (tile,) = [t for s in b.sites for r in s.rooms for t in r.tiles if t.id == "sw1"]
    assert tile.note == "timeout"


def test_incidents_are_listed_worst_first_with_their_sla_clocks() -> None:
    b = board(
        [
            incident(1, "ups1", 3),
            incident(2, "sw1", 1, acknowledged_at=NOW - 60, acknowledged_by="zhang"),
            incident(3, "web", 2, suppressed="maintenance"),
        ]
    )
    assert [i.id for i in b.incidents] == [2, 1, 3]
    clocks = {c.name: c for c in b.incidents[0].clocks}
    assert clocks["respond"].met_at == NOW - 60 and not clocks["respond"].breached
    assert clocks["arrive"].due == NOW - 120 + 600
    assert b.counts == {"l1": 1, "l2": 0, "l3": 1}  # the suppressed one is not counted


def test_readings_show_temperature_humidity_and_ups_in_their_units() -> None:
    b = board([])
    (env,) = b.environment
    assert (env.device_name, env.sensor) == ("Sensor <A>", "inlet")
    assert env.values == {"ambient.temperature": "31.2 °C", "ambient.humidity": "48 %RH"}
    (ups,) = b.ups
    assert ups.values["ups.status"] == "OB DISCHRG"
    assert ups.values["battery.charge"] == "63 %"
    assert ups.values["battery.runtime"] == "1 h 30 min"


def test_values_and_clocks_are_formatted_for_reading_across_a_room() -> None:
    assert format_value("ambient.temperature", float("nan")) == "–"
    assert format_value("input.voltage", 229.6) == "230 V"
    assert format_value("battery.runtime", 600) == "10 min"
    assert format_remaining(125) == "2:05"
    assert format_remaining(-61) == "1:01"
    assert format_remaining(3 * 3600 + 300) == "3h 05m"


def test_the_page_escapes_names_and_summaries() -> None:
    evil = incident(1, "th1", 1, summary={"en": "<img src=x onerror=alert(1)>"})
    page = render(board([evil]))
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Sensor &lt;A&gt;" in page


def test_the_page_needs_nothing_from_the_network_and_refreshes_itself() -> None:
    page = render(board([incident(1, "sw1", 1)]))
    assert not re.search(r"(src|href)=", page)
    assert "https://" not in page and "http://" not in page
    assert "<style>" in page and "<script>" in page
    assert 'data-refresh="10"' in page
    assert '<meta http-equiv="refresh" content="10">' in page  # without JavaScript too
    assert 'data-due="' in page  # clocks count down between refreshes


def test_the_page_speaks_chinese_when_alerting_does() -> None:
    b = build_board(inventory(), [incident(1, "sw1", 1)], SAMPLES, [], lambda _: SLA, "zh", NOW)
    page = render(b)
    assert '<html lang="zh-CN">' in page
    assert "未结束的故障" in page
    assert "sw1 故障" in page


def test_a_website_incident_has_no_on_site_clock() -> None:
    b = board([incident(1, "web", 2), incident(2, "sw1", 2)])
    by_device = {i.device: [c.name for c in i.clocks] for i in b.incidents}
    assert by_device["web"] == ["respond", "repair"]
    assert by_device["sw1"] == ["respond", "arrive", "repair"]
