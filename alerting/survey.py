"""Asking the reporter how satisfied they were (满意度调查): when a ticket people reported is
resolved, one question per resolved occurrence, by mail (reply with 1–5 and a comment) and on
the follow page; the monthly report counts the answers per level and the response rate.

The question and the answer are in the audit log too (`survey-asked`, `survey-answered`),
so the report can be recomputed from it."""

from __future__ import annotations

import re
from email.utils import make_msgid

from alerting.config import AlertingConfig
from alerting.mailbox.reply import REPLY_KIND, follow_link
from alerting.store import Incident, TicketStore
from core.i18n import t
from inventory.credentials import Credentials

SCORES = (1, 2, 3, 4, 5)
_SCORE = re.compile(r"^\s*([1-5])(?:\s*(?:/\s*5|分|points?))?(?![0-9])\s*[-–:,.，。：]?\s*(.*)$")


def parse_answer(body: str) -> tuple[int, str | None] | None:
    """A mailed answer: the first line that says anything starts with 1–5; the rest of the
    mail up to the quoted original is the comment. None: not an answer."""
    lines = [line for line in body.splitlines() if line.strip()]
    if not lines:
        return None
    match = _SCORE.match(lines[0])
    if match is None:
        return None
    rest = [match.group(2).strip(), *lines[1:]]
    comment: list[str] = []
    for line in rest:
        if line.startswith(">") or re.match(r"^(On .* wrote:|-- ?$|在.*写道)", line):
            break
        if line:
            comment.append(line.strip())
    return int(match.group(1)), " ".join(comment) or None


def _secrets(config: AlertingConfig, credentials: Credentials) -> dict[str, str] | None:
    if config.desk.follow is None:
        return None
    try:
        return credentials.entry(config.desk.follow.credentials)
    except KeyError:
        return None


async def ask(
    store: TicketStore,
    config: AlertingConfig,
    credentials: Credentials,
    incident: Incident,
    now: float,
) -> bool:
    """Ask about this resolved occurrence of a reported ticket (once). True when asked now."""
    if not config.desk.survey or not incident.from_people or incident.state != "resolved":
        return False
    occurrence = incident.occurrences
    if not await store.ask_survey(incident.id, occurrence, now):
        return False
    await store.audit(incident.id, now, "system", "survey-asked", {"occurrence": occurrence})
    mailbox = config.desk.mailbox
    to = incident.contact if incident.contact and "@" in incident.contact else None
    if to is None or mailbox is None or mailbox.reply_via is None:
        return True  # asked on the follow page only (a phone call is the desk's to make)
    lang = config.language
    link = follow_link(config, _secrets(config, credentials), incident.ticket)
    lines = [
        t("message.desk_reply.greeting", lang, name=incident.reporter or to),
        t("message.survey.body", lang, ticket=incident.ticket, title=incident.title),
        t("message.survey.how", lang),
    ]
    if link:
        lines.append(t("message.survey.page", lang, link=link + "#survey"))
    lines.append("-- \n" + t("message.desk_reply.signature", lang))
    sender = str(getattr(config.notifier(mailbox.reply_via), "sender", "") or "")
    message_id = make_msgid(
        idstring=f"{incident.ticket}.survey", domain=sender.rpartition("@")[2] or None
    )
    await store.enqueue(
        incident_id=incident.id,
        notifier=mailbox.reply_via,
        kind=REPLY_KIND,
        dedup=f"survey:{incident.id}:{occurrence}",
        group_key="",
        recipients={"people": [], "names": [incident.reporter or to], "emails": [to], "only": True},
        payload={
            "kind": REPLY_KIND,
            "incident": incident.id,
            "ticket": incident.ticket,
            "subject": t("message.survey.subject", lang, ticket=incident.ticket),
            "text": "\n\n".join(lines),
            "language": lang,
            "message_id": message_id,
            "ts": now,
        },
        now=now,
        due=now,
    )
    await store.record_mail(message_id, incident.id, "out", "survey", None, now)
    return True


async def answer(
    store: TicketStore,
    incident: Incident,
    score: int,
    comment: str | None,
    via: str,
    now: float,
    occurrence: int | None = None,
) -> bool:
    """Record the reporter's answer to the open question (the latest occurrence's unless
    given). False when nothing was asked, or it was answered already."""
    if score not in SCORES:
        raise ValueError("the score is 1 (very unhappy) to 5 (very satisfied)")
    asked = [s for s in await store.surveys(incident.id) if s.answered_at is None]
    if occurrence is not None:
        asked = [s for s in asked if s.occurrence == occurrence]
    if not asked:
        return False
    chosen = asked[-1].occurrence
    if comment is not None:
        comment = comment.strip()[:2000] or None
    if not await store.answer_survey(incident.id, chosen, score, comment, via, now):
        return False
    await store.audit(
        incident.id,
        now,
        incident.reporter or "reporter",
        "survey-answered",
        {"occurrence": chosen, "score": score, "via": via, "comment": comment},
    )
    return True
