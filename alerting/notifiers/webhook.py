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
from typing import Any

from alerting.messages import Message
from alerting.notifiers.base import Notifier, document
from alerting.notifiers.http import HttpSender


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier(Notifier):
    type = "webhook"

    def __init__(self, config: Any, secrets: dict[str, str], state_dir: Path) -> None:
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
