"""The log channel: one log line per message (journald keeps it). Never fails."""

from __future__ import annotations

import logging

from alerting.messages import Message
from alerting.notifiers.base import Notifier

log = logging.getLogger("roomwatch.alerts")


class LogNotifier(Notifier):
    type = "log"

    async def send(self, message: Message) -> None:
        level = logging.WARNING if message.kind != "resolved" else logging.INFO
        ids = ",".join(str(i.get("incident")) for i in message.items if i.get("incident"))
        log.log(level, "alert %s incidents=%s: %s", message.kind, ids or "-", message.subject)
