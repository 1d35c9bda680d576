"""The generic webhook channel: POSTs a JSON document describing the message.

    - type: webhook
      url: https://ops.example.org/hooks/roomwatch
      credentials: ops-hook          # entry: token and/or secret (both optional)
      headers: {X-Source: roomwatch}

    {"kind": "opened", "level": 1, "language": "zh", "subject": "...", "text": "...",
     "incidents": [12], "items": [{incident payload}...], "recipients": {...}}

Optional credentials entry: `token` (sent as `Authorization: Bearer …`) and `secret`
(`X-Roomwatch-Signature: sha256=<hex HMAC-SHA256 of the body>`, as GitHub signs webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from alerting.messages import Message
from alerting.notifiers.base import Notifier, NotifierSettings, document
from alerting.notifiers.http import HttpSender

_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key", "api-key")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSettings(NotifierSettings):
    """POSTs a JSON document. Optional `credentials` entry: `token` (sent as a Bearer token)
    and/or `secret` (an HMAC-SHA256 of the body in `X-Roomwatch-Signature`)."""

    type: Literal["webhook"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        # roomwatch.yaml is no place for a secret (it would also show in this model's repr)
        for name in headers:
            low = name.lower()
            if low in _SECRET_HEADERS or any(w in low for w in ("token", "secret", "password")):
                raise ValueError(
                    f"header {name!r} carries a secret: put it in the credentials file"
                    " (entry keys token / secret) and name the entry with credentials:"
                )
        return headers


class WebhookNotifier(Notifier):
    settings = WebhookSettings
    config: WebhookSettings

    def __init__(self, config: WebhookSettings, secrets: dict[str, str], state_dir: Path) -> None:
        super().__init__(config, secrets, state_dir)
        self._http = HttpSender(self.name, config.timeout)

    async def send(self, message: Message) -> None:
        body = json.dumps(document(message), ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **self.config.headers}
        if self._secrets.get("token"):
            headers["Authorization"] = f"Bearer {self._secrets['token']}"
        if self._secrets.get("secret"):
            headers["X-Roomwatch-Signature"] = signature(self._secrets["secret"], body)
        await self._http.request("POST", self.config.url, body=body, headers=headers)

    async def close(self) -> None:
        await self._http.close()
