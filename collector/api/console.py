"""The console's incident pages, phone first: plain HTML forms, no framework, no CDN.

    GET  /console                           open incidents by level, with their SLA clocks
    GET  /console/incidents/{id}            one incident: facts, clocks, actions, timeline
    POST /console/incidents/{id}/ACTION     ack | arrive | note | assign | resolve
    GET  /console/history?room=&device=&level=&month=YYYY-MM&state=&q=TEXT

An action is a form POST (with the session's CSRF token, checked by the access guard) and
answers with a redirect back to the incident (post/redirect/get: a reload does not repeat it).
Every action goes through the alert service under the signed-in user's name, so the audit
log, SLA clocks and messages see the same thing as from the CLI. The history reads the ticket
store through the view (every state, newest first); its filters apply to the newest
`HISTORY_SCAN` incidents, which a month of a busy room does not exceed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from alerting.incidents import IncidentError
from alerting.store import ACTIVE_STATES, STATES, Incident
from alerting.store import NotFound as IncidentNotFound
from collector.api.console_page import Item, item_of, render, who_is
from collector.api.timeline import build_timeline
from collector.api.view import DaemonView
from core import i18n

NAME_LIMIT = 100
NOTE_LIMIT = 2000
HISTORY_SCAN = 5000  # newest incidents the history filters look through
HISTORY_SHOWN = 200
ACTIONS = ("ack", "arrive", "note", "assign", "resolve")


def _number(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound(text="incident ids are numbers") from None


def month_of(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m")


def matches(item: Item, incident: Incident, query: str) -> bool:
    """Whether an incident's words contain every word of `query` (any case)."""
    if not query:
        return True
    haystack = " ".join(
        str(x or "")
        for x in (
            f"#{item.id}",
            item.ticket,
            item.reporter,
            item.description,
            item.summary,
            item.device,
            item.device_name,
            item.where,
            incident.rule,
            incident.metric,
            item.acknowledged_by,
            item.assignee,
            item.resolved_by,
            " ".join(str(v) for v in incident.summary.values()),
        )
    ).casefold()
    return all(word in haystack for word in query.casefold().split())


def routes(view: DaemonView) -> list[web.RouteDef]:
    def language() -> str:
        return view.incidents().language()

    async def open_list(request: web.Request) -> web.Response:
        now = view.now()
        inventory = view.inventory()
        active = [i for i in await view.incidents().active() if i.state in ACTIVE_STATES]
        active.sort(key=lambda i: (i.suppressed is not None, i.level, i.active_since))
        groups: dict[int, list[Item]] = {}
        for incident in active:
            groups.setdefault(incident.level, []).append(item_of(incident, view, inventory, now))
        counts = [
            (level, sum(1 for i in items if not i.suppressed))
            for level, items in sorted(groups.items())
        ]
        return render(
            request,
            view,
            "console_open.html",
            "open",
            groups=sorted(groups.items()),
            counts=[c for c in counts if c[1]],
            problem=request.query.get("problem"),
        )

    async def incident_page(request: web.Request) -> web.Response:
        number = _number(request)
        incidents = view.incidents()
        try:
            incident = await incidents.get(number)
        except IncidentNotFound:
            raise web.HTTPNotFound(text=f"no incident {number}") from None
        story = await incidents.timeline(number)
        done = request.query.get("done")
        flash = None
        if done in ACTIONS:
            flash = i18n.t("console.done", language(), what=i18n.t(f"console.{done}", language()))
        return render(
            request,
            view,
            "console_incident.html",
            "open" if incident.active else "history",
            item=item_of(incident, view, view.inventory(), view.now()),
            timeline=build_timeline(story, language()),
            occurrences=story.occurrences,
            flash=flash,
            problem=request.query.get("problem"),
            note_limit=NOTE_LIMIT,
            name_limit=NAME_LIMIT,
        )

    async def act(request: web.Request) -> web.StreamResponse:
        number = _number(request)
        action = request.match_info["action"]
        who = who_is(request)
        form = await request.post()

        def text(name: str, limit: int) -> str:
            value = form.get(name, "")
            value = value.strip() if isinstance(value, str) else ""
            if len(value) > limit:
                raise web.HTTPBadRequest(text=f"'{name}' is longer than {limit} characters")
            return value

        incidents = view.incidents()
        steps: dict[str, Callable[[], Awaitable[Any]]] = {
            "ack": lambda: incidents.ack(number, who.name, text("note", NOTE_LIMIT) or None),
            "arrive": lambda: incidents.arrive(number, who.name),
            "note": lambda: incidents.note(number, who.name, text("text", NOTE_LIMIT)),
            "assign": lambda: incidents.assign(number, text("to", NAME_LIMIT), who.name),
            "resolve": lambda: incidents.resolve(
                number, who.name, text("note", NOTE_LIMIT) or None
            ),
        }
        if action not in steps:
            raise web.HTTPNotFound(text=f"no action {action!r}")
        if action == "note" and not text("text", NOTE_LIMIT):
            raise web.HTTPSeeOther(f"/console/incidents/{number}")
        if action == "assign" and not text("to", NAME_LIMIT):
            raise web.HTTPSeeOther(f"/console/incidents/{number}")
        try:
            await steps[action]()
        except IncidentNotFound:
            raise web.HTTPNotFound(text=f"no incident {number}") from None
        except IncidentError as exc:
            # shown on the incident's page: someone else was quicker, say, or it resolved
            raise web.HTTPSeeOther(
                f"/console/incidents/{number}?problem={quote(str(exc))}"
            ) from None
        raise web.HTTPSeeOther(f"/console/incidents/{number}?done={action}")

    async def history(request: web.Request) -> web.Response:
        now = view.now()
        inventory = view.inventory()
        q = request.query
        filters = {k: q.get(k, "").strip() for k in ("q", "room", "device", "level", "month")}
        filters["state"] = q.get("state", "").strip()
        found = await view.incidents().history(HISTORY_SCAN, filters["device"] or None)
        items: list[Item] = []
        for incident in found:
            if filters["level"] and str(incident.level) != filters["level"]:
                continue
            if filters["state"] and incident.state != filters["state"]:
                continue
            if filters["month"] and month_of(incident.opened_at) != filters["month"]:
                continue
            device = inventory.devices.get(incident.device)
            if filters["room"] and (device is None or device.room != filters["room"]):
                continue
            item = item_of(incident, view, inventory, now)
            if matches(item, incident, filters["q"]):
                items.append(item)
        rooms = sorted({d.room for d in inventory.devices.values() if d.room})
        devices = sorted(((d.id, d.name) for d in inventory.devices.values()), key=lambda d: d[1])
        return render(
            request,
            view,
            "console_history.html",
            "history",
            items=items[:HISTORY_SHOWN],
            more=max(0, len(items) - HISTORY_SHOWN),
            filters=filters,
            rooms=rooms,
            devices=devices,
            states=STATES,
        )

    return [
        web.get("/console", open_list),
        web.get("/console/incidents/{id}", incident_page),
        web.post("/console/incidents/{id}/{action}", act),
        web.get("/console/history", history),
    ]
