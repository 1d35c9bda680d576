"""The reporter's follow page: a signed link from the desk's mail, no login.

    GET  /follow/{ticket}?sig=…          the ticket's state, history and public notes, and the
                                         satisfaction question once it is resolved
    POST /follow/{ticket}/survey          form: sig, score (1–5), comment → the answer recorded

The signature (alerting/follow.py) is the only proof: a wrong or missing one gets the same 404
as an unknown ticket, so the page tells nobody which tickets exist. The POST is also guarded
by the API's Origin check (auth.browser_refusal), so another site cannot post an answer."""

from __future__ import annotations

from aiohttp import web

from collector.api.page import environment
from collector.api.view import DaemonView
from core import i18n

FOLLOW_PREFIX = "/follow/"
COMMENT_LIMIT = 2000


def routes(view: DaemonView) -> list[web.RouteDef]:
    def words(key: str, **params: object) -> str:
        return i18n.t(f"follow.{key}", view.incidents().language(), **params)

    def page(text: str, status: int) -> web.Response:
        return web.Response(
            text=f"<!DOCTYPE html><meta charset=utf-8><p>{text}</p>\n",
            status=status,
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    async def show(request: web.Request) -> web.Response:
        ticket = request.match_info["ticket"]
        sig = request.query.get("sig", "")
        seen = await view.incidents().reporter_view(ticket, sig)
        if seen is None:
            return page(words("bad_link"), 404)
        lang = view.incidents().language()
        html = (
            environment()
            .get_template("follow.html")
            .render(view=seen, sig=sig, lang=lang, t=lambda key, **kw: words(key, **kw))
        )
        return web.Response(
            text=html,
            content_type="text/html",
            # the link is the key: never sent to another site (same-origin, not no-referrer,
            # so the survey form still carries its Origin for the cross-site check)
            headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"},
        )

    async def answer(request: web.Request) -> web.Response:
        ticket = request.match_info["ticket"]
        form = await request.post()
        sig, score, comment = form.get("sig"), form.get("score"), form.get("comment")
        if not isinstance(sig, str) or not isinstance(score, str) or score not in "12345":
            return page(words("survey.question") + " 1–5", 400)
        text = comment if isinstance(comment, str) else None
        if text is not None and len(text) > COMMENT_LIMIT:
            text = text[:COMMENT_LIMIT]
        outcome = await view.incidents().reporter_answer(ticket, sig, int(score), text)
        if outcome is None:
            return page(words("bad_link"), 404)
        if not outcome:
            return page(words("survey.closed"), 409)
        raise web.HTTPSeeOther(f"{FOLLOW_PREFIX}{ticket}?sig={sig}#survey")

    return [
        web.get(FOLLOW_PREFIX + "{ticket}", show),
        web.post(FOLLOW_PREFIX + "{ticket}/survey", answer),
    ]
