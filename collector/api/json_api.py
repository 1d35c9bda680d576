"""The JSON API of devices and incidents, and the signed acknowledge link.

    GET  /api/health                    {"status": "ok", …}
    GET  /api/devices[?device=ID]       devices, their worst open level and latest readings
    GET  /api/incidents[?state=…]       active incidents (default) with their SLA clocks
    POST /api/incidents                 {"title", "level", "by", "device"?, "reporter"?,
                                         "contact"?, "description"?} → 201, the new ticket
    POST /api/incidents/{id}/ack        {"by": NAME, "note": TEXT?} → the incident
    GET  /ack/{id}?exp=…&sig=…&by=NAME  acknowledge from a signed link in a message

Acknowledging goes through the alert service (audit log, SLA clocks). The maintenance
windows' routes are in `collector.api.maintenance`."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from aiohttp import web

from alerting.incidents import IncidentError
from alerting.sla import clocks
from alerting.store import ACTIVE_STATES, STATES, Incident
from alerting.store import NotFound as IncidentNotFound
from collector.api import page
from collector.api.access import signed_in_name
from collector.api.board import device_levels, summary_text
from collector.api.replies import error, json_body, json_response
from collector.api.view import DaemonView, Incidents
from collector.loading import SELF_DEVICE
from core.sample import Sample
from inventory import ConfigError
from rules import maintenance

NAME_LIMIT = 100  # characters of a "by" name
NOTE_LIMIT = 2000


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


def incident_json(incident: Incident, incidents: Incidents, now: float) -> dict[str, Any]:
    out = incident.to_json()
    if isinstance(out.get("value"), float) and not math.isfinite(out["value"]):
        out["value"] = None
    out["summary_text"] = summary_text(incident, incidents.language())
    out["sla"] = [
        {
            "clock": c.clock,
            "due": c.due,
            "met_at": c.met_at,
            "remaining_seconds": None if c.met_at is not None else c.due - now,
            "breached": c.breached(now),
        }
        for c in clocks(incident, incidents.sla_for(incident.level))
    ]
    return out


def incident_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound(
            text=json.dumps({"error": "incident ids are numbers"}),
            content_type="application/json",
        ) from None


def routes(view: DaemonView) -> list[web.RouteDef]:
    async def health(_request: web.Request) -> web.Response:
        # Every device the admin declared is counted, polled or not (a switch known only by
        # its traps, a parent placeholder); the daemon's own `roomwatch` device is not one.
        declared = [d for d in view.inventory().devices.values() if d.id != SELF_DEVICE or d.probes]
        failing = sorted(view.not_answering())
        polled = [d.id for d in declared if d.probes]
        return json_response(
            {
                "status": "ok",
                "summary": view.status_line(),
                "devices": len(declared),
                "polled": len(polled),
                "answering": len(polled) - len([d for d in failing if d in set(polled)]),
                "not_answering": failing,
                "not_polled": sorted(d.id for d in declared if not d.probes),
                "polls": view.stats().get("polls", 0),
            }
        )

    async def devices(request: web.Request) -> web.Response:
        wanted = request.query.get("device")
        inventory = view.inventory()
        if wanted is not None and wanted not in inventory.devices:
            return error(404, f"no device {wanted!r}")
        now = view.now()
        levels = device_levels(await view.incidents().active())
        try:
            windows = [
                w for w in maintenance.load_windows(view.maintenance_file()) if w.active(now)
            ]
        except ConfigError:
            windows = []  # the daemon logs a bad maintenance file
        readings: dict[str, list[dict[str, Any]]] = {}
        for sample in list(view.latest().values()):
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

    async def listed(request: web.Request) -> web.Response:
        state = request.query.get("state", "active")
        if state == "active":
            chosen: Sequence[str] = ACTIVE_STATES
        elif state == "all":
            chosen = STATES
        elif state in STATES:
            chosen = (state,)
        else:
            return error(400, f"state must be active, all or one of {', '.join(STATES)}")
        now = view.now()
        incidents = view.incidents()
        items = await incidents.listed(chosen)
        return json_response(
            {"incidents": [incident_json(i, incidents, now) for i in items], "now": now}
        )

    async def ack(request: web.Request) -> web.Response:
        incidents = view.incidents()
        number = incident_id(request)
        body = await json_body(request)
        # in a session the signed-in user acknowledges, whatever the body says
        by, note = signed_in_name(request) or body.get("by"), body.get("note")
        if not isinstance(by, str) or not by.strip() or len(by) > NAME_LIMIT:
            return error(400, f"'by' must name who acknowledges (1–{NAME_LIMIT} characters)")
        if note is not None and (not isinstance(note, str) or len(note) > NOTE_LIMIT):
            return error(400, f"'note' must be text of at most {NOTE_LIMIT} characters")
        try:
            await incidents.get(number)
        except IncidentNotFound:
            return error(404, f"no incident {number}")
        try:
            incident = await incidents.ack(number, by.strip(), note or None)
        except IncidentError as exc:
            return error(409, str(exc))
        return json_response({"incident": incident_json(incident, incidents, view.now())})

    async def open_ticket(request: web.Request) -> web.Response:
        """A ticket someone reported, recorded through the API (source `api`)."""
        body = await json_body(request)
        # in a session the signed-in user records it, whatever the body says (as for ack)
        by = signed_in_name(request) or body.get("by")
        title, level = body.get("title"), body.get("level")
        if not isinstance(by, str) or not by.strip() or len(by) > NAME_LIMIT:
            return error(400, f"'by' must name who records it (1–{NAME_LIMIT} characters)")
        if not isinstance(title, str) or not title.strip() or len(title) > NOTE_LIMIT:
            return error(400, f"'title' must say what is wrong (1–{NOTE_LIMIT} characters)")
        if isinstance(level, bool) or level not in (1, 2, 3):
            return error(400, "'level' must be 1, 2 or 3")
        fields: dict[str, Any] = {"title": title, "level": level, "source": "api"}
        for name in ("device", "reporter", "contact", "description"):
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > NOTE_LIMIT):
                return error(400, f"'{name}' must be text of at most {NOTE_LIMIT} characters")
            fields[name] = value.strip() if isinstance(value, str) and value.strip() else None
        device = fields["device"]
        if device is not None:
            known = view.inventory().devices.get(device)
            if known is None:
                return error(400, f"no device {device!r} in the inventory")
            fields["site"] = known.site
        incidents = view.incidents()
        try:
            incident = await incidents.open_ticket(by.strip(), fields)
        except IncidentError as exc:
            return error(400, str(exc))
        return json_response(
            {"incident": incident_json(incident, incidents, view.now())}, status=201
        )

    async def ack_link(request: web.Request) -> web.Response:
        number = incident_id(request)
        by = request.query.get("by", "").strip()
        expires, sig = request.query.get("exp", ""), request.query.get("sig", "")
        if not by:
            # A phone opened the link: ask for a name, then come back here with by=.
            return web.Response(
                content_type="text/html", text=page.ack_form(number, expires, sig, NAME_LIMIT)
            )
        if len(by) > NAME_LIMIT:
            return error(400, "name too long")
        try:
            incident = await view.incidents().ack_link(number, expires, sig, by)
        except IncidentError as exc:
            return web.Response(status=409, text=f"{exc}\n")
        except IncidentNotFound:
            return web.Response(status=404, text=f"no incident {number}\n")
        return web.Response(
            text=f"incident #{incident.id} acknowledged by {incident.acknowledged_by}\n"
        )

    return [
        web.get("/api/health", health),
        web.get("/api/devices", devices),
        web.get("/api/incidents", listed),
        web.post("/api/incidents", open_ticket),
        web.post("/api/incidents/{id}/ack", ack),
        web.get("/ack/{id}", ack_link),
    ]
