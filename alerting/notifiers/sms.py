"""An SMS gateway over HTTP, one request per phone number, with a configurable template.

    - type: sms
      url: https://sms.example.org/send
      credentials: sms-gateway       # entry keys usable in the template, e.g. {api_key}
      template: '{{"to": "{phone}", "msg": "{text}", "key": "{api_key}"}}'
      to: ["13800000000"]            # always told, besides the people on duty

The text is the message's short form, cut to `max_chars`. In the template `{phone}`, `{text}`
and the credentials entry's keys are substituted, JSON-escaped for a JSON body and URL-escaped
for a form body or a GET (where the template is the query string).

With `ack_code: true` the SMS ends with a short code (`回复 12-4831 确认`, alerting/chat/
ackcode.py, keyed by the entry's `ack_secret`). Replying with it acknowledges where the gateway
reports replies: it POSTs them to `/callback/NAME?token=REPLY_TOKEN` (the entry's
`reply_token`), as JSON or a form with the sender's number in `reply_from` and the text in
`reply_text`; the sender must be a phone number on the duty roster. The code can also be typed
in on the web console."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import parse_qsl, quote

from pydantic import Field

from alerting.chat.ackcode import ack_code, incident_of_code
from alerting.chat.cards import Click, Outcome
from alerting.chat.channel import CardNotifier, Inbound, Refused, Reply, Verified
from alerting.messages import ALERT_KINDS, Message, truncate
from alerting.notifiers.base import Contact, DeliveryError, NotifierSettings, phones
from alerting.notifiers.http import HttpSender
from core.i18n import t


class SmsSettings(NotifierSettings):
    """An SMS gateway over HTTP. The body is `template` with `{phone}`, `{text}` and the
    credentials entry's keys substituted (JSON-escaped when `content_type` is JSON); one request
    per phone number. Any 2xx status is success."""

    type: Literal["sms"]
    url: str
    method: Literal["POST", "GET"] = "POST"
    content_type: str = "application/json"
    template: str = '{{"phone": "{phone}", "text": "{text}"}}'
    to: list[str] = Field(default_factory=list)  # numbers always told, besides the people on duty
    max_chars: int = Field(default=140, ge=20)
    ack_code: bool = False  # end each alert with a code that acknowledges (needs `ack_secret`)
    reply_from: str = "mobile"  # the gateway's reply report: field of the sender's number
    reply_text: str = "text"  # … and of the text they sent


class SmsNotifier(CardNotifier):
    settings = SmsSettings
    config: SmsSettings
    platform: ClassVar[str] = "sms"

    @classmethod
    def addresses(
        cls, config: SmsSettings, people: Sequence[Contact]
    ) -> dict[str, list[str]] | None:
        # the people's phone numbers; with neither those nor the channel's own `to` numbers
        # there is nobody to text
        numbers = phones(people)
        if not (config.to or numbers):
            return None
        return {"phones": numbers}

    def __init__(self, config: SmsSettings, secrets: dict[str, str], state_dir: Path) -> None:
        if config.ack_code and not secrets.get("ack_secret"):
            raise ValueError(
                f"notifier {config.id!r}: ack_code needs `ack_secret` in credentials entry"
                f" {config.credentials!r}"
            )
        super().__init__(config, secrets, state_dir)
        self._http = HttpSender(self.name, config.timeout)

    def code_for(self, incident_id: int) -> str | None:
        secret = self._secrets.get("ack_secret")
        return ack_code(secret, incident_id) if self.config.ack_code and secret else None

    def incident_of_code(self, text: str) -> int | None:
        secret = self._secrets.get("ack_secret")
        return incident_of_code(secret, text) if self.config.ack_code and secret else None

    def text_of(self, message: Message) -> str:
        """The SMS: the short form, and the ack code(s) of the alert at its end."""
        codes = []
        for item in message.items:
            if item.get("kind") in ALERT_KINDS and item.get("incident") is not None:
                code = self.code_for(int(item["incident"]))
                if code:
                    codes.append(code)
        if not codes:
            return truncate(message.short, self.config.max_chars)
        tail = t("message.sms_ack", message.language, code=" / ".join(codes[:3]))
        return truncate(message.short, self.config.max_chars - len(tail)) + tail

    def phones(self, message: Message) -> list[str]:
        return list(dict.fromkeys([*self.config.to, *(message.recipients.get("phones") or [])]))

    def _escape(self, value: str) -> str:
        if self.config.method == "POST" and "json" in self.config.content_type:
            return json.dumps(value, ensure_ascii=False)[1:-1]
        return quote(value, safe="")

    def render(self, phone: str, text: str) -> str:
        values = {k: self._escape(v) for k, v in self._secrets.items()}
        values.update(phone=self._escape(phone), text=self._escape(text))
        try:
            rendered: str = self.config.template.format(**values)
        except (KeyError, IndexError, ValueError) as exc:
            raise DeliveryError(
                f"{self.name}: bad template ({type(exc).__name__}: {exc})", retryable=False
            ) from None
        return rendered

    async def send(self, message: Message) -> None:
        phones = self.phones(message)
        if not phones:
            raise DeliveryError(f"{self.name}: no phone number to send to", retryable=False)
        text = self.text_of(message)
        # a partial failure retries the whole message: a second SMS beats a missing one
        for phone in phones:
            rendered = self.render(phone, text)
            if self.config.method == "GET":
                sep = "&" if "?" in self.config.url else "?"
                await self._http.request("GET", f"{self.config.url}{sep}{rendered}")
            else:
                await self._http.request(
                    "POST",
                    self.config.url,
                    body=rendered.encode("utf-8"),
                    headers={"Content-Type": self.config.content_type},
                )

    # ------------------------------------------------------------ replies

    def parse_callback(self, inbound: Inbound) -> Reply | Verified:
        token = self._secrets.get("reply_token")
        if not (self.config.ack_code and token):
            raise Refused(404, f"{self.name} takes no replies (ack_code and reply_token)")
        if not hmac.compare_digest(inbound.query.get("token", "").encode(), token.encode()):
            raise Refused(401, "wrong or missing ?token= on the reply report")
        fields = _fields(inbound)
        sender = str(fields.get(self.config.reply_from) or "")
        text = str(fields.get(self.config.reply_text) or "")
        number = self.incident_of_code(text)
        if number is None:
            raise Refused(400, f"no valid ack code in the reply from {sender or '?'}")
        plain = sender.removeprefix("+").removeprefix("86") if len(sender) > 11 else sender
        click = Click(self.platform, (sender, plain), "ack", (number,))
        # gateways send no nonce: the report itself is one (a second identical one is a replay)
        nonce = hashlib.sha256(inbound.body).hexdigest()
        return Verified(click, time.time(), nonce)

    async def answer(self, outcome: Outcome, verified: Verified) -> Reply:
        return Reply(200, {"result": 0, "errmsg": "OK", "accepted": outcome.accepted})

    async def close(self) -> None:
        await self._http.close()


def _fields(inbound: Inbound) -> dict[str, object]:
    """The reply report's fields, from a JSON object or a form (or the query string)."""
    if "json" in inbound.headers.get("Content-Type", ""):
        try:
            document = json.loads(inbound.body)
        except ValueError:
            raise Refused(400, "the reply report is not JSON") from None
        if not isinstance(document, dict):
            raise Refused(400, "the reply report is not a JSON object")
        return document
    fields: dict[str, object] = dict(inbound.query)
    fields.update(parse_qsl(inbound.body.decode("utf-8", "replace")))
    return fields
