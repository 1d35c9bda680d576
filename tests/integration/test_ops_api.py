"""The HTTP API and the wall-screen page over real HTTP against the real daemon.

The daemon watches a website the test switches (`shop`), a site nobody answers on
(`intranet`), and a Modbus TCP gateway (a pymodbus server process) with an XY-MD02
temperature/humidity sensor and a Huawei UPS2000 behind it. A token is configured, so every
request must carry it. The page is loaded in headless Chromium: its DOM must show the incident
and the readings, and a screenshot is taken."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from alerting.acklink import make_link
from tests.fixtures.chromium import chromium_command
from tests.fixtures.modbus_peers import start_tcp
from tests.fixtures.ops_daemon import (
    DaemonFiles,
    Reply,
    http,
    start_daemon,
    stop_daemon,
    write_config,
)
from tests.fixtures.peers import free_port, stop_process, wait_until
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration

TOKEN = "test-api-token-5b1f"  # test only
ACK_SECRET = "test-ack-link-secret"  # test only


@dataclass
class Roomwatch:
    files: DaemonFiles
    website: Website
    base: str

    def get(self, path: str, token: str | None = TOKEN) -> Reply:
        return http("GET", self.base + path, token)

    def post(self, path: str, body: Any = None, token: str | None = TOKEN) -> Reply:
        return http("POST", self.base + path, token, body=body if body is not None else {})

    def incidents(self, device: str) -> list[dict[str, Any]]:
        reply = self.get("/api/incidents")
        assert reply.status == 200, reply.text
        return [i for i in reply.json()["incidents"] if i["device"] == device]

    def device(self, device_id: str) -> dict[str, Any]:
        reply = self.get(f"/api/devices?device={device_id}")
        assert reply.status == 200, reply.text
        (found,) = reply.json()["devices"]
        assert isinstance(found, dict)
        return found


def inventory(site_port: int, dead_port: int, modbus_port: int) -> str:
    return f"""
sites:
  - id: dc1
    name: Data centre 1
    rooms: [hall-a]
devices:
  - id: shop
    name: Web shop
    site: dc1
    kind: website
    criticality: 1
    probes:
      - type: http
        url: http://127.0.0.1:{site_port}/
        interval: 1s
        timeout: 2s
  - id: intranet
    name: Intranet
    site: dc1
    kind: website
    criticality: 2
    probes:
      - type: http
        url: http://127.0.0.1:{dead_port}/
        interval: 1s
        timeout: 2s
  - id: sensor1
    name: Hall A sensor
    site: dc1
    room: hall-a
    kind: sensor
    criticality: 3
    probes:
      - type: modbus-tcp
        address: 127.0.0.1:{modbus_port}
        unit: 1
        profile: xy-md02
        interval: 1s
  - id: ups1
    name: Hall A UPS
    site: dc1
    room: hall-a
    kind: ups
    criticality: 1
    probes:
      - type: modbus-tcp
        address: 127.0.0.1:{modbus_port}
        unit: 3
        profile: huawei-ups2000
        interval: 1s
