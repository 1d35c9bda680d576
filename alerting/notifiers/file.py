"""The file channel: appends one JSON object per message to a file (an outbox a script or the
demo can read). Relative paths are relative to the state directory.

    - type: file
      path: alerts.jsonl             # here: /var/lib/roomwatch/alerts.jsonl
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Literal

from alerting.messages import Message
from alerting.notifiers.base import DeliveryError, Notifier, NotifierSettings, document


class FileSettings(NotifierSettings):
    """Appends one JSON object per message to `path` (relative paths: to the state dir)."""

    type: Literal["file"]
    path: str


class FileNotifier(Notifier):
    settings = FileSettings
    config: FileSettings

    def __init__(self, config: FileSettings, secrets: dict[str, str], state_dir: Path) -> None:
        super().__init__(config, secrets, state_dir)
        path = Path(config.path)
        self.path = path if path.is_absolute() else state_dir / path

    async def send(self, message: Message) -> None:
        record = document(message)
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            await asyncio.to_thread(self._append, line)
        except OSError as exc:
            # a full disk or a missing directory may be mended: keep the message
            raise DeliveryError(
                f"cannot write {self.path}: {exc.strerror}", retryable=True
            ) from exc

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # one write() of a whole line with O_APPEND: readers never see half a record
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
