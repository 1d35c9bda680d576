"""The daily inspection sheet: latest readings graded by the rules' levels (without timers),
grouped by site and room, in every format, with the fields to sign."""

from __future__ import annotations

import csv
import io
import zoneinfo
from pathlib import Path

import pytest

from alerting.reports import output
from alerting.reports.inspection import (
    FAULT,
    NORMAL,
    UNGRADED,
    UNKNOWN,
    WARNING,
    DeviceRow,
    InspectionSheet,
    build_inspection,
)
from core.sample import Sample, Value
from inventory.model import Device, Inventory, Selector, Site
from rules.loader import load_rules
from rules.maintenance import MaintenanceWindow
from rules.model import Rule

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = 1_795_400_000.0

RULES = """
groups:
  - name: room
    rules:
      - name: room-temperature
        select: {kind: sensor}
        metric: ambient.temperature
        levels: {1: "> 35", 2: "> 30", 3: "> 27"}
        for: 2m
      - name: ups-on-battery
        select: {kind: ups}
        metric: ups.status
        levels: {1: "contains LB", 2: "contains OB"}
      - name: low-battery
        select: {kind: ups}
        metric: battery.charge
        levels: {1: "< 20", 2: "< 50"}
      - name: disk-full
        select: {kind: server}
        metric: disk.used_percent
        levels: {2: "> 95", 3: "> 90"}
      - name: if-errors
        select: {kind: switch}
        metric: rate(ifInErrors)
        levels: {3: "> 1"}
      - name: certificate
        select: {kind: website}
        metric: tls.cert_expiry_days
        levels: {2: "< 7", 3: "< 30"}
      - name: unreachable
        select: {}
        metric: device.up
        levels: {"device.criticality": "== 0"}
        for: 1m
"""


def device(id: str, kind: str, site: str, room: str | None = "A") -> Device:
    return Device(id, id.upper(), kind, 2, site=site, room=room)


def world(tmp_path: Path) -> tuple[Inventory, list[Rule]]:
    inventory = Inventory(
        sites={"dc1": Site("dc1", "Beijing DC"), "dc2": Site("dc2", "Shanghai DC")},
        devices={
            d.id: d
            for d in (
                device("th-hot", "sensor", "dc1"),
                device("th-warm", "sensor", "dc1"),
                device("th-ok", "sensor", "dc1", room="B"),
                device("ups1", "ups", "dc1"),
                device("srv1", "server", "dc2"),
                device("sw1", "switch", "dc2"),
                device("web1", "website", "dc2", room=None),
                device("dead", "server", "dc2"),
                device("silent", "server", "dc2"),
            )
        },
    )
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    return inventory, list(load_rules([path], inventory))


def s(dev: str, metric: str, value: Value, ts: float = NOW - 30, **labels: str) -> Sample:
    return Sample(dev, metric, value, labels, None, ts)


SAMPLES = [
    s("th-hot", "ambient.temperature", 24.0, ts=NOW - 600),  # older reading, superseded
    s("th-hot", "ambient.temperature", 31.5),
    s("th-hot", "ambient.humidity", 40.0),
    s("th-warm", "ambient.temperature", 28.0),
    s("th-ok", "ambient.temperature", 22.25),
    s("ups1", "ups.status", "OB DISCHRG"),
    s("ups1", "battery.charge", 88),
    s("ups1", "ups.load", 35.0),
    s("ups1", "ups.temperature", 40.0),  # not graded; the temperature column falls back to it
    s("srv1", "disk.used_percent", 50.0, mount="/"),
    s("srv1", "disk.used_percent", 93.0, mount="/var"),
    s("srv1", "cpu.usage", 12.0),
    s("sw1", "ifInErrors", 120, ifName="Gi1/0/1"),
    s("sw1", "ifInErrors", 3, ifName="Gi1/0/2"),
    s("sw1", "ifOutErrors", 7, ifName="Gi1/0/1"),
    s("web1", "tls.cert_expiry_days", 12.0),
    s("web1", "http.up", 1),
    *(s(d, "device.up", 1) for d in ("th-hot", "th-warm", "th-ok", "ups1", "srv1", "sw1", "web1")),
    Sample("dead", "device.up", 0, ts=NOW - 30, note="timeout"),
]


