"""DingTalk's Stream mode (Stream 模式): callbacks over a WebSocket that roomwatch opens, so the
daemon needs no public URL. The protocol, as DingTalk documents it:

1. `POST {api}/v1.0/gateway/connections/open` with `{clientId, clientSecret, subscriptions:
   [{type: "CALLBACK", topic: "/v1.0/card/instances/callback"}], ua}` answers `{endpoint,
   ticket}`; the connection is `{endpoint}?ticket=…` (a ticket is good for one connection).
2. Frames are JSON `{specVersion, type, headers: {topic, messageId, time, contentType, …},
   data}` with `data` a JSON string. Every frame is acknowledged with `{code: 200, headers:
   {contentType, messageId}, message: "OK", data}` (for a card callback, `data` is the answer:
   the card's new parameters).
3. `SYSTEM` frames: `ping` (answered with its own data), `disconnect` (the gateway is about to
   close: connect again).

The connection is proved by the app's credentials, so a frame needs no signature; its
`messageId` and `time` feed the replay guard like any callback's nonce and timestamp."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger("roomwatch.alerting.chat")

CARD_TOPIC = "/v1.0/card/instances/callback"
USER_AGENT = "roomwatch-dingtalk-stream/1"
RECONNECT_INITIAL = 1.0
RECONNECT_MAX = 60.0

#: a callback frame's headers and data → (status code, answer document)
FrameHandler = Callable[[dict[str, Any], dict[str, Any]], Awaitable[tuple[int, dict[str, Any]]]]


class StreamError(Exception):
    pass


async def open_connection(
    session: aiohttp.ClientSession, api: str, client_id: str, client_secret: str
) -> str:
    """The WebSocket address (with its ticket) for one connection."""
    document = {
        "clientId": client_id,
        "clientSecret": client_secret,
        "subscriptions": [{"type": "CALLBACK", "topic": CARD_TOPIC}],
        "ua": USER_AGENT,
    }
    async with session.post(f"{api.rstrip('/')}/v1.0/gateway/connections/open", json=document) as r:
        answer = await r.json(content_type=None)
        if r.status != 200 or not isinstance(answer, dict) or "endpoint" not in answer:
            code = answer.get("code") if isinstance(answer, dict) else None
            raise StreamError(f"the Stream gateway refused the connection: HTTP {r.status} {code}")
    return f"{answer['endpoint']}?ticket={quote(str(answer['ticket']), safe='')}"


def _ack(headers: dict[str, Any], code: int, data: dict[str, Any]) -> str:
    return json.dumps(
        {
            "code": code,
            "headers": {"contentType": "application/json", "messageId": headers.get("messageId")},
            "message": "OK" if code == 200 else "refused",
            "data": json.dumps(data, ensure_ascii=False),
        },
        ensure_ascii=False,
    )


async def serve(ws: aiohttp.ClientWebSocketResponse, handler: FrameHandler) -> None:
    """Answer frames until the gateway says disconnect or closes the socket."""
    async for message in ws:
        if message.type != aiohttp.WSMsgType.TEXT:
            if message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                return
            continue
        try:
            frame = json.loads(message.data)
            headers = dict(frame.get("headers") or {})
            kind, topic = frame.get("type"), headers.get("topic")
        except (ValueError, AttributeError, TypeError):
            log.warning("DingTalk Stream: a frame that is not JSON was ignored")
            continue
        if kind == "SYSTEM":
            if topic == "disconnect":
                return
            data = frame.get("data") or "{}"
            await ws.send_str(_ack(headers, 200, json.loads(data) if isinstance(data, str) else {}))
            continue
        if kind != "CALLBACK" or topic != CARD_TOPIC:
            await ws.send_str(_ack(headers, 404, {}))
            continue
        try:
            data = json.loads(frame.get("data") or "{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            await ws.send_str(_ack(headers, 400, {}))
            continue
        code, answer = await handler(headers, data)
        await ws.send_str(_ack(headers, code, answer))


async def run(
    api: str, client_id: str, client_secret: str, handler: FrameHandler, name: str
) -> None:
    """Stay connected until cancelled: connect, serve, and connect again after a break
    (backing off up to a minute while the gateway cannot be reached)."""
    delay = RECONNECT_INITIAL
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=15)) as s:
        while True:
            try:
                address = await open_connection(s, api, client_id, client_secret)
                async with s.ws_connect(address, heartbeat=30) as ws:
                    log.info("%s: DingTalk Stream connected", name)
                    delay = RECONNECT_INITIAL
                    await serve(ws, handler)
                log.info("%s: DingTalk Stream closed by the gateway; connecting again", name)
            except (aiohttp.ClientError, StreamError, TimeoutError) as exc:
                log.warning("%s: DingTalk Stream: %s; again in %.0fs", name, exc, delay)
                await asyncio.sleep(delay)  # network time, not the alert clock
                delay = min(delay * 2, RECONNECT_MAX)
