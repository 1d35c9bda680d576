"""The log channel: one log line per message (journald keeps it). Never fails.

    - type: log
      levels: [1, 2, 3]

It is the channel of an empty `alerting:` section."""

from __future__ import annotations

import logging
from typing import Literal

from alerting.messages import Message
from alerting.notifiers.base import Notifier, NotifierSettings

log = logging.getLogger("roomwatch.alerts")


class LogSettings(NotifierSettings):
    type: Literal["log"]


class LogNotifier(Notifier):
    settings = LogSettings
    config: LogSettings

    async def send(self, message: Message) -> None:
        level = logging.WARNING if message.kind != "resolved" else logging.INFO
        ids = ",".join(str(i.get("incident")) for i in message.items if i.get("incident"))
        log.log(level, "alert %s incidents=%s: %s", message.kind, ids or "-", message.subject)
