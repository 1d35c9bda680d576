"""WeCom (企业微信) self-built app: each alert is a template card (模板卡片, button_interaction)
sent to the people told, with Acknowledge / I'm on my way / Resolve buttons whose clicks come
back to the app's callback URL.

    - type: wecom-app
      name: wecom-cards
      credentials: wecom-app         # entry: corp_id, corp_secret, token, encoding_aes_key
      agent_id: 1000002

Sending: `GET {api}/cgi-bin/gettoken?corpid=…&corpsecret=…` gives `access_token` (valid
`expires_in` seconds); `POST {api}/cgi-bin/message/send?access_token=…` with `{touser:
"zhang|li", msgtype: "template_card", agentid, template_card: {card_type: "button_interaction",
source, main_title, sub_title_text, task_id, button_list: [{text, style, key}]}}`. The people are
reached by their WeCom user id (`ids: {wecom: …}` in the roster) and the channel's `to:`.

Callbacks (the app's 接收消息 URL, `https://HOST/callback/{name}`): WeCom checks the URL with a
GET (`msg_signature, timestamp, nonce, echostr`), answered with the decrypted echostr; a click
is a POST of `<xml><ToUserName/><AgentID/><Encrypt/></xml>` with the same query, the event
(`template_card_event`: FromUserName, EventKey = the button, TaskId, ResponseCode) AES-encrypted
(alerting/chat/wecom_crypto.py). The card is then redrawn for everyone it went to through
`POST {api}/cgi-bin/message/update_template_card` with the click's response code."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from alerting.chat.cards import Card, Click, Outcome, button_label, card_of
from alerting.chat.channel import CardNotifier, Inbound, Refused, Reply, Verified
from alerting.messages import Message, truncate
from alerting.notifiers.base import Contact, DeliveryError, NotifierSettings
from alerting.notifiers.http import HttpSender, chat_error

log = logging.getLogger("roomwatch.alerting.chat")

TOKEN_INVALID = (40014, 42001)  # invalid, expired access_token
BUTTON_STYLES = {"ack": 1, "arrive": 2, "resolve": 3}
ENCRYPTED = re.compile(rb"<Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]></Encrypt>")


class WeComAppSettings(NotifierSettings):
    """WeCom self-built app sending template cards. `credentials`: `corp_id`, `corp_secret`
    (the app's Secret), and the callback's `token` and `encoding_aes_key`."""

    type: Literal["wecom-app"]
    agent_id: int
    to: list[str] = Field(default_factory=list)  # WeCom user ids always sent the card
    api: str = "https://qyapi.weixin.qq.com"


def wecom_ids(people: Sequence[Contact]) -> list[str]:
    # the roster's Person carries `ids`; the Contact protocol does not need to
    out = []
    for p in people:
        wecom = dict(getattr(p, "ids", {}) or {}).get("wecom")
        if wecom:
            out.append(str(wecom))
    return out


def _split_subject(subject: str) -> tuple[str, str]:
    """`[L1 ALERT] ups1 UPS A: UPS on battery` → the head (level, device) and the fault: the
    card's title is too short for both."""
    for colon in ("：", ": "):
        head, found, fault = subject.rpartition(colon)
        if found and head:
            return head, fault
    return subject, ""


def template_card(card: Card, task_id: str) -> dict[str, Any]:
    lines = [line for line in card.markdown.splitlines() if line.strip()][1:4]
    body = "\n".join([*card.status, *lines])
    head, fault = _split_subject(card.title)
    return {
        "card_type": "button_interaction",
        "source": {"desc": "roomwatch"},
        "main_title": {"title": truncate(head, 36), "desc": truncate(fault or head, 44)},
        "sub_title_text": truncate(body.replace("**", ""), 112),
        "task_id": task_id,
        "button_list": [
            {"text": button_label(a, card.language), "style": BUTTON_STYLES[a], "key": a}
            for a in card.actions
        ],
    }


def task_id(incidents: Sequence[int]) -> str:
    return f"rw-{'_'.join(map(str, incidents or (0,)))}-{secrets.token_hex(6)}"


def incidents_of_task(task: str) -> tuple[int, ...]:
    parts = task.split("-")
    try:
        if len(parts) != 3 or parts[0] != "rw":
            raise ValueError
        return tuple(int(i) for i in parts[1].split("_"))
    except ValueError:
        raise Refused(400, f"task {task!r} is not one of roomwatch's cards") from None


class WeComAppNotifier(CardNotifier):
    settings = WeComAppSettings
    config: WeComAppSettings
    required_secrets = ("corp_id", "corp_secret", "token", "encoding_aes_key")
    platform: ClassVar[str] = "wecom"

    @classmethod
    def addresses(
        cls, config: WeComAppSettings, people: Sequence[Contact]
    ) -> dict[str, list[str]] | None:
        users = wecom_ids(people)
        if not (users or config.to):
            return None
        return {"wecom": users}

    def __init__(self, config: WeComAppSettings, secrets_: dict[str, str], state_dir: Path) -> None:
        super().__init__(config, secrets_, state_dir)
        self._http = HttpSender(self.name, config.timeout)
        self._token: tuple[str, float] | None = None

    def _url(self, path: str) -> str:
        return f"{self.config.api.rstrip('/')}/cgi-bin/{path}"

    async def _access_token(self) -> str:
        now = time.time()
        if self._token is not None and now < self._token[1]:
            return self._token[0]
        _, body = await self._http.request(
            "GET",
            self._url("gettoken"),
            params={"corpid": self._secrets["corp_id"], "corpsecret": self._secrets["corp_secret"]},
        )
        chat_error(self.name, body, "errcode", "errmsg")
        answer = json.loads(body)
        token = str(answer.get("access_token") or "")
        if not token:
            raise DeliveryError(f"{self.name}: no access_token in the answer", retryable=True)
        self._token = (token, now + max(60.0, float(answer.get("expires_in", 7200)) - 300))
        return token

    async def _post(self, path: str, document: dict[str, Any]) -> None:
        for attempt in (1, 2):
            token = await self._access_token()
            _, body = await self._http.post_json(
                self._url(path), document, params={"access_token": token}
            )
            try:
                code = json.loads(body or b"{}").get("errcode")
            except (ValueError, AttributeError):
                code = None
            if code in TOKEN_INVALID and attempt == 1:
                self._token = None
                continue
            chat_error(self.name, body, "errcode", "errmsg")
            return

    async def send(self, message: Message) -> None:
        users = list(dict.fromkeys([*self.config.to, *(message.recipients.get("wecom") or [])]))
        if not users:
            raise DeliveryError(
                f"{self.name}: nobody with a WeCom user id to send to", retryable=False
            )
        card = card_of(message)
        await self._post(
            "message/send",
            {
                "touser": "|".join(users),
                "msgtype": "template_card",
                "agentid": self.config.agent_id,
                "template_card": template_card(card, task_id(card.incidents)),
            },
        )

    # ------------------------------------------------------------ callbacks

    def _verified_plain(self, inbound: Inbound, encrypted: str) -> bytes:
        from alerting.chat import wecom_crypto  # cryptography: only for a callback

        query = inbound.query
        stamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        given = query.get("msg_signature", "")
        if not (stamp and nonce and given):
            raise Refused(401, "the callback is not signed (msg_signature missing)")
        if not wecom_crypto.signature_ok(self._secrets["token"], stamp, nonce, encrypted, given):
            raise Refused(401, "wrong msg_signature")
        try:
            return wecom_crypto.decrypt(
                self._secrets["encoding_aes_key"], encrypted, self._secrets["corp_id"]
            )
        except wecom_crypto.WeComCryptoError as exc:
            raise Refused(400, f"cannot decrypt the callback: {exc}") from None

    def parse_callback(self, inbound: Inbound) -> Reply | Verified:
        if inbound.method == "GET":  # the URL check when the admin saves it
            echo = inbound.query.get("echostr", "")
            return Reply(200, text=self._verified_plain(inbound, echo).decode())
        # the outer envelope is read without an XML parser: it is not yet authenticated
        found = ENCRYPTED.search(inbound.body)
        if found is None:
            raise Refused(400, "no <Encrypt> in the callback")
        plain = self._verified_plain(inbound, found.group(1).decode())
        try:
            event = ET.fromstring(plain)  # authenticated: WeCom's own XML
        except ET.ParseError:
            raise Refused(400, "the decrypted callback is not XML") from None
        if (event.findtext("MsgType"), event.findtext("Event")) != ("event", "template_card_event"):
            return Reply(200, text="")  # another event of the app: nothing to do
        try:
            stamp = float(inbound.query.get("timestamp", ""))
        except ValueError:
            raise Refused(400, "bad timestamp") from None
        click = Click(
            platform=self.platform,
            user_ids=tuple(u for u in (event.findtext("FromUserName") or "",) if u),
            action=event.findtext("EventKey") or "",
            incidents=incidents_of_task(event.findtext("TaskId") or ""),
        )
        context = {
            "response_code": event.findtext("ResponseCode") or "",
            "task_id": event.findtext("TaskId") or "",
        }
        return Verified(click, stamp, inbound.query.get("nonce", ""), context)

    async def answer(self, outcome: Outcome, verified: Verified) -> Reply:
        code = verified.context.get("response_code", "")
        if outcome.card is None or not code:
            return Reply(200, text="")
        update: dict[str, Any] = {
            "atall": 1,  # redraw it for everyone it went to
            "agentid": self.config.agent_id,
            "response_code": code,
        }
        if outcome.card.actions:
            update["template_card"] = template_card(outcome.card, verified.context["task_id"])
        else:  # nothing left to press: the buttons give way to who did it
            update["button"] = {"replace_name": truncate(" ".join(outcome.card.status[-1:]), 20)}
        try:
            await self._post("message/update_template_card", update)
        except DeliveryError as exc:
            # the action is recorded all the same; only the card shows the old state
            log.warning("%s: the card was not redrawn: %s", self.name, exc)
        return Reply(200, text="")

    async def close(self) -> None:
        await self._http.close()