@pytest.fixture
def sheet(tmp_path: Path) -> InspectionSheet:
    inventory, rules = world(tmp_path)
    window = MaintenanceWindow("mw", Selector(id=("srv1",)), NOW - 3600, NOW + 3600)
    return build_inspection(inventory, rules, SAMPLES, NOW, [window])


def rows(sheet: InspectionSheet) -> dict[str, DeviceRow]:
    return {r.device: r for r in sheet.rows}


def test_readings_are_graded_by_the_rule_levels_without_timers(sheet: InspectionSheet) -> None:
    r = rows(sheet)
    assert r["th-hot"].readings["temperature"].value == 31.5  # the newest reading
    assert r["th-hot"].readings["temperature"].status == FAULT  # level 2, its `for` ignored
    assert r["th-hot"].readings["temperature"].level == 2
    assert r["th-warm"].readings["temperature"].status == WARNING
    assert r["th-ok"].readings["temperature"].status == NORMAL
    assert r["ups1"].readings["ups_status"].status == FAULT
    assert r["ups1"].readings["battery"].status == NORMAL
    assert r["web1"].readings["cert_days"].status == WARNING
    assert {k: v.status for k, v in r["th-hot"].readings.items()} == {
        "temperature": FAULT,
        "humidity": UNGRADED,  # no rule watches humidity: shown, not judged
    }


def test_device_status_is_its_worst_reading(sheet: InspectionSheet) -> None:
    r = rows(sheet)
    assert r["th-hot"].status == FAULT
    assert r["th-warm"].status == WARNING
    assert r["th-ok"].status == NORMAL
    assert r["ups1"].status == FAULT
    assert r["web1"].status == WARNING


def test_unreachable_device_is_a_fault_and_an_unpolled_one_has_no_data(
    sheet: InspectionSheet,
) -> None:
    r = rows(sheet)
    assert r["dead"].reachable is False and r["dead"].status == FAULT
    assert r["silent"].reachable is None and r["silent"].status == UNKNOWN
    assert r["silent"].readings == {}


def test_several_series_show_the_one_that_decides(sheet: InspectionSheet) -> None:
    disk = rows(sheet)["srv1"].readings["disk"]
    assert (disk.value, disk.labels, disk.status) == (93.0, {"mount": "/var"}, WARNING)
    errors = rows(sheet)["sw1"].readings["if_errors"]
    assert errors.value == 130  # counters summed over interfaces, in and out
    # a rate() rule cannot grade one counter reading
    assert errors.status == UNGRADED
    assert rows(sheet)["ups1"].readings["temperature"].value == 40.0
    # a UPS's load and a server's CPU usage are different readings in different columns
    assert rows(sheet)["ups1"].readings["ups_load"].value == 35.0
    assert rows(sheet)["srv1"].readings["cpu"].value == 12.0
    assert "cpu" not in rows(sheet)["ups1"].readings
    assert "ups_load" not in rows(sheet)["srv1"].readings


def test_each_marked_device_says_why(sheet: InspectionSheet) -> None:
    hot = rows(sheet)["th-hot"].findings
    assert [(f.rule, f.metric, f.value, f.condition, f.level) for f in hot] == [
        ("room-temperature", "ambient.temperature", 31.5, "> 30", 2)
    ]
    ups = [(f.rule, f.condition, f.status) for f in rows(sheet)["ups1"].findings]
    assert ups == [("ups-on-battery", "contains OB", FAULT)]
    disk = rows(sheet)["srv1"].findings
    assert [(f.labels, f.condition, f.status) for f in disk] == [
        ({"mount": "/var"}, "> 90", WARNING)
    ]
    dead = rows(sheet)["dead"].findings
    assert [(f.metric, f.rule, f.condition) for f in dead] == [("device.up", None, "timeout")]
    assert rows(sheet)["th-ok"].findings == ()


def test_rate_rule_grades_a_rate_reading_when_one_is_at_hand(tmp_path: Path) -> None:
    inventory, rules = world(tmp_path)
    samples = [s("sw1", "ifInErrors.rate", 5.0, ifName="Gi1/0/1"), s("sw1", "device.up", 1)]
    sheet = build_inspection(inventory, rules, samples, NOW)
    assert rows(sheet)["sw1"].status == WARNING


