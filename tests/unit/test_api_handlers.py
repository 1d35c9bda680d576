"""The API's handlers in-process: the real aiohttp application on a loopback port, reading a
DaemonView built from plain data and a real alert service (SQLite store in a temporary
directory), so what a request changes is checked where it lands. No daemon process."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from alerting.acklink import make_link
from alerting.service import AlertService
from collector.api.server import make_app
from collector.api.view import DaemonView, ServiceIncidents
from core.sample import Sample
from inventory.credentials import Credentials
from rules.maintenance import load_windows
from tests.unit.alerting_helpers import Clock, config, fault, inventory, service

TOKEN = "in-process-token-9c2e"  # test only
ACK_SECRET = "in-process-ack-secret"  # test only


@dataclass
class Daemon:
    """The state a running daemon would hold, as the API reads it."""

    clock: Clock
    alerts: AlertService
    maintenance_file: Path
    latest: dict[Any, Sample] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    stats: dict[str, Any] = field(default_factory=dict)
    sinks: list[tuple[str, dict[str, float]]] = field(default_factory=list)

    def view(self) -> DaemonView:
        inv = self.alerts.inventory
        return DaemonView(
            now=self.clock,
            inventory=lambda: inv,
            latest=lambda: self.latest,
            not_answering=lambda: self.failing,
            status_line=lambda: f"{len(inv.devices)} devices, {len(self.failing)} not answering",
            stats=lambda: self.stats,
            sinks=lambda: self.sinks,
            incidents=lambda: ServiceIncidents(self.alerts),
            maintenance_file=lambda: self.maintenance_file,
        )


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    clock = Clock()
    cfg = config(tmp_path, ack_link={"base_url": "http://127.0.0.1", "credentials": "ack"})
    alerts = await service(
        tmp_path, clock, cfg, credentials=Credentials({"ack": {"secret": ACK_SECRET}})
    )
    try:
        yield Daemon(clock, alerts, tmp_path / "maintenance.yaml")
    finally:
        await alerts.close()


class ClientFactory:
    def __init__(self) -> None:
        self.clients: list[TestClient[Any, Any]] = []

    async def __call__(self, daemon: Daemon, token: str | None = None) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = TestClient(
            TestServer(make_app(daemon.view(), lambda: token), host="127.0.0.1")
        )
        await client.start_server()
        self.clients.append(client)
        return client


@pytest.fixture
async def serve() -> AsyncIterator[ClientFactory]:
    factory = ClientFactory()
    yield factory
    for client in factory.clients:
        await client.close()


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def open_incident(daemon: Daemon, device: str = "srv1", level: int = 2) -> int:
    await daemon.alerts.handle([fault(device, level=level)])
    (incident,) = [i for i in await daemon.alerts.store.active() if i.device == device]
    return incident.id


PATHS = ["/", "/board", "/api/health", "/api/devices", "/api/incidents", "/api/maintenance"]


@pytest.mark.parametrize("path", [*PATHS, "/metrics"])
async def test_with_a_token_every_path_refuses_a_request_without_it(
    daemon: Daemon, serve: ClientFactory, path: str
) -> None:
    client = await serve(daemon, TOKEN)
    missing = await client.get(path)
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.get(path, headers=bearer("not-the-token"))).status == 401
    assert (await client.get(path, headers=bearer())).status == 200


async def test_an_acknowledgement_without_the_token_changes_nothing(
    daemon: Daemon, serve: ClientFactory
) -> None:
    number = await open_incident(daemon)
    client = await serve(daemon, TOKEN)
    refused = await client.post(f"/api/incidents/{number}/ack", json={"by": "mallory"})
    assert refused.status == 401
    window = {"select": {"id": "*"}, "duration": "1h", "by": "mallory"}
    assert (await client.post("/api/maintenance", json=window)).status == 401
    incident = await daemon.alerts.store.get(number)
    assert (incident.state, incident.acknowledged_by) == ("open", None)
    assert not daemon.maintenance_file.exists()


async def test_the_token_in_the_address_opens_the_page_but_not_the_api(
    daemon: Daemon, serve: ClientFactory
) -> None:
    client = await serve(daemon, TOKEN)
    page = await client.get(f"/?token={TOKEN}")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert (await client.get(f"/api/devices?token={TOKEN}")).status == 401


async def test_a_forged_cross_site_request_is_refused_and_changes_nothing(
    daemon: Daemon, serve: ClientFactory
) -> None:
    """A page of another site in a browser on the box posts to the tokenless loopback API
    (a text/plain "simple" request, no preflight): refused, and neither the incident nor the
    maintenance file changes. curl's plain POST still works."""
    number = await open_incident(daemon)
    client = await serve(daemon)
    forged = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    window = b'{"select": {"id": "*"}, "duration": "8h", "by": "mallory"}'
    refused = await client.post("/api/maintenance", data=window, headers=forged)
    assert refused.status == 403
    assert "cross-site" in (await refused.json())["error"]
    ack = b'{"by": "mallory"}'
    cross = {"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"}
    assert (
        await client.post(f"/api/incidents/{number}/ack", data=ack, headers=cross)
    ).status == 403
    assert (await daemon.alerts.store.get(number)).acknowledged_by is None
    assert not daemon.maintenance_file.exists()

    plain = await client.post(
        "/api/maintenance",
        data=window.replace(b"mallory", b"wang"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},  # curl -d
    )
    assert plain.status == 201, await plain.text()
    assert [w.created_by for w in load_windows(daemon.maintenance_file)] == ["wang"]


