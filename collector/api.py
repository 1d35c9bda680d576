"""The HTTP API and the wall-screen page, served by the daemon (aiohttp).

    GET  /                              the status page (collector/status_page.py)
    GET  /api/health                    {"status": "ok", …}
    GET  /api/devices[?device=ID]       devices, their worst open level and latest readings
    GET  /api/incidents[?state=…]       active incidents (default) with their SLA clocks
    POST /api/incidents/{id}/ack        {"by": NAME, "note": TEXT?} → the incident
    GET  /ack/{id}?exp=…&sig=…&by=NAME  acknowledge from a signed link in a message
    GET  /api/maintenance               the maintenance windows
    POST /api/maintenance               {"select": {…}, "end": TIME | "duration": "2h", …}
    POST /api/maintenance/{id}/end      cut a window short now
    GET  /metrics                       the daemon's own figures, Prometheus text format

Bound to `api.listen` (127.0.0.1:8765 by default). With a token (the `token` key of the
credentials entry named by `api.credentials`), every request must carry
`Authorization: Bearer TOKEN` (the page also takes `?token=TOKEN`, for a wall-screen browser
that cannot send headers); signed acknowledge links carry their own proof. Listening anywhere
but on loopback without a token is refused at start, as a configuration error.

Acknowledging goes through the AlertService (audit log, SLA); maintenance windows are written
to the maintenance file, which the daemon reads back within a second."""

from __future__ import annotations

import hmac
import html
import ipaddress
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from alerting.incidents import IncidentError
from alerting.sla import clocks
from alerting.store import ACTIVE_STATES, STATES, Incident
from alerting.store import NotFound as IncidentNotFound
from collector import status_page
from core.durations import parse_duration
from core.hostport import split_host_port
from core.sample import Sample
from inventory import ConfigError
from inventory.credentials import Credentials
from rules import maintenance
from rules.maintenance import MaintenanceWindow

if TYPE_CHECKING:
    from collector.config import ApiSettings, Config
    from collector.daemon import Daemon

