"""Rendering a console page: the API's Jinja2 environment (auto-escaping), the console's words
(core/locale section `console`, and `status` for the SLA clock names), its stylesheet and
its small script inlined, so a page is one request on a slow phone link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from alerting.sla import clocks
from alerting.store import Incident
from collector.api.access import Identity, identity_of
from collector.api.board import SlaClock, summary_text
from collector.api.page import _static, environment
from collector.api.view import DaemonView
from core import i18n
from inventory.model import Inventory


@dataclass(frozen=True)
class Item:
    """An incident as the console shows it."""

    id: int
    level: int
    state: str
    active: bool
    suppressed: str | None
    device: str
    device_name: str
    where: str
    summary: str
    opened_at: float
    acknowledged_by: str | None
    arrived_by: str | None
    assignee: str | None
    resolved_by: str | None
    runbook: str | None
    clocks: tuple[SlaClock, ...]
    ticket: str = ""  # the human number (RW-2026-000123), when the store gives one
    reporter: str | None = None  # who reported a people's ticket
    description: str | None = None
    occurrences: int = 1


# Every console page: not cached (it shows who is signed in), never framed, and allowed
# nothing but its own inline style and script, its forms posting back here only.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline';"
        " img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
}


def item_of(incident: Incident, view: DaemonView, inventory: Inventory, now: float) -> Item:
    incidents = view.incidents()
    device = inventory.devices.get(incident.device)
    where = " / ".join(p for p in (device.site, device.room) if p) if device else ""
    return Item(
        id=incident.id,
        level=incident.level,
        state=incident.state,
        active=incident.active,
        suppressed=incident.suppressed,
        device=incident.device,
        device_name=device.name if device else incident.device,
        where=where,
        summary=summary_text(incident, incidents.language()),
        opened_at=incident.opened_at,
        acknowledged_by=incident.acknowledged_by,
        arrived_by=incident.arrived_by,
        assignee=incident.assignee,
        resolved_by=incident.resolved_by,
        runbook=incident.runbook,
        clocks=tuple(
            SlaClock(c.clock, c.due, c.met_at, c.breached(now))
            for c in clocks(incident, incidents.sla_for(incident.level))
        ),
        ticket=incident.ticket,
        reporter=incident.reporter,
        description=incident.description,
        occurrences=incident.occurrences,
    )


def who_is(request: web.Request) -> Identity:
    who = identity_of(request)
    if who is None:  # the guard lets no request without one reach a console page
        raise web.HTTPSeeOther("/login")
    return who


def render(
    request: web.Request, view: DaemonView, template: str, section: str, **context: Any
) -> web.Response:
    language = view.incidents().language()
    who = who_is(request)
    html = (
        environment()
        .get_template(template)
        .render(
            language=language,
            now=view.now(),
            who=who,
            csrf=who.session.csrf if who.session else "",
            section=section,
            t=lambda key, **kw: i18n.t(f"console.{key}", language, **kw),
            s=lambda key: i18n.t(f"status.{key}", language),
            css=_static("console.css"),
            script=_static("console.js"),
            flash=context.pop("flash", None),
            problem=context.pop("problem", None),
            **context,
        )
    )
    return web.Response(text=html, content_type="text/html", headers=PAGE_HEADERS)
