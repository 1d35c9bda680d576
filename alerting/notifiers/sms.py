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
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alerting.messages import Message, truncate
from alerting.notifiers.base import DeliveryError, Notifier
from alerting.notifiers.http import HttpSender


class SmsNotifier(Notifier):
    type = "sms"
    config: Any

    def __init__(self, config: Any, secrets: dict[str, str], state_dir: Path) -> None:
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
