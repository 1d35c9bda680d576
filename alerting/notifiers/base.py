"""The notifier interface and its one error type.

A notifier sends one rendered Message to one channel and either returns (the channel accepted
it) or raises DeliveryError saying whether trying again later can help: connection errors,
timeouts, 5xx and 429 are retryable; a 4xx (a wrong token, a malformed request) is not, and
retrying it would only hammer the service. Error texts never carry a secret (tokens sit in
URLs of some chat services: errors name the host only)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from alerting.messages import Message


class DeliveryError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Notifier(ABC):
    type: ClassVar[str]
    #: keys of the credentials entry this channel needs (checked when it is built)
    required_secrets: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Any, secrets: dict[str, str], state_dir: Path) -> None:
        missing = [k for k in self.required_secrets if not secrets.get(k)]
        if missing:
            raise ValueError(
                f"notifier {config.id!r}: credentials entry {config.credentials!r} lacks {missing}"
            )
        self.config = config
        self._secrets = secrets
        self.state_dir = state_dir

    @property
    def name(self) -> str:
        return str(self.config.id)

    def __repr__(self) -> str:  # never show secrets
        return f"{type(self).__name__}({self.name!r})"

    @abstractmethod
    async def send(self, message: Message) -> None:
        """Deliver `message`. Raises DeliveryError."""

    async def close(self) -> None:  # noqa: B027 - most channels hold nothing open
        """Release connections."""


def document(message: Message) -> dict[str, Any]:
    """A message as the JSON object the generic webhook posts and the file channel writes."""
    return {
        "kind": message.kind,
        "level": message.level,
        "language": message.language,
        "subject": message.subject,
        "text": message.text,
        "incidents": [i.get("incident") for i in message.items if i.get("incident")],
        "items": message.items,
        "recipients": message.recipients,
    }
