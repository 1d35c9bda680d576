"""DingTalk custom robot (自定义机器人): a Markdown message, @-mentioning the people told by
their phone numbers, signed when the robot has 加签 on.

    - type: dingtalk
      credentials: dingtalk-noc      # entry: access_token, secret (optional)

POST {url}?access_token=…&timestamp=…&sign=…  with
`{"msgtype": "markdown", "markdown": {"title", "text"}, "at": {"atMobiles": [...]}}`; the answer
is HTTP 200 with `{"errcode": 0}` on success."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from alerting.messages import Message, truncate
from alerting.notifiers.base import Contact, Notifier, NotifierSettings, phones
from alerting.notifiers.http import HttpSender, chat_error
from alerting.notifiers.signing import dingtalk_sign

MAX_TEXT = 4000  # DingTalk truncates long Markdown; keep the head


class DingTalkSettings(NotifierSettings):
    """DingTalk custom robot. `credentials`: `access_token`, and `secret` when the robot uses
    signing (加签)."""

    type: Literal["dingtalk"]
    url: str = "https://oapi.dingtalk.com/robot/send"
    mention_on_duty: bool = True  # @ the phone numbers of the people told


class DingTalkNotifier(Notifier):
    settings = DingTalkSettings
    config: DingTalkSettings
    required_secrets = ("access_token",)

    @classmethod
    def addresses(cls, config: DingTalkSettings, people: Sequence[Contact]) -> dict[str, list[str]]:
        # the phone numbers of the people told, to @-mention them (mention_on_duty)
        return {"phones": phones(people)}

    def __init__(self, config: DingTalkSettings, secrets: dict[str, str], state_dir: Path) -> None:
        super().__init__(config, secrets, state_dir)
        self._http = HttpSender(self.name, config.timeout)

    def document(self, message: Message) -> dict[str, Any]:
        phones = list(message.recipients.get("phones") or []) if self.config.mention_on_duty else []
        text = message.markdown
        if phones:
            # DingTalk only notifies mentioned people whose number also appears in the text
            text += "\n\n" + " ".join(f"@{p}" for p in phones)
        return {
            "msgtype": "markdown",
            "markdown": {"title": truncate(message.subject, 64), "text": truncate(text, MAX_TEXT)},
            "at": {"atMobiles": phones, "isAtAll": False},
        }

    async def send(self, message: Message) -> None:
        params = {"access_token": self._secrets["access_token"]}
        if self._secrets.get("secret"):
            # a send reads the real time: the signature must match DingTalk's own clock
            timestamp = int(time.time() * 1000)
            params["timestamp"] = str(timestamp)
            params["sign"] = dingtalk_sign(self._secrets["secret"], timestamp)
        _, body = await self._http.post_json(self.config.url, self.document(message), params=params)
        chat_error(self.name, body, "errcode", "errmsg")

    async def close(self) -> None:
        await self._http.close()
