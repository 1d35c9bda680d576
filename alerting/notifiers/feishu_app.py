"""Feishu / Lark app bot (自建应用机器人): each alert is an interactive message card in a group,
with Acknowledge / I'm on my way / Resolve buttons whose clicks call back into roomwatch.

    - type: feishu-app
      name: feishu-cards
      credentials: feishu-app        # entry: app_id, app_secret, verification_token
      chat_id: oc_0123456789abcdef   # the group the bot is in

Sending (Feishu open platform): `POST {url}/open-apis/auth/v3/tenant_access_token/internal`
with `{app_id, app_secret}` gives `tenant_access_token` (valid `expire` seconds, kept until five
minutes before); `POST {url}/open-apis/im/v1/messages?receive_id_type=chat_id` with
`Authorization: Bearer …` and `{receive_id, msg_type: "interactive", content: <card JSON>}`.
The card has `update_multi: true`, so an update shows to everyone in the group.

Callbacks (the app's 消息卡片请求网址, `https://HOST/callback/{name}`): Feishu POSTs the click as
JSON with `X-Lark-Request-Timestamp` (seconds), `X-Lark-Request-Nonce` and `X-Lark-Signature` =
hex SHA-1 of timestamp + nonce + verification token + raw body. The answer, within Feishu's
three seconds, is the card redrawn (who acknowledged, when; the buttons still open), which
Feishu puts in place of the old one. When the URL is saved, Feishu first sends
`{"type": "url_verification", "challenge", "token"}`, answered with the challenge once the
token matches.

With `callbacks: long-connection` the clicks come instead over the connection roomwatch opens
to Feishu (alerting/chat/feishu_ws.py: no public URL) as `card.action.trigger` events, answered
with a toast and the card redrawn."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from alerting.chat.cards import Card, Click, Outcome, button_label, card_of
from alerting.chat.channel import CallbackHandler, CardNotifier, Inbound, Refused, Reply, Verified
from alerting.messages import Message, truncate
from alerting.notifiers.base import Contact, DeliveryError, NotifierSettings
from alerting.notifiers.http import HttpSender, chat_error

log = logging.getLogger("roomwatch.alerting.chat")

TOKEN_INVALID = (99991661, 99991663, 99991668)  # missing, invalid, expired tenant token
HEADER_COLOURS = {1: "red", 2: "orange", 3: "yellow"}
BUTTON_STYLES = {"ack": "primary", "arrive": "default", "resolve": "danger"}


class FeishuAppSettings(NotifierSettings):
    """Feishu / Lark app bot sending interactive cards. `credentials`: `app_id`,
    `app_secret`, and `verification_token` (checks the card callbacks)."""

    type: Literal["feishu-app"]
    chat_id: str
    url: str = "https://open.feishu.cn"  # Lark: https://open.larksuite.com
    # http: clicks come to POST /callback/NAME (a public URL); long-connection: over the
    # connection roomwatch opens to Feishu (alerting/chat/feishu_ws.py), no public URL
    callbacks: Literal["http", "long-connection"] = "http"


def feishu_callback_signature(token: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hashlib.sha1((timestamp + nonce + token).encode() + body).hexdigest()


def feishu_card(card: Card) -> dict[str, Any]:
    """The message card (Feishu card JSON 1.0) for `card`."""
    elements: list[dict[str, Any]] = [{"tag": "markdown", "content": truncate(card.markdown, 3000)}]
    if card.status:
        elements.append({"tag": "hr"})
        elements.append({"tag": "markdown", "content": "\n".join(card.status)})
    if card.actions and card.incidents:
        ids = ",".join(map(str, card.incidents))
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "text": {"tag": "plain_text", "content": button_label(a, card.language)},
                        "type": BUTTON_STYLES[a],
                        "value": {"roomwatch": a, "incidents": ids},
                    }
                    for a in card.actions
                ],
            }
        )
    colour = HEADER_COLOURS.get(card.level, "blue") if card.actions else "green"
    return {
        "config": {"wide_screen_mode": True, "update_multi": True},
        "header": {
            "title": {"tag": "plain_text", "content": truncate(card.title, 100)},
            "template": colour,
        },
        "elements": elements,
    }


def parse_incidents(value: object) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in str(value).split(",") if part.strip())
    except ValueError:
        raise Refused(400, f"bad incident list {value!r} in the callback") from None


class FeishuAppNotifier(CardNotifier):
    settings = FeishuAppSettings
    config: FeishuAppSettings
    required_secrets = ("app_id", "app_secret", "verification_token")
    platform: ClassVar[str] = "feishu"

    @classmethod
    def addresses(
        cls, config: FeishuAppSettings, people: Sequence[Contact]
    ) -> dict[str, list[str]]:
        return {}  # the card goes to the group; whoever is on the roster may act on it

    def __init__(self, config: FeishuAppSettings, secrets: dict[str, str], state_dir: Path) -> None:
        super().__init__(config, secrets, state_dir)
        self._http = HttpSender(self.name, config.timeout)
        self._token: tuple[str, float] | None = None  # (tenant token, good until)

    def _api(self, path: str) -> str:
        return f"{self.config.url.rstrip('/')}/open-apis/{path}"

    async def _tenant_token(self) -> str:
        now = time.time()
        if self._token is not None and now < self._token[1]:
            return self._token[0]
        document = {"app_id": self._secrets["app_id"], "app_secret": self._secrets["app_secret"]}
        _, body = await self._http.post_json(
            self._api("auth/v3/tenant_access_token/internal"), document
        )
        chat_error(self.name, body, "code", "msg")
        answer = json.loads(body)
        token = str(answer.get("tenant_access_token") or "")
        if not token:
            raise DeliveryError(
                f"{self.name}: no tenant_access_token in the answer", retryable=True
            )
        self._token = (token, now + max(60.0, float(answer.get("expire", 7200)) - 300))
        return token

    async def send(self, message: Message) -> None:
        card = card_of(message)
        content = json.dumps(feishu_card(card), ensure_ascii=False)
        document = {
            "receive_id": self.config.chat_id,
            "msg_type": "interactive",
            "content": content,
        }
        for attempt in (1, 2):
            token = await self._tenant_token()
            _, body = await self._http.post_json(
                self._api("im/v1/messages"),
                document,
                headers={"Authorization": f"Bearer {token}"},
                params={"receive_id_type": "chat_id"},
            )
            try:
                code = json.loads(body or b"{}").get("code")
            except (ValueError, AttributeError):
                code = None
            if code in TOKEN_INVALID and attempt == 1:
                self._token = None  # revoked or expired early: fetch a new one, once
                continue
            chat_error(self.name, body, "code", "msg")
            message_id = ((json.loads(body).get("data") or {}).get("message_id")) or ""
            if message_id and card.incidents:
                self.remember(str(message_id), card.incidents)
            return

    async def redraw(self, ref: str, card: Card) -> None:
        """`PATCH {url}/open-apis/im/v1/messages/{message_id}` with the card (update_multi)."""
        content = json.dumps(feishu_card(card), ensure_ascii=False)
        token = await self._tenant_token()
        _, body = await self._http.request(
            "PATCH",
            self._api(f"im/v1/messages/{ref}"),
            body=json.dumps({"content": content}, ensure_ascii=False).encode(),
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json; charset=utf-8",
            },
        )
        chat_error(self.name, body, "code", "msg")

    # ------------------------------------------------------------ callbacks

    def parse_callback(self, inbound: Inbound) -> Reply | Verified:
        headers, body = inbound.headers, inbound.body
        token = self._secrets["verification_token"]
        try:
            document = json.loads(body)
        except ValueError:
            raise Refused(400, "the callback body is not JSON") from None
        if not isinstance(document, dict):
            raise Refused(400, "the callback body is not a JSON object")
        if document.get("type") == "url_verification":
            if not hmac.compare_digest(str(document.get("token", "")), token):
                raise Refused(401, "URL verification with a wrong verification token")
            return Reply(200, {"challenge": document.get("challenge", "")})
        timestamp = headers.get("X-Lark-Request-Timestamp", "")
        nonce = headers.get("X-Lark-Request-Nonce", "")
        signature = headers.get("X-Lark-Signature", "")
        if not (timestamp and nonce and signature):
            raise Refused(401, "the callback is not signed (X-Lark-* headers missing)")
        expected = feishu_callback_signature(token, timestamp, nonce, body)
        if not hmac.compare_digest(expected, signature.lower()):
            raise Refused(401, "wrong X-Lark-Signature")
        try:
            sent_at = float(timestamp)
        except ValueError:
            raise Refused(400, f"bad X-Lark-Request-Timestamp {timestamp!r}") from None
        action = document.get("action") or {}
        value = action.get("value") if isinstance(action, dict) else None
        if not isinstance(value, dict) or "roomwatch" not in value:
            raise Refused(400, "not a roomwatch button")
        users = tuple(str(document.get(k) or "") for k in ("user_id", "open_id", "union_id"))
        click = Click(
            platform=self.platform,
            user_ids=tuple(u for u in users if u),
            action=str(value["roomwatch"]),
            incidents=parse_incidents(value.get("incidents", "")),
        )
        return Verified(click, sent_at, nonce)

    # ------------------------------------------------------------ the long connection

    def listens(self) -> bool:
        return self.config.callbacks == "long-connection"

    def parse_event(self, event: dict[str, Any]) -> Verified:
        """A `card.action.trigger` event (schema 2.0) from the long connection."""
        header = event.get("header") or {}
        if not hmac.compare_digest(
            str(header.get("token", "")), self._secrets["verification_token"]
        ):
            raise Refused(401, "an event with a wrong verification token")
        body = event.get("event") or {}
        value = (body.get("action") or {}).get("value")
        if not isinstance(value, dict) or "roomwatch" not in value:
            raise Refused(400, "not a roomwatch button")
        operator = body.get("operator") or {}
        users = tuple(str(operator.get(k) or "") for k in ("user_id", "open_id", "union_id"))
        click = Click(
            platform=self.platform,
            user_ids=tuple(u for u in users if u),
            action=str(value["roomwatch"]),
            incidents=parse_incidents(value.get("incidents", "")),
        )
        try:
            sent_at = float(header.get("create_time", 0)) / 1000.0  # milliseconds
        except (TypeError, ValueError):
            raise Refused(400, "an event without create_time") from None
        nonce = str(header.get("event_id") or "")
        if not nonce:
            raise Refused(400, "an event without event_id")
        return Verified(click, sent_at, nonce, {"format": "2.0"})

    async def listen(self, handler: CallbackHandler) -> None:
        async def on_event(event: dict[str, Any]) -> dict[str, Any]:
            try:
                verified = self.parse_event(event)
            except Refused as exc:
                log.warning("%s: event refused: %s", self.name, exc.reason)
                return {"toast": {"type": "error", "content": exc.reason}}
            reply = await handler(verified)
            if reply.status != 200:  # a replay or a late event: said to the person, not drawn
                why = str(reply.document.get("error", "refused"))
                return {"toast": {"type": "error", "content": why}}
            return reply.document

        from alerting.chat import feishu_ws  # aiohttp: only a running daemon needs it

        await feishu_ws.run(
            self.config.url,
            self._secrets["app_id"],
            self._secrets["app_secret"],
            on_event,
            self.name,
        )

    async def answer(self, outcome: Outcome, verified: Verified) -> Reply:
        if verified.context.get("format") == "2.0":  # a long-connection event's answer
            toast = {"type": "success" if outcome.accepted else "error", "content": outcome.toast}
            answer: dict[str, Any] = {"toast": toast}
            if outcome.card is not None:
                answer["card"] = {"type": "raw", "data": feishu_card(outcome.card)}
            return Reply(200, answer)
        # the body of the answer replaces the card; an empty object leaves it as it was
        return Reply(200, feishu_card(outcome.card) if outcome.card is not None else {})

    async def close(self) -> None:
        await self._http.close()