async def test_a_host_that_is_not_loopback_is_refused_without_a_token(
    daemon: Daemon, serve: ClientFactory
) -> None:
    """DNS rebinding: the attacker's name now points at 127.0.0.1."""
    client = await serve(daemon)
    port = client.port
    rebound = await client.get("/api/devices", headers={"Host": f"rebind.evil.example:{port}"})
    assert rebound.status == 403
    assert "not loopback" in (await rebound.json())["error"]
    assert (await client.get("/api/devices", headers={"Host": f"localhost:{port}"})).status == 200
    # with a token, a name is fine (the token is the proof)
    named = await serve(daemon, TOKEN)
    headers = {"Host": f"monitor.example:{named.port}", **bearer()}
    assert (await named.get("/api/devices", headers=headers)).status == 200


async def test_an_acknowledgement_through_the_api_lands_in_the_store(
    daemon: Daemon, serve: ClientFactory
) -> None:
    number = await open_incident(daemon, level=1)
    client = await serve(daemon, TOKEN)
    path = f"/api/incidents/{number}/ack"
    assert (await client.post(path, json={"note": "who am I?"}, headers=bearer())).status == 400
    daemon.clock.advance(90)
    reply = await client.post(path, json={"by": " zhang ", "note": "on my way"}, headers=bearer())
    assert reply.status == 200, await reply.text()
    body = (await reply.json())["incident"]
    assert (body["state"], body["acknowledged_by"]) == ("acknowledged", "zhang")
    respond = next(c for c in body["sla"] if c["clock"] == "respond")
    assert respond["met_at"] == body["acknowledged_at"]

    stored = await daemon.alerts.store.get(number)
    assert (stored.state, stored.acknowledged_by) == ("acknowledged", "zhang")
    assert stored.acknowledged_at == daemon.clock.now

    again = await client.post(path, json={"by": "li"}, headers=bearer())
    assert again.status == 409 and "acknowledged" in (await again.json())["error"]
    assert (await daemon.alerts.store.get(number)).acknowledged_by == "zhang"
    missing = await client.post("/api/incidents/99999/ack", json={"by": "zhang"}, headers=bearer())
    assert missing.status == 404
    assert (await client.post(path, data=b"not json", headers=bearer())).status == 400
    assert (await client.post("/api/incidents/x/ack", json={}, headers=bearer())).status == 404


