"""What a chat card shows and offers, independent of the platform that draws it.

A card is built from the rendered Message (its subject and Markdown) plus the incidents it is
about; its buttons are the actions still open to them (Acknowledge while one is open, I'm on my
way until someone is recorded on site, Resolve while one is active) and, once someone acted,
status lines say who did what and when. The platform modules turn a `Card` into their JSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from alerting.messages import ALERT_KINDS, Message
from core.i18n import t

if TYPE_CHECKING:
    from alerting.store import Incident

#: the buttons, in the order they are shown; the value a click carries back
ACTIONS = ("ack", "arrive", "resolve")


@dataclass(frozen=True)
class Click:
    """One button pressed on a card, as the platform reported it (already verified)."""

    platform: str  # dingtalk | feishu | wecom
    user_ids: tuple[str, ...]  # every id the platform gave for the person who clicked
    action: str  # one of ACTIONS
    incidents: tuple[int, ...]


@dataclass(frozen=True)
class Card:
    title: str
    markdown: str
    level: int
    language: str
    incidents: tuple[int, ...]
    actions: tuple[str, ...] = ACTIONS
    status: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    toast: str  # the short answer the platform shows the person who clicked
    card: Card | None  # the card to draw in place of the old one (None: leave it)


def incidents_of(message: Message) -> tuple[int, ...]:
    """The incidents an alert message asks someone to act on (none for a recovery)."""
    ids = [
        int(item["incident"])
        for item in message.items
        if item.get("kind") in ALERT_KINDS and item.get("incident") is not None
    ]
    return tuple(dict.fromkeys(ids))


def card_of(message: Message) -> Card:
    ids = incidents_of(message)
    return Card(
        title=message.subject,
        markdown=message.markdown,
        level=message.level,
        language=message.language,
        incidents=ids,
        actions=ACTIONS if ids else (),
    )


def actions_left(incidents: Sequence[Incident]) -> tuple[str, ...]:
    active = [i for i in incidents if i.active]
    out = []
    if any(i.state == "open" for i in active):
        out.append("ack")
    if any(i.arrived_at is None for i in active):
        out.append("arrive")
    if active:
        out.append("resolve")
    return tuple(out)


def _hhmm(ts: float, tz: dt.tzinfo | None) -> str:
    return dt.datetime.fromtimestamp(ts, tz).strftime("%H:%M")


def status_lines(
    incidents: Sequence[Incident], language: str, tz: dt.tzinfo | None
) -> tuple[str, ...]:
    """Who did what to each incident, and when: the card's answer to "is anyone on it?"."""
    lines = []
    for i in incidents:
        done = (
            ("acknowledged", i.acknowledged_by, i.acknowledged_at),
            ("arrived", i.arrived_by, i.arrived_at),
            ("resolved", i.resolved_by, i.resolved_at),
        )
        for what, by, at in done:
            if by and at is not None:
                lines.append(t(f"message.card.{what}", language, n=i.id, by=by, at=_hhmm(at, tz)))
    return tuple(lines)


def button_label(action: str, language: str) -> str:
    return t(f"message.card.button.{action}", language)
