"""The notifier interface: the settings every channel accepts, the recipients rule, and the
one error type.

A channel is one class that carries all of itself: `settings`, the pydantic model of its entry
under `alerting.notifiers` (its `type` literal is the channel's name; alerting/config.py builds
the tagged union of these models from the registry), `addresses`, how the people on the duty
roster are reached on it, and `send`.

A notifier sends one rendered Message to one channel and either returns (the channel accepted
it) or raises DeliveryError saying whether trying again later can help: connection errors,
timeouts, 5xx and 429 are retryable; a 4xx (a wrong token, a malformed request) is not, and
retrying it would only hammer the service. Error texts never carry a secret (tokens sit in
URLs of some chat services: errors name the host only)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field

from alerting.messages import Message
from alerting.schema import LEVELS, NAME_PATTERN, Level
from core.durations import Duration


class DeliveryError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class NotifierSettings(BaseModel):
    """What every channel accepts. `name` defaults to the type; routes and escalation tiers
    name channels by it. `levels` limits which incident levels the channel hears about.
    A channel's model adds `type: Literal["its-name"]` and its own keys (a list or dict
    default as `Field(default_factory=…)`: ruff cannot see that a subclass in another module
    is a pydantic model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)  # a typo is an error, not ignored

    type: str
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    levels: list[Level] = Field(default_factory=lambda: list(LEVELS))
    language: Literal["zh", "en"] | None = None  # overrides alerting.language for this channel
    timeout: Duration = Field(default=10.0, gt=0)
    credentials: str | None = None

    @property
    def id(self) -> str:
        return self.name or self.type


class Contact(Protocol):
    """What the recipients rule may read of a person on the duty roster."""

    @property
    def email(self) -> str | None: ...

    @property
    def phone(self) -> str | None: ...


def phones(people: Sequence[Contact]) -> list[str]:
    return [p.phone for p in people if p.phone]


class Notifier(ABC):
    #: the model of this channel's entry in roomwatch.yaml; its `type` literal names the channel
    #: (a channel also annotates `config: ItsSettings`, so its code is checked against them)
    settings: ClassVar[type[NotifierSettings]]
    config: NotifierSettings
    #: the channel's name, taken from the literal of `settings.type`
    type: ClassVar[str]
    #: keys of the credentials entry this channel needs (checked when it is built)
    required_secrets: ClassVar[tuple[str, ...]] = ()
    #: a channel that reaches people only when an escalation tier names it (a phone call), not
    #: as one of the routed channels of every incident
    only_when_named: ClassVar[bool] = False
    #: the kinds of message the channel takes (None: all); others are never queued for it
    kinds: ClassVar[frozenset[str] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        settings = cls.__dict__.get("settings")
        if settings is None:
            return  # an intermediate base, not a channel
        names = get_args(settings.model_fields["type"].annotation)
        if len(names) != 1 or not isinstance(names[0], str):
            raise TypeError(f"{cls.__name__}.settings needs `type: Literal['name']`")
        cls.type = names[0]

    def __init__(self, config: Any, secrets: dict[str, str], state_dir: Path) -> None:
        missing = [k for k in self.required_secrets if not secrets.get(k)]
        if missing:
            raise ValueError(
                f"notifier {config.id!r}: credentials entry {config.credentials!r} lacks {missing}"
            )
        self.config = config
        self._secrets = secrets
        self.state_dir = state_dir

    @classmethod
    def addresses(cls, config: Any, people: Sequence[Contact]) -> dict[str, list[str]] | None:
        """The recipients rule: this channel's addresses of `people` (the duty roster's
        entries of whoever is told), stored with the queued notification under the returned
        keys and read back by `send` from `message.recipients`. None when the channel can
        reach nobody at all (an email channel without any address), so nothing is queued that
        could only fail. The default suits a channel that speaks to a room, not to people."""
        return {}

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
