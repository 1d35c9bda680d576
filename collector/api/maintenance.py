"""The maintenance windows over HTTP.

    GET  /api/maintenance               the maintenance windows
    POST /api/maintenance               {"select": {…}, "end": TIME | "duration": "2h", …}
    POST /api/maintenance/{id}/end      cut a window short now

Windows are written to the maintenance file, which the daemon reads back within a second."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from collector.api.replies import error, json_body, json_response
from collector.api.view import DaemonView
from core.durations import parse_duration
from inventory import ConfigError
from rules import maintenance
from rules.maintenance import MaintenanceWindow

log = logging.getLogger("roomwatch.api")

NAME_LIMIT = 100  # characters of a "by" name
WINDOW_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
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


def routes(view: DaemonView) -> list[web.RouteDef]:
    async def listed(_request: web.Request) -> web.Response:
        now = view.now()
        try:
            windows = maintenance.load_windows(view.maintenance_file())
        except ConfigError as exc:
            return error(500, f"the maintenance file is invalid: {exc}")
        return json_response({"windows": [window_json(w, now) for w in windows], "now": now})

    async def add(request: web.Request) -> web.Response:
        body = await json_body(request)
        now = view.now()
        unknown = set(body) - BODY_KEYS
        if unknown:
            return error(400, f"unknown field(s): {', '.join(sorted(unknown))}")
        path = view.maintenance_file()
        try:
            windows = maintenance.load_windows(path)
        except ConfigError as exc:
            return error(500, f"the maintenance file is invalid: {exc}")
        try:
            window = new_window(body, windows, now)
        except ValueError as exc:
            return error(400, str(exc))
        matched = view.inventory().select(window.selector)
        maintenance.save_windows(path, [*windows, window])
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
        path = view.maintenance_file()
        try:
            windows = maintenance.load_windows(path)
        except ConfigError as exc:
            return error(500, f"the maintenance file is invalid: {exc}")
        found = next((w for w in windows if w.id == window_id), None)
        if found is None:
            return error(404, f"no maintenance window {window_id!r}")
        if found.finished(now):
            return error(409, f"maintenance window {window_id!r} is already over")
        ended = maintenance.end_window(found, now)
        maintenance.save_windows(path, [ended if w.id == window_id else w for w in windows])
        log.info("maintenance window ended", extra={"window": window_id})
        return json_response({"window": window_json(ended, now)})

    return [
        web.get("/api/maintenance", listed),
        web.post("/api/maintenance", add),
        web.post("/api/maintenance/{id}/end", end),
    ]
