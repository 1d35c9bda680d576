"""An SMS gateway over HTTP, one request per phone number, with a configurable template.

    - type: sms
      url: https://sms.example.org/send
      credentials: sms-gateway       # entry keys usable in the template, e.g. {api_key}
      template: '{{"to": "{phone}", "msg": "{text}", "key": "{api_key}"}}'
      to: ["13800000000"]            # always told, besides the people on duty

The text is the message's short form, cut to `max_chars`. In the template `{phone}`, `{text}`
and the credentials entry's keys are substituted, JSON-escaped for a JSON body and URL-escaped
for a form body or a GET (where the template is the query string)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field

from alerting.messages import Message, truncate
from alerting.notifiers.base import Contact, DeliveryError, Notifier, NotifierSettings, phones
from alerting.notifiers.http import HttpSender


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


class SmsNotifier(Notifier):
    settings = SmsSettings
    config: SmsSettings

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
        super().__init__(config, secrets, state_dir)
        self._http = HttpSender(self.name, config.timeout)

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
        text = truncate(message.short, self.config.max_chars)
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

    async def close(self) -> None:
        await self._http.close()