"""


@pytest.fixture(scope="module")
def roomwatch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roomwatch]:
    directory = tmp_path_factory.mktemp("ops-api")
    modbus_port = free_port()
    modbus = start_tcp("pymodbus-tcp", modbus_port)
    website = Website()
    api_port = free_port()
    files = write_config(
        directory,
        inventory(website.port, free_port(), modbus_port),
        f'{{listen: "127.0.0.1:{api_port}", credentials: api}}',
        credentials={"api": {"token": TOKEN}, "ack": {"secret": ACK_SECRET}},
        extra=(f"  ack_link:\n    base_url: http://127.0.0.1:{api_port}\n    credentials: ack\n"),
        api_port=api_port,
    )
    proc = start_daemon(files)
    running = Roomwatch(files, website, f"http://127.0.0.1:{api_port}")
    try:
        wait_until(lambda: running.get("/api/health").status == 200, 30, "roomwatch API")
        yield running
        assert stop_daemon(proc) == 0
    finally:
        stop_daemon(proc)
        website.close()
        stop_process(modbus)


@pytest.fixture(scope="module")
def shop_incident(roomwatch: Roomwatch) -> dict[str, Any]:
    """Break the shop and wait for its incident."""
    roomwatch.website.healthy = False
    wait_until(lambda: bool(roomwatch.incidents("shop")), 30, "the shop's incident")
    (incident,) = roomwatch.incidents("shop")
    return incident


PATHS = ["/", "/board", "/api/health", "/api/devices", "/api/incidents", "/api/maintenance"]


@pytest.mark.parametrize("path", [*PATHS, "/metrics", "/metrics/devices"])
def test_every_path_refuses_a_request_without_the_right_token(
    roomwatch: Roomwatch, path: str
) -> None:
    missing = roomwatch.get(path, token=None)
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert roomwatch.get(path, token="not-the-token").status == 401
    assert roomwatch.get(path).status == 200


def test_writes_without_the_token_are_refused_and_change_nothing(
    roomwatch: Roomwatch, shop_incident: dict[str, Any]
) -> None:
    refused = roomwatch.post(
        f"/api/incidents/{shop_incident['id']}/ack", {"by": "mallory"}, token=None
    )
    assert refused.status == 401
    assert (
        roomwatch.post(
            "/api/maintenance",
            {"select": {"id": "*"}, "duration": "1h", "by": "mallory"},
            token=None,
        ).status
        == 401
    )
    (incident,) = roomwatch.incidents("shop")
    assert incident["acknowledged_by"] != "mallory"
    windows = roomwatch.get("/api/maintenance").json()["windows"]
    assert all(w["created_by"] != "mallory" for w in windows)


def test_without_a_token_a_web_page_cannot_silence_devices_or_read_the_api(
    tmp_path: Path,
) -> None:
    """The default set-up (loopback, no token) seen from a browser on the box: a page of
    another site posting a maintenance window (a text/plain "simple" request, no preflight)
    and a page reached through DNS rebinding are refused; curl's plain POST still works."""
    port = free_port()
    files = write_config(
        tmp_path,
        "sites:\n  - id: dc1\n    name: DC 1\ndevices:\n"
        "  - {id: web1, name: 网站, site: dc1, kind: website, criticality: 2, probes:"
        f" [{{type: http, url: 'http://127.0.0.1:{free_port()}/', interval: 1h}}]}}\n",
        f'{{listen: "127.0.0.1:{port}"}}',
    )
    proc = start_daemon(files)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base + "/api/health"), timeout=30)
        window = b'{"select": {"site": "dc1"}, "duration": "8h", "by": "mallory"}'
        forged = http(
            "POST",
            base + "/api/maintenance",
            raw=window,
            headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
        )
        assert forged.status == 403, forged.text
        assert "cross-site" in forged.json()["error"]
        rebound = http("GET", base + "/api/devices", headers={"Host": f"evil.example:{port}"})
        assert rebound.status == 403
        assert http("GET", base + "/api/maintenance").json()["windows"] == []

        plain = http(
            "POST",
            base + "/api/maintenance",
            raw=window.replace(b"mallory", b"wang"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},  # curl -d
        )
        assert plain.status == 201, plain.text
        assert [
            w["created_by"] for w in http("GET", base + "/api/maintenance").json()["windows"]
        ] == ["wang"]
    finally:
        assert stop_daemon(proc) == 0


def _answers(url: str) -> bool:
    try:
        return http("GET", url).status == 200
    except OSError:
        return False


def test_the_token_in_the_address_opens_the_page_but_not_the_api(roomwatch: Roomwatch) -> None:
    page = http("GET", f"{roomwatch.base}/?token={TOKEN}")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert http("GET", f"{roomwatch.base}/api/devices?token={TOKEN}").status == 401


