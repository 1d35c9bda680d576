"""Feishu / Lark custom bot (自定义机器人): a rich-text post, signed when the bot has
signature verification on.

    - type: feishu
      credentials: feishu-noc        # entry: token (the hook id), secret (optional)

POST {url}/{token} with `{"timestamp", "sign", "msg_type": "post", "content": {"post": {"zh_cn":
{"title", "content": [[{"tag": "text", "text": …}], …]}}}}`. Success is HTTP 200 with
`{"code": 0}` (older deployments answer `{"StatusCode": 0}`)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from alerting.messages import Message, truncate
from alerting.notifiers.base import Contact, Notifier, NotifierSettings, phones
from alerting.notifiers.http import HttpSender, chat_error
from alerting.notifiers.signing import feishu_sign

MAX_LINES = 60


class FeishuSettings(NotifierSettings):
    """Feishu / Lark custom bot. `credentials`: `token` (the hook id), and `secret` when the
    bot has signature verification on."""

    type: Literal["feishu"]
    url: str = "https://open.feishu.cn/open-apis/bot/v2/hook"


class FeishuNotifier(Notifier):
    settings = FeishuSettings
    config: FeishuSettings
    required_secrets = ("token",)

    @classmethod
    def addresses(cls, config: FeishuSettings, people: Sequence[Contact]) -> dict[str, list[str]]:
        # the people's phone numbers, like the other chat robots (a Feishu post mentions
        # nobody, but the numbers keep one recipients shape for all chat channels)
        return {"phones": phones(people)}

    def __init__(self, config: FeishuSettings, secrets: dict[str, str], state_dir: Path) -> None:
        super().__init__(config, secrets, state_dir)
        self._http = HttpSender(self.name, config.timeout)

    def document(self, message: Message, timestamp: int | None = None) -> dict[str, Any]:
        lines = message.text.splitlines()[2:MAX_LINES]  # the subject is the title
        locale = "zh_cn" if message.language == "zh" else "en_us"
        doc: dict[str, Any] = {
            "msg_type": "post",
            "content": {
                "post": {
                    locale: {
                        "title": truncate(message.subject, 120),
                        "content": [[{"tag": "text", "text": line}] for line in lines if line],
                    }
                }
            },
        }
        if timestamp is not None and self._secrets.get("secret"):
            doc["timestamp"] = str(timestamp)
            doc["sign"] = feishu_sign(self._secrets["secret"], timestamp)
        return doc

    async def send(self, message: Message) -> None:
        url = f"{self.config.url.rstrip('/')}/{self._secrets['token']}"
        # the signature must match Feishu's own clock, so it is stamped with the real time
        document = self.document(message, int(time.time()))
        _, body = await self._http.post_json(url, document)
        chat_error(self.name, body, "code", "msg")
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            return
        if isinstance(answer, dict) and answer.get("StatusCode") not in (None, 0):
            chat_error(
                self.name, json.dumps({"code": answer["StatusCode"]}).encode(), "code", "msg"
            )

    async def close(self) -> None:
        await self._http.close()
