"""Reports from real polls, looked at in a real browser.

A small machine room on loopback: a Modbus TCP server (the recorded XY-MD02 sensor at 30.5 °C
and Huawei UPS2000 register maps), a website served by Python's http.server, a website whose
port is closed, and this host through the local probe. The roomwatch daemon runs as its own
process with the inspection sheet scheduled; the test waits for the sheet it writes from its
polls and for the outbox to deliver it, then checks every graded reading. `roomwatch report
inspection` polls the same room once. The HTML sheet and a generated monthly report are opened
in headless Chromium and screenshotted (set ROOMWATCH_SCREENSHOTS=DIR to keep the PNGs)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from alerting.reports import output
from tests.fixtures.chromium import chromium_command
from tests.fixtures.modbus_peers import start_tcp
from tests.fixtures.peers import (
    REPO,
    free_port,
    stop_process,
    tcp_ready,
    wait_until,
)
from tests.unit.test_reports_monthly import REPORT_TIME, TableReader, build_month

pytestmark = pytest.mark.integration

ROOMWATCH = str(Path(sys.executable).with_name("roomwatch"))

RULES = """
groups:
  - name: room
    rules:
      - name: room-temperature
        select: {kind: sensor}
        metric: ambient.temperature
        levels: {1: "> 35", 2: "> 30", 3: "> 27"}
        for: 2m
      - name: room-humidity
        select: {kind: sensor}
        metric: ambient.humidity
        levels: {2: "> 80", 3: "> 70"}
      - name: ups-on-battery
        select: {kind: ups}
        metric: ups.status
        levels: {1: "contains LB", 2: "contains OB"}
      - name: ups-battery
        select: {kind: ups}
        metric: battery.charge
        levels: {1: "< 20", 2: "< 50"}
      - name: website-down
        select: {kind: website}
        metric: http.up
        levels: {2: "== 0"}
      - name: unreachable
        select: {}
        metric: device.up
        levels: {"device.criticality": "== 0"}
        for: 1m
"""


@dataclass
class Room:
    dir: Path
    config: Path


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    base = tmp_path_factory.mktemp("room")
    modbus_port, web_port, closed_port = free_port(), free_port(), free_port()
    www = base / "www"
    www.mkdir()
    (www / "index.html").write_text("<html>portal status: OK</html>", encoding="utf-8")
    modbus = start_tcp("pymodbus-tcp", modbus_port)
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(web_port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(www),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(tcp_ready(web_port), 10.0, "http.server")
        (base / "rules").mkdir()
        (base / "rules" / "room.yaml").write_text(RULES, encoding="utf-8")
        (base / "inventory.yaml").write_text(
            f"""
sites:
  - {{id: dc1, name: Beijing DC, rooms: [A]}}
devices:
  - id: room-th
    name: Room sensor
    site: dc1
    room: A
    kind: sensor
    probes:
      - {{type: modbus-tcp, address: "127.0.0.1:{modbus_port}", unit: 1, profile: xy-md02, interval: 5s}}
  - id: ups-a
    name: UPS A
    site: dc1
    room: A
    kind: ups
    probes:
      - {{type: modbus-tcp, address: "127.0.0.1:{modbus_port}", unit: 3, profile: huawei-ups2000, interval: 5s}}
  - id: this-host
    name: This host
    site: dc1
    room: A
    kind: server
    probes:
      - {{type: local, interval: 5s}}
  - id: portal
    name: Portal
    site: dc1
    kind: website
    probes:
      - {{type: http, url: "http://127.0.0.1:{web_port}/", expect_text: OK, interval: 5s, timeout: 3s}}
  - id: gone-site
    name: Old portal
    site: dc1
    kind: website
    criticality: 3
    probes:
      - {{type: http, url: "http://127.0.0.1:{closed_port}/", interval: 5s, timeout: 3s}}
""",
            encoding="utf-8",
        )
        config = base / "roomwatch.yaml"
        config.write_text(
            """
inventory: inventory.yaml
rules: [rules/]
state_dir: state
api: {enabled: false}
alerting:
  language: en
  notifiers:
    - {type: file, name: sheets, path: sent.jsonl}
  reports:
    timezone: UTC
    inspection: {at: "00:00", notifiers: [sheets], format: html}
