"""WeCom (企业微信) group robot: Markdown, or text with @-mentions by phone number.

    - type: wecom
      credentials: wecom-noc         # entry: key (the webhook key)

POST {url}?key=…  with `{"msgtype": "markdown", "markdown": {"content"}}`, or, when people are to
be mentioned, `{"msgtype": "text", "text": {"content", "mentioned_mobile_list"}}` (WeCom Markdown
cannot mention by phone). Success is HTTP 200 with `{"errcode": 0}`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from alerting.messages import Message, truncate
from alerting.notifiers.base import Contact, Notifier, NotifierSettings, phones
from alerting.notifiers.http import HttpSender, chat_error

MAX_MARKDOWN = 4096  # bytes, per WeCom's limits
MAX_TEXT = 2048


def _fit(text: str, limit_bytes: int) -> str:
    while len(text.encode()) > limit_bytes:
        text = truncate(text, len(text) - max(1, (len(text.encode()) - limit_bytes) // 3))
    return text


class WeComSettings(NotifierSettings):
    """WeCom (企业微信) group robot. `credentials`: `key` (the webhook key)."""

    type: Literal["wecom"]
    url: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    mention_on_duty: bool = True


class WeComNotifier(Notifier):
    settings = WeComSettings
    config: WeComSettings
    required_secrets = ("key",)

    @classmethod
    def addresses(cls, config: WeComSettings, people: Sequence[Contact]) -> dict[str, list[str]]:
        # the phone numbers of the people told, to @-mention them (mention_on_duty)
        return {"phones": phones(people)}

    def __init__(self, config: WeComSettings, secrets: dict[str, str], state_dir: Path) -> None:
        super().__init__(config, secrets, state_dir)
        self._http = HttpSender(self.name, config.timeout)

    def document(self, message: Message) -> dict[str, Any]:
        phones = list(message.recipients.get("phones") or []) if self.config.mention_on_duty else []
        if phones:
            return {
                "msgtype": "text",
                "text": {"content": _fit(message.text, MAX_TEXT), "mentioned_mobile_list": phones},
            }
        return {
            "msgtype": "markdown",
            "markdown": {"content": _fit(message.markdown, MAX_MARKDOWN)},
        }

    async def send(self, message: Message) -> None:
        params = {"key": self._secrets["key"]}
        _, body = await self._http.post_json(self.config.url, self.document(message), params=params)
        chat_error(self.name, body, "errcode", "errmsg")

    async def close(self) -> None:
        await self._http.close()