def test_devices_carry_their_latest_readings(roomwatch: Roomwatch) -> None:
    def readings(device_id: str) -> dict[str, Any]:
        return {r["metric"]: r["value"] for r in roomwatch.device(device_id)["readings"]}

    wait_until(lambda: "ambient.temperature" in readings("sensor1"), 30, "sensor readings")
    wait_until(lambda: "ups.status" in readings("ups1"), 30, "UPS readings")
    sensor = roomwatch.device("sensor1")
    assert (sensor["site"], sensor["room"], sensor["up"]) == ("dc1", "hall-a", True)
    assert readings("sensor1")["ambient.temperature"] == 30.5
    assert readings("sensor1")["ambient.humidity"] == 54.6
    assert readings("ups1")["ups.status"] == "OL CHRG"
    assert readings("ups1")["battery.charge"] == 97
    assert roomwatch.get("/api/devices?device=nope").status == 404


def test_an_open_incident_is_listed_with_its_sla_clocks(
    roomwatch: Roomwatch, shop_incident: dict[str, Any]
) -> None:
    assert shop_incident["level"] == 1
    assert shop_incident["state"] in ("open", "acknowledged")
    assert shop_incident["summary_text"] == "Web shop is down"
    clocks = {c["clock"]: c for c in shop_incident["sla"]}
    start = shop_incident["active_since"]
    # the default clocks of a level-1 incident: respond 5 min, on site 10 min, repair 4 h
    assert clocks["respond"]["due"] == pytest.approx(start + 300)
    assert clocks["arrive"]["due"] == pytest.approx(start + 600)
    assert clocks["repair"]["due"] == pytest.approx(start + 4 * 3600)
    assert clocks["repair"]["breached"] is False
    assert roomwatch.device("shop")["worst_level"] == 1
    assert roomwatch.get("/api/incidents?state=bogus").status == 400


def test_acknowledge_records_who_and_stops_the_respond_clock(
    roomwatch: Roomwatch, shop_incident: dict[str, Any]
) -> None:
    path = f"/api/incidents/{shop_incident['id']}/ack"
    assert roomwatch.post(path, {"note": "who am I?"}).status == 400
    reply = roomwatch.post(path, {"by": "zhang", "note": "on my way"})
    assert reply.status == 200, reply.text
    incident = reply.json()["incident"]
    assert (incident["state"], incident["acknowledged_by"]) == ("acknowledged", "zhang")
    respond = next(c for c in incident["sla"] if c["clock"] == "respond")
    assert respond["met_at"] == incident["acknowledged_at"]
    assert respond["breached"] is False
    (listed,) = roomwatch.incidents("shop")
    assert listed["state"] == "acknowledged"

    again = roomwatch.post(path, {"by": "li"})
    assert again.status == 409
    assert "acknowledged" in again.json()["error"]
    assert roomwatch.post("/api/incidents/99999/ack", {"by": "zhang"}).status == 404
    assert http("POST", roomwatch.base + path, TOKEN, raw=b"not json").status == 400


def test_a_signed_acknowledge_link_works_and_a_forged_one_does_not(roomwatch: Roomwatch) -> None:
    wait_until(lambda: bool(roomwatch.incidents("intranet")), 30, "the intranet's incident")
    (incident,) = roomwatch.incidents("intranet")
    link = make_link(roomwatch.base, ACK_SECRET, incident["id"], incident["opened_at"], 86400)
    forged = link.replace("sig=", "sig=0")
    # the link carries its own proof: no token
    assert http("GET", forged + "&by=mallory").status == 409
    form = http("GET", link)
    assert form.status == 200 and 'name="by"' in form.text
    done = http("GET", link + "&by=li")
    assert done.status == 200, done.text
    (after,) = roomwatch.incidents("intranet")
    assert (after["state"], after["acknowledged_by"]) == ("acknowledged", "li")
    assert urlsplit(link).path == f"/ack/{incident['id']}"


