"""Acknowledging with an SMS's short code, typed in on the console.

    POST /console/ack-code     form: code, csrf   → the incident's page, or back with why not

The person acknowledging is whoever is signed in (the console's session; the guard checks the
CSRF token and that their role may act), not the code: the code only names the incident."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from alerting.incidents import IncidentError
from collector.api.console_page import who_is
from collector.api.view import DaemonView

CODE_LIMIT = 20


def routes(view: DaemonView) -> list[web.RouteDef]:
    async def enter(request: web.Request) -> web.StreamResponse:
        who = who_is(request)
        form = await request.post()
        code = form.get("code", "")
        code = code.strip()[:CODE_LIMIT] if isinstance(code, str) else ""
        try:
            incident = await view.incidents().ack_code(code, who.name)
        except IncidentError as exc:
            raise web.HTTPSeeOther(f"/console?problem={quote(str(exc))}") from None
        raise web.HTTPSeeOther(f"/console/incidents/{incident.id}?done=ack")

    return [web.post("/console/ack-code", enter)]
