"""The desk's mailbox, polled: every mail not yet processed becomes a ticket (a new report) or
a note on the ticket it answers (In-Reply-To / References naming a mail of the desk, or the
ticket number in the subject), and the reporter gets a confirmation.

Order of work, so that nothing is lost and nothing opened twice: the mail is read (PEEK), the
ticket or note and the record of the mail's Message-ID are stored in one transaction, and only
then is the mail marked processed on the server. A crash or a lost connection in between
leaves the mail unmarked; taken again, its Message-ID is found in the store and it is only
marked. A mail the desk should not answer (an out-of-office, a bounce) is recorded and marked
without a ticket. The server going away costs a poll, logged once until it answers again."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from alerting import incidents, survey
from alerting.deskconfig import MailboxConfig
from alerting.mailbox.imap import ImapSession, MailboxError
from alerting.mailbox.parse import IncomingMail, parse_mail
from alerting.mailbox.reply import follow_link, queue_reply
from alerting.service import AlertService
from alerting.tickets import find_ticket

log = logging.getLogger("roomwatch.mailbox")

MAIL_ACTOR = "mail"


@dataclass
class IntakeStats:
    opened: int = 0
    noted: int = 0
    ignored: int = 0
    answered: int = 0  # satisfaction answers by mail
    duplicates: int = 0  # taken again after a crash or a lost flag: stored once, only marked
    polls: int = 0
    failures: int = 0
    failing: str | None = None  # why the mailbox cannot be read now

    def figures(self) -> dict[str, float]:
        return {
            "mail_tickets_opened": float(self.opened),
            "mail_notes_added": float(self.noted),
            "mail_ignored": float(self.ignored),
            "mail_survey_answers": float(self.answered),
            "mail_polls": float(self.polls),
            "mailbox_failures": float(self.failures),
            "mailbox_up": 0.0 if self.failing else 1.0,
        }


def level_for(mail: IncomingMail, config: MailboxConfig) -> int:
    for rule in config.levels:
        if rule.subject is not None and not re.search(rule.subject, mail.subject):
            continue
        if rule.sender is not None and not fnmatch.fnmatch(mail.sender or "", rule.sender.lower()):
            continue
        return rule.level
    return config.default_level


def description(mail: IncomingMail) -> str:
    parts = [mail.body or "(empty mail)"]
    if mail.truncated:
        parts.append("[the mail was larger than the desk reads; only part of it is kept]")
    if mail.attachments:
        listed = ", ".join(
            f"{a.filename} ({a.content_type}, {max(1, a.size // 1024)} KB)"
            for a in mail.attachments
        )
        parts.append(f"Attachments (kept in the mailbox): {listed}")
    return "\n\n".join(parts)


@dataclass
class MailIntake:
    service: AlertService
    config: MailboxConfig
    username: str
    password: str = field(repr=False)
    session_factory: Callable[[], ImapSession] | None = None
    stats: IntakeStats = field(default_factory=IntakeStats)

    def __post_init__(self) -> None:
        factory = self.session_factory or (
            lambda: ImapSession(
                self.config.host,
                self.config.effective_port,
                self.config.security,
                self.username,
                self.password,
                cafile=self.config.cafile,
                timeout=self.config.timeout,
                folder=self.config.folder,
            )
        )
        self._session = factory()

    async def close(self) -> None:
        await asyncio.to_thread(self._session.close)

    async def poll(self) -> int:
        """Take in every unprocessed mail; returns how many were processed. Never raises for
        the mailbox's sake (the reason is kept in `stats.failing`, logged once)."""
        self.stats.polls += 1
        done = 0
        try:
            for uid in await asyncio.to_thread(self._session.pending):
                fetched = await asyncio.to_thread(self._session.fetch, uid, self.config.max_bytes)
                await self._take(parse_mail(fetched.raw, truncated=fetched.truncated))
                await asyncio.to_thread(self._session.mark_done, uid)
                done += 1
        except MailboxError as exc:
            self.stats.failures += 1
            if self.stats.failing is None:
                log.warning("desk mailbox unreadable, retrying every poll: %s", exc)
            self.stats.failing = str(exc)
            return done
        if self.stats.failing is not None:
            log.info("desk mailbox readable again")
            self.stats.failing = None
        return done

    async def run(self, stop: asyncio.Event, may_poll: Callable[[], bool] = lambda: True) -> None:
        """Poll until `stop` is set (the daemon's task); `may_poll` says whether this
        collector is the one to (the desk lease's holder)."""
        while not stop.is_set():
            try:
                if may_poll():
                    await self.poll()
            except Exception:  # the store away or a bug: the mail stays unmarked, tried again
                log.exception("desk mailbox poll failed; the mail is kept for the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.poll)
        await self.close()

    async def _take(self, mail: IncomingMail) -> None:
        service = self.service
        store = service.store
        now = service.clock()
        async with store.transaction():
            # claim the mail first: a second collector (or this one again after a crash)
            # taking the same mail finds the claim and only marks it processed
            claimed = await store.record_mail(
                mail.message_id, None, "in", "ignored", mail.sender, now
            )
            if not claimed:
                self.stats.duplicates += 1
                return
            if mail.auto_reply or mail.sender is None:
                self.stats.ignored += 1
                return
            target = await store.mail_thread(mail.thread)
            if target is None:
                number = find_ticket(mail.subject, service.config.desk.ticket_prefix)
                found = await store.find_ticket(number) if number else None
                target = found.id if found else None
            link_secrets = self._follow_secrets()
            # Only the reporter may answer the survey or be sent the ticket's follow link: a
            # ticket number in a subject is no proof (numbers are sequential), and the link
            # opens the ticket's page and its survey to whoever holds it.
            reporter = target is None or await self._from_reporter(mail, target)
            if not reporter:
                link_secrets = None
            if reporter and target is not None and await self._survey_answer(mail, target, now):
                await store.settle_mail(mail.message_id, target, "survey")
                self.stats.answered += 1
                return
            if target is not None:
                author = mail.sender_name or mail.sender
                # shown on the reporter's page only when it is their own words: anyone can
                # mail a ticket number, and must not write on another reporter's page
                text = description(mail)
                await incidents.add_note(store, target, author, text, now, public=reporter)
                await store.settle_mail(mail.message_id, target, "note")
                incident = await store.get(target)
                self.stats.noted += 1
                noted = True
            else:
                incident = await service.open_ticket(
                    MAIL_ACTOR,
                    title=mail.title,
                    level=level_for(mail, self.config),
                    reporter=mail.sender_name or mail.sender,
                    contact=mail.sender,
                    description=description(mail),
                    source="mail",
                )
                await store.record_mail(
                    mail.message_id, incident.id, "in", "opened", mail.sender, now
                )
                self.stats.opened += 1
                noted = False
            await queue_reply(
                store,
                service.config,
                incident,
                to=mail.sender,
                name=mail.sender_name,
                answering=mail.message_id,
                link=follow_link(service.config, link_secrets, incident.ticket),
                noted=noted,
                now=now,
            )

    async def _from_reporter(self, mail: IncomingMail, target: int) -> bool:
        contact = (await self.service.store.get(target)).contact
        return contact is not None and contact.strip().lower() == mail.sender

    async def _survey_answer(self, mail: IncomingMail, target: int, now: float) -> bool:
        """A reply to the satisfaction question: 1–5 on its first line."""
        store = self.service.store
        if not any(s.answered_at is None for s in await store.surveys(target)):
            return False
        parsed = survey.parse_answer(mail.body)
        if parsed is None:
            return False
        score, comment = parsed
        return await survey.answer(store, await store.get(target), score, comment, "mail", now)

    def _follow_secrets(self) -> dict[str, str] | None:
        follow = self.service.config.desk.follow
        if follow is None:
            return None
        try:
            return self.service.credentials.entry(follow.credentials)
        except KeyError:
            return None
