"""The desk's answer to a reporter's mail: the ticket number, the response target and the
follow link, queued in the outbox (kind `desk-reply`) on the mailbox's `reply_via` email
channel, so a dead mail server delays it and a restart never loses or doubles it. Its own
Message-ID is recorded, so the reporter's reply to it threads back to the ticket."""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import make_msgid
from typing import Any

from alerting import follow
from alerting.config import AlertingConfig
from alerting.messages import Message
from alerting.store import Incident, TicketStore
from core.i18n import t

REPLY_KIND = "desk-reply"


def follow_link(
    config: AlertingConfig, secrets: Mapping[str, str] | None, ticket: str
) -> str | None:
    link = config.desk.follow
    secret = (secrets or {}).get("secret")
    if link is None or not secret:
        return None
    return follow.make_link(link.base_url, secret, ticket)


def _domain(config: AlertingConfig, notifier: str) -> str | None:
    sender = str(getattr(config.notifier(notifier), "sender", "") or "")
    return sender.rpartition("@")[2] or None


async def queue_reply(
    store: TicketStore,
    config: AlertingConfig,
    incident: Incident,
    *,
    to: str,
    name: str | None,
    answering: str,
    link: str | None,
    noted: bool,
    now: float,
) -> str | None:
    """Queue the confirmation to `to` (answering the mail `answering`); returns its
    Message-ID, or None when the desk has no reply channel."""
    mailbox = config.desk.mailbox
    if mailbox is None or mailbox.reply_via is None:
        return None
    lang = config.language
    ticket = incident.ticket
    if noted:
        subject = t("message.desk_reply.noted", lang, ticket=ticket)
        lines = [t("message.desk_reply.noted_body", lang, ticket=ticket)]
    else:
        subject = t("message.desk_reply.subject", lang, ticket=ticket, title=incident.title)
        respond = int(config.sla_for(incident.level).respond // 60)
        lines = [
            t(
                "message.desk_reply.received",
                lang,
                ticket=ticket,
                level=incident.level,
                respond=respond,
            )
        ]
    if link:
        lines.append(t("message.desk_reply.follow", lang, link=link))
    lines.append(t("message.desk_reply.answer", lang, ticket=ticket))
    greeting = t("message.desk_reply.greeting", lang, name=name or to)
    text = "\n\n".join([greeting, *lines, "-- \n" + t("message.desk_reply.signature", lang)])
    message_id = make_msgid(idstring=ticket, domain=_domain(config, mailbox.reply_via))
    payload: dict[str, Any] = {
        "kind": REPLY_KIND,
        "incident": incident.id,
        "ticket": ticket,
        "subject": subject,
        "text": text,
        "language": lang,
        "message_id": message_id,
        "in_reply_to": answering,
        "ts": now,
    }
    await store.enqueue(
        incident_id=incident.id,
        notifier=mailbox.reply_via,
        kind=REPLY_KIND,
        dedup=f"{REPLY_KIND}:{answering}",
        group_key="",
        recipients={"people": [], "names": [name or to], "emails": [to], "only": True},
        payload=payload,
        now=now,
        due=now,
    )
    await store.record_mail(message_id, incident.id, "out", "reply", None, now)
    return message_id


def render_reply(item: Mapping[str, Any], recipients: Mapping[str, Any] | None = None) -> Message:
    """The Message of a queued reply (chosen by `alerting.compose`)."""
    subject = str(item.get("subject", ""))
    text = str(item.get("text", ""))
    return Message(
        kind=REPLY_KIND,
        level=3,
        language=str(item.get("language", "en")),
        subject=subject,
        text=text,
        markdown=text,
        short=subject,
        items=[dict(item)],
        recipients=dict(recipients or {}),
    )