""",
            encoding="utf-8",
        )
        yield Room(base, config)
    finally:
        stop_process(web)
        stop_process(modbus)


def read_tables(doc: str) -> dict[str, list[list[str]]]:
    reader = TableReader()
    reader.feed(doc)
    return reader.tables


def cells_by_device(tables: dict[str, list[list[str]]]) -> dict[str, dict[str, str]]:
    out = {}
    for key, rows in tables.items():
        if not key.startswith("room-"):
            continue
        header = rows[0]
        for row in rows[1:]:
            out[row[0]] = dict(zip(header, row, strict=True))
    return out


def check_graded_room(by_device: dict[str, dict[str, str]]) -> None:
    sensor = by_device["room-th"]
    assert sensor["Reachable"] == "yes"
    assert sensor["Temperature (°C)"] == "30.5"  # the recorded sensor: level 2 above 30
    assert sensor["Humidity (%RH)"] == "54.6"
    assert sensor["Status"] == "fault"
    ups = by_device["ups-a"]
    assert "OL" in ups["UPS status"].split() and "OB" not in ups["UPS status"].split()
    assert ups["Battery (%)"] not in ("-", "")
    assert ups["Status"] == "normal"
    host = by_device["this-host"]
    assert host["Reachable"] == "yes" and host["Disk used (%)"] != "-"
    assert by_device["portal"]["Reachable"] == "yes"
    assert by_device["portal"]["Status"] == "normal"
    assert by_device["gone-site"]["Reachable"] == "no"
    assert by_device["gone-site"]["Status"] == "fault"


@pytest.fixture(scope="module")
def daemon_sheet(room: Room) -> Iterator[Path]:
    """Run the daemon until it has written the day's sheet and the outbox has sent it."""
    state = room.dir / "state"
    with open(room.dir / "daemon.log", "wb") as daemon_log:
        proc = subprocess.Popen(
            [ROOMWATCH, "run", "-c", str(room.config)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=daemon_log,
        )
    try:
        sent = state / "sent.jsonl"
        wait_until(
            lambda: sent.exists() and '"report"' in sent.read_text(), 60.0, "the mailed sheet"
        )
        sheets = sorted((state / "reports").glob("inspection-*.html"))
        assert sheets  # one per day (two if the test ran across midnight)
        yield sheets[-1]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_daemon_writes_the_inspection_sheet_from_its_polls(daemon_sheet: Path) -> None:
    doc = daemon_sheet.read_text(encoding="utf-8")
    assert "Daily inspection sheet" in doc
    check_graded_room(cells_by_device(read_tables(doc)))
    assert '<td class="fault num">30.5</td>' in doc


def test_daemon_mails_the_sheet_through_the_outbox(room: Room, daemon_sheet: Path) -> None:
    lines = (room.dir / "state" / "sent.jsonl").read_text(encoding="utf-8").splitlines()
    reports = [json.loads(line) for line in lines if '"report"' in line]
    assert len(reports) == 1
    assert reports[0]["subject"].startswith("[roomwatch] Daily inspection sheet 20")
    assert "| room-th | Room sensor | yes | 30.5 | 54.6 |" in reports[0]["text"]


def test_report_command_polls_the_room_once_and_grades_it(room: Room) -> None:
    out = room.dir / "sheet.csv"
    done = subprocess.run(
        [
            ROOMWATCH,
            "report",
            "inspection",
            "-c",
            str(room.config),
            "--format",
            "csv",
            "-o",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "gone-site (http)" in done.stderr  # the failed poll is said, and graded on the sheet
    tables: dict[str, list[list[str]]] = {}
    for row in csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))):
        tables.setdefault(row[0], []).append(row[1:])
    rooms = {k: v for k, v in tables.items() if k.startswith("room-")}
    assert set(rooms) == {"room-dc1-A", "room-dc1--"}
    check_graded_room(cells_by_device(rooms))


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def screenshot(html: Path, png: Path) -> None:
    profile = png.parent / f"{png.stem}-profile"
    subprocess.run(
        chromium_command(
            profile,
            f"--screenshot={png}",
            "--window-size=1240,1754",
            html.as_uri(),
        ),
        capture_output=True,
        timeout=90,
        check=True,
    )
    keep = os.environ.get("ROOMWATCH_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
        shutil.copy(html, Path(keep) / html.name)


def test_inspection_sheet_renders_in_chromium(daemon_sheet: Path, tmp_path: Path) -> None:
    png = tmp_path / "inspection.png"
    screenshot(daemon_sheet, png)
    assert png_size(png) == (1240, 1754)
    assert png.stat().st_size > 20_000  # a page with content, not a blank one


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_monthly_report_renders_in_chromium(tmp_path: Path, lang: str) -> None:
    month = asyncio.run(build_month())
    html = tmp_path / f"monthly-{lang}.html"
    html.write_text(output.monthly(month.report, "html", lang, REPORT_TIME), encoding="utf-8")
    png = tmp_path / f"monthly-{lang}.png"
    screenshot(html, png)
    assert png_size(png) == (1240, 1754)
    assert png.stat().st_size > 50_000
