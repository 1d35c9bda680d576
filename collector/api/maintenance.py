"""The maintenance windows over HTTP.

    GET  /api/maintenance               the maintenance windows
    POST /api/maintenance               {"select": {…}, "end": TIME | "duration": "2h", …}
    POST /api/maintenance/{id}/end      cut a window short now

Windows are validated and written by the maintenance service (rules.maintenance_service), the
same as `roomwatch maintenance`, under the file's lock; the daemon reads the file back within
a second."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from collector.api.access import signed_in_name
from collector.api.replies import error, json_body, json_response
from collector.api.view import DaemonView
from core.durations import parse_duration
from inventory import ConfigError
from rules import maintenance
from rules.maintenance import MaintenanceWindow
from rules.maintenance_service import (
    MaintenanceService,
    UnknownWindow,
    WindowError,
    WindowOver,
    WindowRequest,
)

log = logging.getLogger("roomwatch.api")

NAME_LIMIT = 100  # characters of a "by" name
BODY_KEYS = {"id", "select", "start", "end", "duration", "every", "reason", "by"}


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


def window_request(body: dict[str, Any]) -> WindowRequest:
    """What a POST /api/maintenance body asks for. Raises ValueError saying what is wrong
    with its fields; the window itself is checked by the maintenance service."""
    by = body.get("by")
    if not isinstance(by, str) or not by.strip() or len(by) > NAME_LIMIT:
        raise ValueError("'by' must name who sets the window")
    if not body.get("select"):
        raise ValueError("'select' is required (kind, site, id, tags, labels)")
    selector = maintenance.selector_from(body["select"])
    start = maintenance.parse_time(body["start"]) if body.get("start") else None
    end = duration = None
    if body.get("end") is not None:
        end = maintenance.parse_time(body["end"])
    elif body.get("duration") is not None:
        duration = parse_duration(body["duration"])
    else:
        raise ValueError("give 'end' (a time) or 'duration' (like 2h)")
    every = body.get("every")
    if every is not None and not isinstance(every, str):
        raise ValueError(f"every: expected daily or weekly, found {every!r}")
    return WindowRequest(
        selector=selector,
        reason=str(body.get("reason") or ""),
        start=start,
        end=end,
        duration=duration,
        every=every,
        created_by=by.strip(),
        id=str(body["id"]) if body.get("id") else None,
    )


def routes(view: DaemonView) -> list[web.RouteDef]:
    def service() -> MaintenanceService:
        return MaintenanceService(view.maintenance_file())

    async def listed(_request: web.Request) -> web.Response:
        now = view.now()
        try:
            windows = service().windows()
        except ConfigError as exc:
            return error(500, f"the maintenance file is invalid: {exc}")
        return json_response({"windows": [window_json(w, now) for w in windows], "now": now})

    async def add(request: web.Request) -> web.Response:
        body = await json_body(request)
        unknown = set(body) - BODY_KEYS
        if unknown:
            return error(400, f"unknown field(s): {', '.join(sorted(unknown))}")
        signed_in = signed_in_name(request)
        if signed_in is not None:
            body["by"] = signed_in  # a console user sets windows under their own name
        try:
            asked = window_request(body)
        except ValueError as exc:
            return error(400, str(exc))
        now = view.now()
        try:
            # In a thread: the file lock waits while `roomwatch maintenance` holds it.
            window = await asyncio.to_thread(service().add, asked, now)
        except ConfigError as exc:
            return error(500, f"the maintenance file is invalid: {exc}")
        except WindowError as exc:
            return error(400, str(exc))
        matched = view.inventory().select(window.selector)
        log.info(
            "maintenance window added",
            extra={"window": window.id, "by": window.created_by, "devices": len(matched)},
        )
        out = window_json(window, now)
        out["devices"] = [d.id for d in matched]
        return json_response({"window": out}, 201)

    async def end(request: web.Request) -> web.Response:
        window_id = request.match_info["id"]
        now = view.now()
        try:
            ended = await asyncio.to_thread(service().end, window_id, now)
        except ConfigError as exc:
            return error(500, f"the maintenance file is invalid: {exc}")
        except UnknownWindow as exc:
            return error(404, str(exc))
        except WindowOver as exc:
            return error(409, str(exc))
        log.info("maintenance window ended", extra={"window": window_id})
        return json_response({"window": window_json(ended, now)})

    return [
        web.get("/api/maintenance", listed),
        web.post("/api/maintenance", add),
        web.post("/api/maintenance/{id}/end", end),
    ]