async def test_a_signed_link_acknowledges_without_the_token_and_a_forged_one_does_not(
    daemon: Daemon, serve: ClientFactory
) -> None:
    number = await open_incident(daemon)
    client = await serve(daemon, TOKEN)
    incident = await daemon.alerts.store.get(number)
    link = make_link("", ACK_SECRET, number, daemon.clock.now, 86400)
    forged = link.replace("sig=", "sig=0")
    assert (await client.get(forged + "&by=mallory")).status == 409
    form = await client.get(link)
    assert form.status == 200
    text = await form.text()
    assert 'name="by"' in text and f"#{number}" in text
    done = await client.get(link + "&by=li")
    assert done.status == 200, await done.text()
    assert (await daemon.alerts.store.get(number)).acknowledged_by == "li"
    assert incident.acknowledged_by is None


async def test_the_link_form_escapes_what_the_link_carries(
    daemon: Daemon, serve: ClientFactory
) -> None:
    client = await serve(daemon)
    text = await (await client.get('/ack/1?exp="><script>x</script>&sig=1')).text()
    assert "<script>x" not in text
    assert "&#34;&gt;&lt;script&gt;x&lt;/script&gt;" in text


METRIC_LINE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})?'
    r" (?P<value>-?[0-9.e+-]+|NaN|[+-]Inf)$"
)


