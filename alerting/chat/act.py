"""A verified click, acted on: who clicked (the duty roster), the action under their name, and
the card as it now stands.

The roster maps a person to their ids on each platform (`ids: {feishu: ou_…, dingtalk: …,
wecom: …}`), or to their mobile number (`phone`) where a platform reports that. A click from
anyone else is refused and logged: a card forwarded to another group must not let a stranger
acknowledge."""

from __future__ import annotations

import logging

from alerting.chat.cards import Card, Click, Outcome, actions_left, status_lines
from alerting.chat.desk import CardDesk
from alerting.compose import compose
from alerting.config import DutyConfig
from alerting.incidents import IncidentError
from alerting.store import Incident, NotFound
from core.i18n import t

log = logging.getLogger("roomwatch.alerting.chat")


def who_clicked(duty: DutyConfig, platform: str, user_ids: tuple[str, ...]) -> str | None:
    """The roster id of the person behind these platform ids, or None."""
    offered = {u for u in user_ids if u}
    for person_id, person in duty.people.items():
        theirs = {uid for key, uid in person.ids.items() if key == platform}
        if theirs & offered or (person.phone and person.phone in offered):
            return person_id
    return None


async def current_card(
    service: CardDesk, channel: str, incidents: list[Incident], base: Card | None = None
) -> Card:
    """The card for these incidents as they stand: their alert text, who did what, the
    buttons still open."""
    now = service.clock()
    language = service.outbox.language_of(channel)
    payloads = [await service.dispatch.payload(i, "opened", now) for i in incidents]
    message = compose(payloads, language, now=now, tz=service.dispatch.tz())
    return Card(
        title=message.subject if base is None else base.title,
        markdown=message.markdown if base is None else base.markdown,
        level=min(i.level for i in incidents),
        language=message.language,
        incidents=tuple(i.id for i in incidents),
        actions=actions_left(incidents),
        status=status_lines(incidents, message.language, service.dispatch.tz()),
    )


async def act(service: CardDesk, channel: str, click: Click) -> Outcome:
    language = service.outbox.language_of(channel)
    person_id = who_clicked(service.config.duty, click.platform, click.user_ids)
    if person_id is None:
        log.warning(
            "card click refused: %s user %s is not on the duty roster (action %s, incidents %s)",
            click.platform,
            "/".join(click.user_ids) or "?",
            click.action,
            ",".join(map(str, click.incidents)),
        )
        return Outcome(False, t("message.card.unknown_user", language), None)
    person = service.config.duty.people[person_id]
    name = person.name or person_id
    note = t("message.card.note", language, platform=click.platform)
    done: list[int] = []
    refused: list[str] = []
    for number in click.incidents:
        try:
            if click.action == "ack":
                await service.ack(number, name, note)
            elif click.action == "arrive":
                await service.arrive(number, name)
            elif click.action == "resolve":
                await service.resolve(number, name, note)
            else:
                refused.append(f"unknown action {click.action!r}")
                continue
            done.append(number)
        except IncidentError as exc:
            refused.append(str(exc))
    log.info(
        "card click: %s (%s on %s) %s incidents %s%s",
        name,
        "/".join(click.user_ids),
        click.platform,
        click.action,
        ",".join(map(str, done)) or "-",
        f"; refused: {'; '.join(refused)}" if refused else "",
    )
    incidents = []
    for number in click.incidents:
        try:
            incidents.append(await service.store.get(number))
        except NotFound:
            continue
    card = await current_card(service, channel, incidents) if incidents else None
    if done:
        toast = t(f"message.card.done.{click.action}", language, by=name)
    else:
        toast = "; ".join(refused)
    return Outcome(bool(done), toast, card)