def test_devices_are_grouped_by_site_and_room_and_maintenance_is_marked(
    sheet: InspectionSheet,
) -> None:
    groups = [(g.site, g.room, [r.device for r in g.rows]) for g in sheet.groups]
    assert groups == [
        ("dc1", "A", ["th-hot", "th-warm", "ups1"]),
        ("dc1", "B", ["th-ok"]),
        ("dc2", None, ["web1"]),
        ("dc2", "A", ["dead", "silent", "srv1", "sw1"]),
    ]
    assert rows(sheet)["srv1"].maintenance is True
    assert rows(sheet)["sw1"].maintenance is False
    assert sheet.counts() == {NORMAL: 2, WARNING: 3, FAULT: 3, UNKNOWN: 1}


def test_site_filter(tmp_path: Path) -> None:
    inventory, rules = world(tmp_path)
    sheet = build_inspection(inventory, rules, SAMPLES, NOW, site="dc1")
    assert {r.site for r in sheet.rows} == {"dc1"}


HEADER = [
    "Device",
    "Name",
    "Reachable",
    "Temperature (°C)",
    "Humidity (%RH)",
    "UPS status",
    "Battery (%)",
    "UPS load (%)",
    "CPU (%)",
    "Interface errors",
    "Disk used (%)",
    "Certificate (days)",
    "Status",
    "Why",
]
TH_HOT = [
    *("th-hot", "TH-HOT", "yes", "31.5", "40.0", "-", "-", "-", "-", "-", "-", "-", "fault"),
    "ambient.temperature = 31.5: > 30 (rule room-temperature, level 2)",
]
SRV1 = [
    "srv1",
    "SRV1",
    "yes",
    "-",
    "-",
    "-",
    "-",
    "-",
    "12.0",
    "-",
    "93.0 (/var)",
    "-",
    "warning (maintenance)",
    "disk.used_percent{mount=/var} = 93.0: > 90 (rule disk-full, level 3)",
]
UPS1 = [
    *("ups1", "UPS1", "yes", "40.0", "-", "OB DISCHRG", "88", "35.0", "-", "-", "-", "-"),
    "fault",
    "ups.status = OB DISCHRG: contains OB (rule ups-on-battery, level 2)",
]


def test_csv_sheet_cells(sheet: InspectionSheet) -> None:
    doc = output.inspection(sheet, "csv", "en", TZ)
    table: dict[str, list[list[str]]] = {}
    for row in csv.reader(io.StringIO(doc)):
        table.setdefault(row[0], []).append(row[1:])
    room_a = table["room-dc1-A"]
    assert room_a[0] == HEADER
    assert TH_HOT in room_a and UPS1 in room_a
    assert SRV1 in table["room-dc2-A"]
    assert [r[0] for r in table["signature"]] == [
        "Inspected by",
        "Date and time",
        "Reviewed by",
        "Remarks",
    ]
    assert table["report"][1] == ["Inspection time", "2026-11-23 10:13"]


def test_markdown_sheet_has_rooms_readings_and_signature_lines(sheet: InspectionSheet) -> None:
    doc = output.inspection(sheet, "md", "en", TZ)
    assert "## Site: Beijing DC · Room: A" in doc
    assert "| " + " | ".join(TH_HOT) + " |" in doc
    assert "Inspected by: ____" in doc and "Reviewed by: ____" in doc


def test_html_sheet_colours_each_cell_by_status(sheet: InspectionSheet) -> None:
    doc = output.inspection(sheet, "html", "en", TZ)
    assert '<td class="fault num">31.5</td>' in doc
    assert '<td class="warning num">28.0</td>' in doc
    assert '<td class="num">40.0</td>' in doc  # humidity: no rule, no mark
    assert '<td class="normal num">22.2</td>' in doc or '<td class="normal num">22.3</td>' in doc
    assert 'class="sign"' in doc and "Inspected by" in doc
    assert "<script" not in doc


def test_chinese_sheet(sheet: InspectionSheet) -> None:
    doc = output.inspection(sheet, "md", "zh", TZ)
    assert "# 机房日常巡检记录表" in doc
    assert "巡检人: ____" in doc
    assert "| th-hot | TH-HOT | 是 | 31.5 |" in doc and "故障 |" in doc
