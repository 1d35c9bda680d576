"""Callbacks from chat platforms: a button clicked on an alert card.

    POST /callback/{channel}     the platform's request, as it sent it
    GET  /callback/{channel}     a platform checking the URL (WeCom's echostr)

These routes carry no API token: a platform cannot send one. Each request is authenticated by
the platform's own signature or token scheme instead, checked by the card channel named in the
path, with a timestamp window and a nonce memory against replays (alerting/chat/). Anything that
fails the check is answered 401/403 and logged; the daemon's state is not touched."""

from __future__ import annotations

from aiohttp import web

from alerting.chat.channel import Inbound
from collector.api.auth import CALLBACK_PREFIX
from collector.api.replies import json_response
from collector.api.view import DaemonView

BODY_LIMIT = 64 * 1024


def routes(view: DaemonView) -> list[web.RouteDef]:
    async def callback(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > BODY_LIMIT:
            return json_response({"error": "callback body too large"}, 413)
        body = await request.read()
        inbound = Inbound(request.method, request.query, request.headers, body)
        reply = await view.incidents().chat_callback(request.match_info["channel"], inbound)
        if reply.text is not None:
            return web.Response(text=reply.text, status=reply.status, content_type="text/plain")
        return json_response(reply.document, reply.status)

    return [
        web.post(CALLBACK_PREFIX + "{channel}", callback),
        web.get(CALLBACK_PREFIX + "{channel}", callback),
    ]