def parse_metrics(text: str) -> dict[str, float]:
    """name{labels} → value; fails on any line Prometheus would not accept."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = METRIC_LINE.match(line)
        assert match, f"not Prometheus text: {line!r}"
        values[match["name"] + (match["labels"] or "")] = float(match["value"])
    return values


async def test_metrics_are_prometheus_text_of_the_daemon_sinks_and_incidents(
    daemon: Daemon, serve: ClientFactory
) -> None:
    await open_incident(daemon, "srv1", level=1)
    await open_incident(daemon, "srv2", level=2)
    daemon.stats.update(polls=42, poll_failures=3, rule_evaluations=7, traps={"received": 2})
    daemon.sinks.append(("influx", {"written_total": 40.0, "spool_depth": 2.0}))
    daemon.failing.add("srv9")
    client = await serve(daemon)
    reply = await client.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    metrics = parse_metrics(await reply.text())
    assert metrics["roomwatch_polls_total"] == 42
    assert metrics["roomwatch_poll_failures_total"] == 3
    assert metrics["roomwatch_rule_evaluation_seconds_count"] == 7
    assert metrics['roomwatch_traps_total{outcome="received"}'] == 2
    assert metrics['roomwatch_sink_written_total{sink="influx"}'] == 40
    assert metrics['roomwatch_sink_spool_depth{sink="influx"}'] == 2
    assert metrics["roomwatch_devices"] == len(inventory().devices)
    assert metrics["roomwatch_devices_not_answering"] == 1
    assert metrics['roomwatch_incidents_active{level="1",state="open"}'] == 1
    assert metrics['roomwatch_incidents_active{level="2",state="open"}'] == 1
    assert metrics['roomwatch_incidents_active{level="3",state="open"}'] == 0
    assert "roomwatch_alert_outbox_pending" in metrics


async def test_devices_and_the_page_show_the_latest_readings_and_the_open_incident(
    daemon: Daemon, serve: ClientFactory
) -> None:
    number = await open_incident(daemon, "ups1", level=1)
    now = daemon.clock.now
    for sample in (
        Sample("ups1", "device.up", 1, ts=now),
        Sample("ups1", "ups.status", "OB DISCHRG", ts=now),
        Sample("ups1", "battery.charge", 63.0, ts=now),
        Sample("srv1", "device.up", 0, ts=now, note="timeout"),
    ):
        daemon.latest[sample.series_key()] = sample
    client = await serve(daemon)
    (ups,) = (await (await client.get("/api/devices?device=ups1")).json())["devices"]
    assert (ups["up"], ups["worst_level"], ups["in_maintenance"]) == (True, 1, False)
    assert {r["metric"]: r["value"] for r in ups["readings"]}["ups.status"] == "OB DISCHRG"
    assert (await client.get("/api/devices?device=nope")).status == 404
    (listed,) = (await (await client.get("/api/incidents")).json())["incidents"]
    assert (listed["id"], listed["summary_text"]) == (number, "ups1 CPU high")
    assert (await client.get("/api/incidents?state=bogus")).status == 400

    page = await (await client.get("/")).text()
    assert re.search(rf'<li class="incident l1" data-incident="{number}">[^\n]*ups1 CPU high', page)
    assert 'class="tile l1" data-device="ups1"' in page
    assert "OB DISCHRG" in page and "63 %" in page
    health = await (await client.get("/api/health")).json()
    assert (health["status"], health["devices"]) == ("ok", len(inventory().devices))


async def test_a_maintenance_window_added_through_the_api_is_in_the_file_and_can_be_ended(
    daemon: Daemon, serve: ClientFactory
) -> None:
    client = await serve(daemon)
    bad = await client.post(
        "/api/maintenance", json={"select": {"colour": "red"}, "duration": "1h", "by": "wang"}
    )
    assert bad.status == 400 and "colour" in (await bad.json())["error"]
    added = await client.post(
        "/api/maintenance",
        json={"select": {"kind": "ups"}, "duration": "2h", "reason": "battery swap", "by": "wang"},
    )
    assert added.status == 201, await added.text()
    window = (await added.json())["window"]
    assert (window["devices"], window["active"]) == (["ups1"], True)
    (stored,) = load_windows(daemon.maintenance_file)
    assert (stored.id, stored.reason, stored.end) == (
        window["id"],
        "battery swap",
        daemon.clock.now + 7200,
    )
    (ups,) = (await (await client.get("/api/devices?device=ups1")).json())["devices"]
    assert ups["in_maintenance"] is True

    daemon.clock.advance(60)
    ended = await client.post(f"/api/maintenance/{window['id']}/end")
    assert ended.status == 200 and (await ended.json())["window"]["active"] is False
    assert load_windows(daemon.maintenance_file)[0].ended == daemon.clock.now
    assert (await client.post(f"/api/maintenance/{window['id']}/end")).status == 409
    assert (await client.post("/api/maintenance/nope/end")).status == 404


async def test_the_page_shows_one_room_of_the_desk_with_room_in_the_query(
    daemon: Daemon, serve: ClientFactory
) -> None:
    inv = daemon.alerts.inventory
    inv.devices["srv1"] = dataclasses.replace(inv.devices["srv1"], room="hall-a")
    inv.devices["ups1"] = dataclasses.replace(inv.devices["ups1"], room="hall-b")
    await open_incident(daemon, "ups1", level=1)
    client = await serve(daemon)
    hall_a = await (await client.get("/?room=hall-a")).text()
    assert 'data-device="srv1"' in hall_a and 'data-device="ups1"' not in hall_a
    assert "data-incident=" not in hall_a  # the UPS's incident is the other room's
    hall_b = await (await client.get("/?room=dc1/hall-b")).text()
    assert 'data-device="ups1"' in hall_b and 'data-device="srv1"' not in hall_b
    assert "data-incident=" in hall_b
    desk = await (await client.get("/")).text()
    assert 'data-device="srv1"' in desk and 'data-device="ups1"' in desk


async def test_health_counts_every_declared_device_polled_or_not(
    daemon: Daemon, serve: ClientFactory
) -> None:
    from inventory.model import Device
    from probes.http import HttpSettings

    inv = daemon.alerts.inventory
    site = HttpSettings(type="http", url="http://127.0.0.1:9/")
    inv.devices["web1"] = Device(
        id="web1", name="web1", kind="website", criticality=2, probes=(site,)
    )
    inv.devices["trapsw"] = Device(
        id="trapsw", name="trapsw", kind="switch", criticality=2
    )  # traps only
    inv.devices["roomwatch"] = Device(
        id="roomwatch", name="roomwatch", kind="other", criticality=2
    )  # implicit
    daemon.failing.add("web1")
    client = await serve(daemon)
    health = await (await client.get("/api/health")).json()
    declared = len(inv.devices) - 1  # all but the daemon's own device
    assert health["devices"] == declared
    assert (health["polled"], health["answering"]) == (1, 0)
    assert health["not_answering"] == ["web1"]
    assert "trapsw" in health["not_polled"] and "roomwatch" not in health["not_polled"]