log = logging.getLogger("roomwatch.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PAGE_PATHS = ("/", "/board")
NAME_LIMIT = 100  # characters of a "by" name
NOTE_LIMIT = 2000
WINDOW_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


# ------------------------------------------------------------------ listen address and token


def parse_listen(listen: str) -> tuple[str, int]:
    """("127.0.0.1", 8765) from "127.0.0.1:8765" ("[::1]:8765" for IPv6). Raises ValueError."""
    try:
        return split_host_port(listen, None, default_host="127.0.0.1", allow_port_zero=True)
    except ValueError as exc:
        raise ValueError(f"api.listen: expected HOST:PORT, found {listen!r} ({exc})") from None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name that could resolve anywhere


def api_token(settings: ApiSettings, credentials: Credentials, config_file: str) -> str | None:
    """The API token, or None when none is configured. Raises ConfigError when the entry is
    missing, has no `token`, or when the API listens off loopback with no token."""
    try:
        host, _ = parse_listen(settings.listen)
    except ValueError as exc:
        raise ConfigError.single(config_file, str(exc)) from None
    token: str | None = None
    if settings.credentials:
        try:
            token = credentials.entry(settings.credentials).get("token") or None
        except KeyError as exc:
            raise ConfigError.single(config_file, f"api.credentials: {exc.args[0]}") from None
        if token is None:
            raise ConfigError.single(
                config_file,
                f"api.credentials: entry {settings.credentials!r} has no 'token'",
            )
    if token is None and not is_loopback(host):
        raise ConfigError.single(
            config_file,
            f"api.listen is {settings.listen!r}, not loopback, and no token is configured:"
            " set api.credentials to an entry holding `token`, or listen on 127.0.0.1",
        )
    return token


def token_matches(request: web.Request, token: str) -> bool:
    offered = ""
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer":  # the scheme is case-insensitive (RFC 9110 §11.1)
        offered = credentials.strip()
    elif request.method == "GET" and request.path in PAGE_PATHS:
        offered = request.query.get("token", "")
    return bool(offered) and hmac.compare_digest(offered.encode(), token.encode())


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def host_is_loopback(host_header: str) -> bool:
    """Whether a Host header names this machine's loopback ("localhost", "127.0.0.1:8765",
    "[::1]:8765")."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return is_loopback(host.rstrip("."))


def browser_refusal(method: str, headers: Mapping[str, str], token_required: bool) -> str | None:
    """Why a request must be refused as a browser attack on the API, or None.

    - A state-changing request sent by a page of another site (its `Origin` is not this
      server, or `Sec-Fetch-Site: cross-site`): without it, any web page open in a browser on
      the box could acknowledge incidents or silence devices with a form or `fetch`
      (cross-site request forgery; the body's content type is not checked, so `curl -d` works).
    - Without a token (loopback only), a `Host` that is not loopback: a web page whose DNS name
      is re-pointed at 127.0.0.1 (DNS rebinding) would otherwise read and change everything.
    Clients that are not browsers (curl, Prometheus, scripts) send neither header and pass."""
    host = headers.get("Host")
    if not token_required and host is not None and not host_is_loopback(host):
        return (
            f"Host {host!r} is not loopback: without a token the API answers only"
            " http://127.0.0.1 or http://localhost (configure api.credentials to serve other names)"
        )
    if method.upper() in SAFE_METHODS:
        return None
    origin = headers.get("Origin")
    if origin is not None:
        if origin == "null" or host is None or urlsplit(origin).netloc.lower() != host.lower():
            return f"cross-site request from {origin!r} refused"
    elif headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return "cross-site request refused"
    return None


# ------------------------------------------------------------------------- Prometheus text


@dataclass
class Family:
    name: str
    kind: str  # counter | gauge | summary
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, suffix: str = "", **labels: str) -> Family:
        self.samples.append((suffix, labels, value))
        return self


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def prometheus_text(families: Iterable[Family]) -> str:
    """The text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for family in families:
        if not family.samples:
            continue
        lines.append(f"# HELP {family.name} {family.help.replace(chr(10), ' ')}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for suffix, labels, value in family.samples:
            label_text = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(labels.items()))
            label_text = f"{{{label_text}}}" if label_text else ""
            lines.append(f"{family.name}{suffix}{label_text} {_number(value)}")
    return "\n".join(lines) + "\n"


# The AlertService's figures that count events (the others are gauges).
ALERT_COUNTERS = {
    "alert_outbox_sent_total",
    "alert_messages_sent",
    "alert_notifications_sent",
    "alert_notifications_failed",
    "alert_notifications_retried",
    "faults_handled",
}


def daemon_families(
    own: dict[str, Any],
    sinks: Sequence[tuple[str, dict[str, float]]],
    alerts: dict[str, float],
    active: Sequence[Incident],
    devices: int,
    not_answering: int,
) -> list[Family]:
    """The /metrics families from the daemon's figures. Pure."""

    def one(name: str, kind: str, help_: str, key: str) -> Family:
        return Family(name, kind, help_).add(float(own.get(key, 0)))

    families = [
        one("roomwatch_polls_total", "counter", "Polls completed.", "polls"),
        one(
            "roomwatch_poll_failures_total", "counter", "Polls without an answer.", "poll_failures"
        ),
        one("roomwatch_polls_in_flight", "gauge", "Polls running now.", "polls_in_flight"),
        one(
            "roomwatch_poll_skipped_total",
            "counter",
            "Poll slots skipped because the previous poll overran.",
            "poll_skipped",
        ),
        one("roomwatch_reloads_total", "counter", "Reloads requested.", "reloads"),
        one(
            "roomwatch_reload_failures_total",
            "counter",
            "Reloads rejected (bad file).",
            "reload_failures",
        ),
        one(
            "roomwatch_fault_queue_depth",
            "gauge",
            "Fault batches waiting for the alert service.",
            "fault_queue_depth",
        ),
        Family(
            "roomwatch_rule_evaluation_seconds",
            "summary",
            "Time spent evaluating rules on new samples.",
        )
        .add(float(own.get("rule_evaluation_seconds", 0.0)), "_sum")
        .add(float(own.get("rule_evaluations", 0)), "_count"),
        Family("roomwatch_devices", "gauge", "Devices in the inventory.").add(devices),
        Family("roomwatch_devices_not_answering", "gauge", "Devices whose last poll failed.").add(
            not_answering
        ),
    ]
    traps = own.get("traps") or {}
    if traps:
        traps_family = Family(
            "roomwatch_traps_total",
            "counter",
            "SNMP notifications by outcome (received, unknown type, refused credentials, "
            "and what the SNMP engine dropped).",
        )
        for outcome, count in sorted(traps.items()):
            traps_family.add(float(count), outcome=outcome)
        families.append(traps_family)
    by_key: dict[str, Family] = {}
    for sink_name, stats in sinks:
        for key, value in sorted(stats.items()):
            kind = "counter" if key.endswith("_total") else "gauge"
            family = by_key.get(key)
            if family is None:
                family = by_key[key] = Family(
                    f"roomwatch_sink_{key}",
                    kind,
                    f"Sink figure {key} (spool_depth: samples not yet stored).",
                )
            family.add(value, sink=sink_name)
    families.extend(by_key.values())
    for key, value in sorted(alerts.items()):
        if key in ALERT_COUNTERS:
            name = key if key.endswith("_total") else f"{key}_total"
            families.append(Family(f"roomwatch_{name}", "counter", f"Alerting: {key}.").add(value))
        else:
            families.append(Family(f"roomwatch_{key}", "gauge", f"Alerting: {key}.").add(value))
    incidents = Family(
        "roomwatch_incidents_active", "gauge", "Active incidents by level and state."
    )
    counts: dict[tuple[str, str], int] = {}
    for incident in active:
        level_state = (str(incident.level), incident.state)
        counts[level_state] = counts.get(level_state, 0) + 1
    for level in ("1", "2", "3"):
        for state in ACTIVE_STATES:
            incidents.add(counts.get((level, state), 0), level=level, state=state)
    families.append(incidents)
    return families


# --------------------------------------------------------------------------- JSON views


def _json_default(value: Any) -> Any:
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def json_response(data: Any, status: int = 200) -> web.Response:
    text = json.dumps(data, ensure_ascii=False, default=_json_default, allow_nan=False)
    return web.Response(text=text, status=status, content_type="application/json")


def error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status)


def window_json(window: MaintenanceWindow, now: float) -> dict[str, Any]:
    return {
        "id": window.id,
        "select": maintenance.selector_to_yaml(window.selector),
        "start": window.start,
        "end": window.end,
        "every": window.every,
        "reason": window.reason,
        "ended": window.ended,
        "created_by": window.created_by,
        "active": window.active(now),
        "current_end": window.current_end(now),
        "finished": window.finished(now),
    }


def sample_json(sample: Sample) -> dict[str, Any]:
    out = sample.to_json()
    if isinstance(out["value"], float) and not math.isfinite(out["value"]):
        out["value"] = None
    return out


def device_up(readings: Iterable[dict[str, Any]]) -> bool | None:
    """A device is up when every probe got an answer (one `device.up` per probe, labelled
    `probe`); None before its first poll."""
    ups = [r["value"] for r in readings if r["metric"] == "device.up"]
    return all(ups) if ups else None


# --------------------------------------------------------------------------- the server


class ApiServer:
    """The API of one running daemon. `start` binds, `stop` closes; `port` is the bound port
    (useful with port 0)."""

    def __init__(self, daemon: Daemon, config: Config, credentials: Credentials) -> None:
        self.daemon = daemon
        self.settings = config.api
        self.host, self._port = parse_listen(self.settings.listen)
        # Checked here, before the daemon says READY: a bad setting stops the start.
        self._token = api_token(self.settings, credentials, str(config.path))
        self._runner: web.AppRunner | None = None
        self.port = self._port

    def refresh_token(self, config: Config, credentials: Credentials) -> None:
        """After a reload: take a rotated token (the listen address needs a restart)."""
        if config.api.listen != self.settings.listen:
            log.warning(
                "api.listen changed to %s; still listening on %s until a restart",
                config.api.listen,
                self.settings.listen,
            )
        try:
            self._token = api_token(config.api, credentials, str(config.path))
        except ConfigError as exc:
            for item in exc.errors:
                log.error("reload: API token unchanged: %s", item)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth], client_max_size=64 * 1024)
        app.router.add_get("/", self._page)
        app.router.add_get("/board", self._page)
        app.router.add_get("/api/health", self._health)
        app.router.add_get("/api/devices", self._devices)
        app.router.add_get("/api/incidents", self._incidents)
        app.router.add_post("/api/incidents/{id}/ack", self._ack)
        app.router.add_get("/ack/{id}", self._ack_link)
        app.router.add_get("/api/maintenance", self._maintenance)
        app.router.add_post("/api/maintenance", self._maintenance_add)
        app.router.add_post("/api/maintenance/{id}/end", self._maintenance_end)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        log.info(
            "HTTP API listening",
            extra={"listen": f"{self.host}:{self.port}", "token": self._token is not None},
        )

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- plumbing ---------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = browser_refusal(request.method, request.headers, self._token is not None)
        if refusal is not None:
            log.warning("API request refused", extra={"path": request.path, "reason": refusal})
            return error(403, refusal)
        # A signed acknowledge link is its own proof (the HMAC); everything else needs the token.
        if (
            self._token is not None
            and not request.path.startswith("/ack/")
            and not token_matches(request, self._token)
        ):
            response = error(401, "a valid token is required (Authorization: Bearer …)")
            response.headers["WWW-Authenticate"] = 'Bearer realm="roomwatch"'
            return response
        return await handler(request)

    def _now(self) -> float:
        return self.daemon.clock.now()

    def _language(self) -> str:
        alerts = self.daemon.alerts
        return str(getattr(alerts.config, "language", "en")) if alerts is not None else "en"

    def _windows(self) -> list[MaintenanceWindow]:
        assert self.daemon.loaded is not None
        return maintenance.load_windows(self.daemon.loaded.config.maintenance_file)

    async def _active(self) -> list[Incident]:
        if self.daemon.alerts is None:
            return []
        return await self.daemon.alerts.store.active()

    def _incident_json(self, incident: Incident, now: float) -> dict[str, Any]:
        assert self.daemon.alerts is not None
        targets = self.daemon.alerts.config.sla_for(incident.level)
        out = incident.to_json()
        if isinstance(out.get("value"), float) and not math.isfinite(out["value"]):
            out["value"] = None
        out["summary_text"] = status_page.summary_text(incident, self._language())
        out["sla"] = [
            {
                "clock": c.clock,
                "due": c.due,
                "met_at": c.met_at,
                "remaining_seconds": None if c.met_at is not None else c.due - now,
                "breached": c.breached(now),
            }
            for c in clocks(incident, targets)
        ]
        return out

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the body must be a JSON object"}),
                content_type="application/json",
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the body must be a JSON object"}),
                content_type="application/json",
            )
        return body

    # -- handlers ---------------------------------------------------------------------------

    async def _page(self, _request: web.Request) -> web.Response:
        daemon = self.daemon
        assert daemon.loaded is not None and daemon.alerts is not None
        now = self._now()
        try:
            windows = self._windows()
        except ConfigError:
            windows = []  # the daemon logs a bad maintenance file; the board still shows
        board = status_page.build_board(
            daemon.loaded.inventory,
            await self._active(),
            dict(daemon.latest),
            windows,
            daemon.alerts.config.sla_for,
            self._language(),
            now,
        )
        return web.Response(
            text=status_page.render(board),
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    async def _health(self, _request: web.Request) -> web.Response:
        daemon = self.daemon
        return json_response(
            {
                "status": "ok",
                "summary": daemon.status_line(),
                "devices": len(daemon.loaded.inventory.devices) if daemon.loaded else 0,
                "not_answering": sorted({device for device, _ in daemon.failing}),
                "polls": daemon.stats.get("polls", 0),
            }
        )

    async def _devices(self, request: web.Request) -> web.Response:
        daemon = self.daemon
        assert daemon.loaded is not None
        wanted = request.query.get("device")
        inventory = daemon.loaded.inventory
        if wanted is not None and wanted not in inventory.devices:
            return error(404, f"no device {wanted!r}")
        now = self._now()
        levels = status_page.device_levels(await self._active())
        try:
            windows = [w for w in self._windows() if w.active(now)]
        except ConfigError:
            windows = []
        readings: dict[str, list[dict[str, Any]]] = {}
        for sample in list(daemon.latest.values()):
            readings.setdefault(sample.device, []).append(sample_json(sample))
        out = []
        for device in inventory.devices.values():
            if wanted is not None and device.id != wanted:
                continue
            level, suppressed = levels.get(device.id, (None, False))
            out.append(
                {
                    "id": device.id,
                    "name": device.name,
                    "kind": device.kind,
                    "site": device.site,
                    "room": device.room,
                    "criticality": device.criticality,
                    "parent": device.parent,
                    "tags": sorted(device.tags),
                    "up": device_up(readings.get(device.id, [])),
                    "worst_level": level,
                    "suppressed_incidents": suppressed,
                    "in_maintenance": any(w.selects(device) for w in windows),
                    "readings": sorted(
                        readings.get(device.id, []),
                        key=lambda r: (r["metric"], sorted(r["labels"].items())),
                    ),
                }
            )
        return json_response({"devices": out, "now": now})

    async def _incidents(self, request: web.Request) -> web.Response:
        alerts = self.daemon.alerts
        assert alerts is not None
        state = request.query.get("state", "active")
        if state == "active":
            chosen: Sequence[str] = ACTIVE_STATES
        elif state == "all":
            chosen = STATES
        elif state in STATES:
            chosen = (state,)
        else:
            return error(400, f"state must be active, all or one of {', '.join(STATES)}")
        now = self._now()
        items = await alerts.store.list_incidents(states=chosen)
        return json_response(
            {"incidents": [self._incident_json(i, now) for i in items], "now": now}
        )

    def _incident_id(self, request: web.Request) -> int:
        try:
            return int(request.match_info["id"])
        except ValueError:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "incident ids are numbers"}),
                content_type="application/json",
            ) from None

    async def _ack(self, request: web.Request) -> web.Response:
        alerts = self.daemon.alerts
        assert alerts is not None
        incident_id = self._incident_id(request)
        body = await self._body(request)
        by, note = body.get("by"), body.get("note")
        if not isinstance(by, str) or not by.strip() or len(by) > NAME_LIMIT:
            return error(400, f"'by' must name who acknowledges (1–{NAME_LIMIT} characters)")
        if note is not None and (not isinstance(note, str) or len(note) > NOTE_LIMIT):
            return error(400, f"'note' must be text of at most {NOTE_LIMIT} characters")
        try:
            await alerts.store.get(incident_id)
        except IncidentNotFound:
            return error(404, f"no incident {incident_id}")
        try:
            incident = await alerts.ack(incident_id, by.strip(), note or None)
        except IncidentError as exc:
            return error(409, str(exc))
        return json_response({"incident": self._incident_json(incident, self._now())})

    async def _ack_link(self, request: web.Request) -> web.Response:
        alerts = self.daemon.alerts
        assert alerts is not None
        incident_id = self._incident_id(request)
        by = request.query.get("by", "").strip()
        if not by:
            # A phone opened the link: ask for a name, then come back here with by=.
            return web.Response(
                content_type="text/html",
                text=(
                    '<!DOCTYPE html><html><head><meta charset="utf-8">'
                    '<meta name="viewport" content="width=device-width">'
                    f"<title>Acknowledge #{incident_id}</title></head><body>"
                    f"<h1>Acknowledge incident #{incident_id}</h1>"
                    '<form method="get">'
                    f'<input type="hidden" name="exp" value="{_attr(request.query.get("exp", ""))}">'
                    f'<input type="hidden" name="sig" value="{_attr(request.query.get("sig", ""))}">'
                    '<label>Your name / 姓名 <input name="by" required maxlength="100"></label> '
                    '<button type="submit">Acknowledge / 确认</button></form></body></html>'
                ),
            )
        if len(by) > NAME_LIMIT:
            return error(400, "name too long")
        try:
            incident = await alerts.ack_link(
                incident_id, request.query.get("exp", ""), request.query.get("sig", ""), by
            )
        except IncidentError as exc:
            return web.Response(status=409, text=f"{exc}\n")
        except IncidentNotFound:
            return web.Response(status=404, text=f"no incident {incident_id}\n")
        return web.Response(
            text=f"incident #{incident.id} acknowledged by {incident.acknowledged_by}\n"
        )

    async def _maintenance(self, _request: web.Request) -> web.Response:
        now = self._now()
        try:
            windows = self._windows()
        except ConfigError as exc:
            return error(500, f"the maintenance file is invalid: {exc}")
        return json_response({"windows": [window_json(w, now) for w in windows], "now": now})

    async def _maintenance_add(self, request: web.Request) -> web.Response:
        assert self.daemon.loaded is not None
        body = await self._body(request)
        now = self._now()
        unknown = set(body) - {"id", "select", "start", "end", "duration", "every", "reason", "by"}
        if unknown:
            return error(400, f"unknown field(s): {', '.join(sorted(unknown))}")
        try:
            windows = self._windows()
        except ConfigError as exc:
            return error(500, f"the maintenance file is invalid: {exc}")
        try:
            window = new_window(body, windows, now)
        except ValueError as exc:
            return error(400, str(exc))
        matched = self.daemon.loaded.inventory.select(window.selector)
        maintenance.save_windows(self.daemon.loaded.config.maintenance_file, [*windows, window])
        log.info(
            "maintenance window added",
            extra={"window": window.id, "by": window.created_by, "devices": len(matched)},
        )
        out = window_json(window, now)
        out["devices"] = [d.id for d in matched]
        return json_response({"window": out}, 201)

    async def _maintenance_end(self, request: web.Request) -> web.Response:
        assert self.daemon.loaded is not None
        window_id = request.match_info["id"]
        now = self._now()
        try:
            windows = self._windows()
        except ConfigError as exc:
            return error(500, f"the maintenance file is invalid: {exc}")
        found = next((w for w in windows if w.id == window_id), None)
        if found is None:
            return error(404, f"no maintenance window {window_id!r}")
        if found.finished(now):
            return error(409, f"maintenance window {window_id!r} is already over")
        ended = maintenance.end_window(found, now)
        maintenance.save_windows(
            self.daemon.loaded.config.maintenance_file,
            [ended if w.id == window_id else w for w in windows],
        )
        log.info("maintenance window ended", extra={"window": window_id})
        return json_response({"window": window_json(ended, now)})

    async def _metrics(self, _request: web.Request) -> web.Response:
        daemon = self.daemon
        sinks = []
        for sink in daemon.sinks:
            stats = getattr(sink, "stats", None)
            if callable(stats):
                sinks.append((sink.name, stats()))
        alerts = daemon.alerts.stats() if daemon.alerts is not None else {}
        families = daemon_families(
            daemon.own_stats(),
            sinks,
            alerts,
            await self._active(),
            len(daemon.loaded.inventory.devices) if daemon.loaded else 0,
            len({device for device, _ in daemon.failing}),
        )
        return web.Response(
            text=prometheus_text(families),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def new_window(
    body: dict[str, Any], existing: Sequence[MaintenanceWindow], now: float
) -> MaintenanceWindow:
    """A window from a POST /api/maintenance body. Raises ValueError saying what is wrong."""
    by = body.get("by")
    if not isinstance(by, str) or not by.strip() or len(by) > NAME_LIMIT:
        raise ValueError("'by' must name who sets the window")
    if not body.get("select"):
        raise ValueError("'select' is required (kind, site, id, tags, labels)")
    selector = maintenance.selector_from(body["select"])
    start = maintenance.parse_time(body["start"]) if body.get("start") else now
    if body.get("end") is not None:
        end = maintenance.parse_time(body["end"])
    elif body.get("duration") is not None:
        end = start + parse_duration(body["duration"])
    else:
        raise ValueError("give 'end' (a time) or 'duration' (like 2h)")
    if end <= start:
        raise ValueError("end must be after start")
    every = body.get("every")
    if every is not None:
        if not isinstance(every, str) or every not in maintenance.PERIODS:
            raise ValueError(f"every: expected daily or weekly, found {every!r}")
        if end - start >= maintenance.PERIODS[every]:
            raise ValueError(f"a {every} window must be shorter than its period")
    if every is None and end <= now:
        raise ValueError("the window would already be over: its end is in the past")
    window_id = str(body.get("id") or maintenance.next_id(existing))
    if not WINDOW_ID.fullmatch(window_id):
        # The id is a path segment of /api/maintenance/{id}/end: keep it addressable.
        raise ValueError(f"id: letters, digits, '.', '_' and '-' only (found {window_id!r})")
    if any(w.id == window_id for w in existing):
        raise ValueError(f"a window {window_id!r} exists already")
    return MaintenanceWindow(
        id=window_id,
        selector=selector,
        start=start,
        end=end,
        every=every,
        reason=str(body.get("reason") or ""),
        created_by=by.strip(),
    )