def test_a_maintenance_window_is_added_listed_and_ended(roomwatch: Roomwatch) -> None:
    bad = roomwatch.post(
        "/api/maintenance", {"select": {"colour": "red"}, "duration": "1h", "by": "wang"}
    )
    assert bad.status == 400 and "colour" in bad.json()["error"]
    added = roomwatch.post(
        "/api/maintenance",
        {"select": {"id": "sensor*"}, "duration": "2h", "reason": "recalibration", "by": "wang"},
    )
    assert added.status == 201, added.text
    window = added.json()["window"]
    assert window["devices"] == ["sensor1"]
    assert window["active"] is True
    listed = {w["id"]: w for w in roomwatch.get("/api/maintenance").json()["windows"]}
    assert listed[window["id"]]["reason"] == "recalibration"
    assert roomwatch.device("sensor1")["in_maintenance"] is True
    assert roomwatch.device("ups1")["in_maintenance"] is False

    ended = roomwatch.post(f"/api/maintenance/{window['id']}/end")
    assert ended.status == 200
    assert ended.json()["window"]["active"] is False
    assert roomwatch.device("sensor1")["in_maintenance"] is False
    assert roomwatch.post(f"/api/maintenance/{window['id']}/end").status == 409
    assert roomwatch.post("/api/maintenance/nope/end").status == 404


METRIC_LINE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})?'
    r" (?P<value>-?[0-9.e+-]+|NaN|[+-]Inf)$"
)


def parse_metrics(text: str) -> dict[str, float]:
    """name{labels} → value; fails on any line Prometheus would not accept."""
    values: dict[str, float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#"):
            continue
        match = METRIC_LINE.match(line)
        assert match, f"not Prometheus text: {line!r}"
        name = match["name"]
        assert any(name == t or name.startswith(t + "_") for t in typed), f"untyped: {name}"
        values[name + (match["labels"] or "")] = float(match["value"])
    return values


def test_metrics_are_prometheus_text_with_polls_queues_and_rule_time(
    roomwatch: Roomwatch, shop_incident: dict[str, Any]
) -> None:
    reply = roomwatch.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    metrics = parse_metrics(reply.text)
    assert metrics["roomwatch_polls_total"] > 0
    assert metrics["roomwatch_poll_failures_total"] > 0  # the intranet never answers
    assert metrics["roomwatch_rule_evaluation_seconds_count"] > 0
    assert metrics["roomwatch_rule_evaluation_seconds_sum"] >= 0
    assert metrics["roomwatch_devices"] == 5  # the four declared and roomwatch itself
    assert "roomwatch_fault_queue_depth" in metrics
    assert "roomwatch_alert_outbox_pending" in metrics
    active = sum(
        v for k, v in metrics.items() if k.startswith('roomwatch_incidents_active{level="1"')
    )
    assert active >= 1  # the shop


def test_the_status_page_in_chromium_shows_the_incident_and_the_readings(
    roomwatch: Roomwatch, shop_incident: dict[str, Any], tmp_path: Path
) -> None:
    wait_until(
        lambda: "OL CHRG" in roomwatch.get("/").text and "30.5" in roomwatch.get("/").text,
        30,
        "readings on the page",
    )
    url = f"{roomwatch.base}/?token={TOKEN}"
    profile = tmp_path / "profile"
    size = "--window-size=1280,800"
    dom = subprocess.run(
        chromium_command(profile, size, "--dump-dom", url),
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    incident = re.search(
        rf'<li class="incident (l1|suppressed)" data-incident="{shop_incident["id"]}">(.*?)</li>',
        dom,
    )
    assert incident, dom[:2000]
    assert "Web shop is down" in incident.group(2)
    assert re.search(r'class="tile l1" data-device="shop"', dom)
    assert "30.5 °C" in dom and "55 %RH" in dom
    assert "OL CHRG" in dom and "97 %" in dom
    assert 'class="sla' in incident.group(2)
    assert "http://" not in dom.replace(roomwatch.base, "")  # nothing fetched from elsewhere

    shot = tmp_path / "status-page.png"
    subprocess.run(
        chromium_command(profile, size, f"--screenshot={shot}", url),
        capture_output=True,
        timeout=60,
        check=True,
    )
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1280, 800)
    keep = roomwatch.files.directory / "status-page.png"
    shutil.copy(shot, keep)  # left with the module's temporary files, for a human to look at
