"""The part every card channel adds to a Notifier: reading a platform callback, and answering.

`parse_callback(inbound)` checks the platform's signature or token and returns either a
`Reply` to send at once (a URL verification challenge) or a `Verified` click with the
timestamp and nonce the replay guard checks; it raises `Refused` for anything not genuine.
`answer(outcome)` is what the platform expects back (for Feishu the new card itself). A channel
that keeps its own connection to the platform (DingTalk Stream) also has `listen`, which the
alert service runs as a task while the channel is configured."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from alerting.chat.cards import Card, Click, Outcome
from alerting.notifiers.base import Notifier


@dataclass(frozen=True)
class Inbound:
    """A platform's HTTP request as it came."""

    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    document: dict[str, Any] = field(default_factory=dict)
    text: str | None = None  # answered as plain text instead of the JSON document


@dataclass(frozen=True)
class Verified:
    click: Click
    timestamp: float  # seconds, the platform's
    nonce: str  # unique per callback (the platform's nonce or message id, or its signature)
    context: Mapping[str, str] = field(default_factory=dict)  # what the answer needs of it


@dataclass(frozen=True)
class Recorded:
    """A report to write in incidents' audit logs (a call's result): (incident, action, detail)."""

    entries: tuple[tuple[int, str, dict[str, Any]], ...]


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


#: what a listening channel calls with each click it received over its own connection (where
#: the connection itself proves the sender) → the answer to send back on it
CallbackHandler = Callable[[Verified], Awaitable[Reply]]


SHOWN_LIMIT = 2000


class CardNotifier(Notifier):
    """A channel that takes callbacks from its platform (a card's buttons, a call report)."""

    platform: ClassVar[str]
    #: a callback whose timestamp is further than this from our clock is refused
    replay_window: ClassVar[float] = 300.0

    def __init__(self, config: Any, secrets: dict[str, str], state_dir: Path) -> None:
        super().__init__(config, secrets, state_dir)
        self._shown: OrderedDict[str, tuple[int, ...]] = OrderedDict()

    def parse_callback(self, inbound: Inbound) -> Reply | Verified | Recorded:
        raise Refused(404, f"{self.name} takes no HTTP callbacks")

    async def answer(self, outcome: Outcome, verified: Verified) -> Reply:
        return Reply(200, {})

    def listens(self) -> bool:
        """Whether this channel keeps its own connection for callbacks (see `listen`)."""
        return False

    async def listen(self, handler: CallbackHandler) -> None:
        """Receive callbacks over the channel's own connection until cancelled."""
        raise NotImplementedError

    # Cards this channel can redraw later, when an incident is acted on elsewhere (the
    # console, an SMS code): the platform's id of each card and the incidents it shows. Kept in
    # memory, the newest SHOWN_LIMIT: after a restart an old card is redrawn by its next click.

    def remember(self, ref: str, incidents: tuple[int, ...]) -> None:
        self._shown[ref] = incidents
        while len(self._shown) > SHOWN_LIMIT:
            self._shown.popitem(last=False)

    def showing(self, incident_id: int) -> list[tuple[str, tuple[int, ...]]]:
        return [(ref, ids) for ref, ids in self._shown.items() if incident_id in ids]

    async def redraw(self, ref: str, card: Card) -> None:
        """Draw `card` in place of the card `ref` (raises DeliveryError)."""
