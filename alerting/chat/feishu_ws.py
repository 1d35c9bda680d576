"""Feishu's long connection (长连接接收回调): callbacks over a WebSocket that roomwatch opens, so
the daemon needs no public URL. The protocol, as Feishu's SDKs speak it:

1. `POST {domain}/callback/ws/endpoint` with `{AppID, AppSecret}` answers `{code: 0, data: {URL,
   ClientConfig: {PingInterval, …}}}`; the URL carries `device_id` and `service_id`.
2. Every message is a binary protobuf `pbbp2.Frame` (alerting/chat/pbbp2.py). Control frames
   (method 0) carry `type: ping` / `pong`; the client pings every PingInterval seconds. Data
   frames (method 1) carry `type: event`, `message_id`, `sum`/`seq` (a payload split over
   several frames) and `trace_id`; the payload is the event JSON (schema 2.0).
3. A data frame is answered with the same frame whose payload is `{code: 200, headers, data}`,
   `data` the base64 of the callback's answer: for a card click (`card.action.trigger`)
   `{toast, card: {type: "raw", data: <the card>}}`, which Feishu draws in place."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from alerting.chat.pbbp2 import CONTROL, DATA, Frame, FrameError, decode, encode

log = logging.getLogger("roomwatch.alerting.chat")

CARD_EVENT = "card.action.trigger"
RECONNECT_INITIAL = 1.0
RECONNECT_MAX = 120.0

#: a card click event (schema 2.0 JSON) → the answer document
EventHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class LongConnectionError(Exception):
    pass


async def endpoint(
    session: aiohttp.ClientSession, domain: str, app_id: str, app_secret: str
) -> tuple[str, float]:
    """The WebSocket URL and the ping interval for one connection."""
    url = f"{domain.rstrip('/')}/callback/ws/endpoint"
    async with session.post(url, json={"AppID": app_id, "AppSecret": app_secret}) as r:
        answer = await r.json(content_type=None)
    if r.status != 200 or not isinstance(answer, dict) or answer.get("code") != 0:
        code = answer.get("code") if isinstance(answer, dict) else None
        raise LongConnectionError(f"Feishu refused the long connection: HTTP {r.status}, {code}")
    data = answer.get("data") or {}
    config = data.get("ClientConfig") or {}
    return str(data["URL"]), float(config.get("PingInterval") or 120)


def _answer(frame: Frame, data: dict[str, Any] | None) -> bytes:
    payload: dict[str, Any] = {"code": 200, "headers": {}}
    if data is not None:
        payload["data"] = base64.b64encode(json.dumps(data, ensure_ascii=False).encode()).decode()
    frame.payload = json.dumps(payload).encode()
    return encode(frame)


async def serve(ws: aiohttp.ClientWebSocketResponse, handler: EventHandler) -> None:
    parts: dict[str, list[bytes | None]] = {}
    async for message in ws:
        if message.type != aiohttp.WSMsgType.BINARY:
            if message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                return
            continue
        try:
            frame = decode(message.data)
        except FrameError as exc:
            log.warning(
                "Feishu long connection: a frame that does not decode (%s) was ignored", exc
            )
            continue
        if frame.method == CONTROL or frame.method != DATA:
            continue  # pong (and its new settings), or a ping from the server
        payload = frame.payload
        total, seq = int(frame.header("sum") or 1), int(frame.header("seq") or 0)
        if total > 1:  # a payload split over frames: answer once it is whole
            buffer = parts.setdefault(frame.header("message_id") or "", [None] * total)
            if 0 <= seq < total:
                buffer[seq] = payload
            if any(p is None for p in buffer):
                continue
            payload = b"".join(p or b"" for p in buffer)
            parts.pop(frame.header("message_id") or "", None)
        if frame.header("type") != "event":
            await ws.send_bytes(_answer(frame, None))
            continue
        try:
            event = json.loads(payload)
        except ValueError:
            event = None
        if (
            not isinstance(event, dict)
            or (event.get("header") or {}).get("event_type") != CARD_EVENT
        ):
            await ws.send_bytes(_answer(frame, None))
            continue
        await ws.send_bytes(_answer(frame, await handler(event)))


async def _ping(ws: aiohttp.ClientWebSocketResponse, service: int, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        await ws.send_bytes(
            encode(Frame(service=service, method=CONTROL, headers=[("type", "ping")]))
        )


async def run(domain: str, app_id: str, app_secret: str, handler: EventHandler, name: str) -> None:
    """Stay connected until cancelled, connecting again after a break (backing off)."""
    delay = RECONNECT_INITIAL
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=15)) as s:
        while True:
            try:
                url, every = await endpoint(s, domain, app_id, app_secret)
                service = int((parse_qs(urlsplit(url).query).get("service_id") or ["0"])[0])
                async with s.ws_connect(url) as ws:
                    log.info("%s: Feishu long connection open", name)
                    delay = RECONNECT_INITIAL
                    pinger = asyncio.create_task(_ping(ws, service, every))
                    try:
                        await serve(ws, handler)
                    finally:
                        pinger.cancel()
                log.info("%s: Feishu long connection closed; connecting again", name)
            except (
                aiohttp.ClientError,
                LongConnectionError,
                TimeoutError,
                KeyError,
                ValueError,
            ) as exc:
                log.warning("%s: Feishu long connection: %s; again in %.0fs", name, exc, delay)
                await asyncio.sleep(delay)  # network time, not the alert clock
                delay = min(delay * 2, RECONNECT_MAX)
