"""The desk's mailbox against a real Dovecot (IMAPS on loopback, its certificate verified)
and the confirmations through a real SMTP sink (aiosmtpd): a new mail opens a ticket and the
reporter is answered with its number and follow link; a reply (In-Reply-To, or the number in
the subject) is a note; garbage, a huge mail, an attachment, GBK text; a crash between storing
and marking takes nothing twice; the IMAP server going away and coming back loses nothing."""

from __future__ import annotations

import email
import email.policy
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from alerting import follow
from alerting.config import AlertingConfig
from alerting.mailbox.imap import DONE, ImapSession
from alerting.mailbox.intake import MailIntake
from alerting.service import AlertService
from inventory.credentials import Credentials
from tests.fixtures.dovecot import PASSWORD, USER, DovecotServer
from tests.fixtures.ops_daemon import start_daemon, stop_daemon, write_config
from tests.fixtures.peers import REPO, free_port
from tests.unit.alerting_helpers import Clock, inventory

pytestmark = pytest.mark.integration

FOLLOW_SECRET = "follow-secret-for-tests"  # test only


@pytest.fixture(autouse=True)
def daemon_sigpipe() -> Iterator[None]:
    """As in the daemon (`Daemon.run`): a write to a server that went away is an error, not
    SIGPIPE (the CLI's tests in this process set it to kill, as `roomwatch list | head` wants)."""
    before = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGPIPE, before)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    server = DovecotServer()
    server.start()
    yield server
    server.close()


@dataclass
class Sink:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@dataclass
class Desk:
    service: AlertService
    intake: MailIntake
    clock: Clock
    sink: Sink


def _config(tmp_path: Path, dovecot: DovecotServer, smtp_port: int) -> AlertingConfig:
    return AlertingConfig.model_validate(
        {
            "language": "en",
            "group": {"wait": "0s"},
            "notifiers": [
                {"type": "file", "path": str(tmp_path / "alerts.jsonl")},
                {
                    "type": "email",
                    "name": "mail",
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "security": "none",
                    "sender": "desk@example.org",
                    "levels": [],
                },
            ],
            "desk": {
                "follow": {"base_url": "https://desk.example.org", "credentials": "links"},
                "mailbox": {
                    "host": "127.0.0.1",
                    "port": dovecot.imaps_port,
                    "security": "tls",
                    "credentials": "mailbox",
                    "cafile": str(dovecot.cert),
                    "reply_via": "mail",
                    "levels": [{"subject": "(?i)urgent|紧急", "level": 1}],
                    "max_bytes": "200KB",
                },
            },
        }
    )


@pytest.fixture
async def desk(
    tmp_path: Path, dovecot: DovecotServer, smtp: tuple[Sink, int]
) -> AsyncIterator[Desk]:
    sink, port = smtp
    clock = Clock()
    credentials = Credentials(
        {"mailbox": {"username": USER, "password": PASSWORD}, "links": {"secret": FOLLOW_SECRET}}
    )
    config = _config(tmp_path, dovecot, port)
    service = await AlertService.open(
        config,
        f"sqlite:///{tmp_path / 'tickets.db'}",
        inventory(),
        credentials,
        clock,
        state_dir=tmp_path,
    )
    service.delivery_budget = None
    assert config.desk.mailbox is not None
    intake = MailIntake(service, config.desk.mailbox, USER, PASSWORD)
    try:
        yield Desk(service, intake, clock, sink)
    finally:
        await intake.close()
        await service.close()
    # leave the shared mailbox empty for the next test
    with dovecot.client() as imap:
        _, count = imap.select("INBOX")
        if count and count[0] not in (b"0", None):
            imap.store("1:*", "+FLAGS", r"(\Deleted)")
            imap.expunge()


def mail(
    subject: str,
    body: str = "The printer in room 3 is offline since 9:00.",
    sender: str = "Zhou Min <zhou@example.org>",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "desk@example.org"
    message["Subject"] = subject
    message["Message-ID"] = email.utils.make_msgid(domain="example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


async def test_a_new_mail_opens_a_ticket_and_the_reporter_gets_its_number(
    desk: Desk, dovecot: DovecotServer
) -> None:
    original = mail("URGENT: finance printer offline")
    dovecot.deliver(original.as_bytes())
    assert await desk.intake.poll() == 1
    [ticket] = await desk.service.store.list_incidents()
    assert (ticket.title, ticket.level, ticket.source) == (
        "URGENT: finance printer offline",
        1,
        "mail",
    )
    assert (ticket.reporter, ticket.contact) == ("Zhou Min", "zhou@example.org")
    assert "offline since 9:00" in (ticket.description or "")
    assert all(DONE in f and "\\Seen" in f for f in dovecot.flags())
    await desk.service.tick()  # the outbox: the confirmation goes out
    [reply] = desk.sink.messages
    assert reply["To"] == "zhou@example.org"  # the reporter alone, not the channel's list
    assert ticket.ticket in reply["Subject"]
    assert reply["In-Reply-To"] == original["Message-ID"]
    text = reply.get_content()
    link = follow.make_link("https://desk.example.org", FOLLOW_SECRET, ticket.ticket)
    assert link in text and "within 5 minutes" in text
    # polled again: nothing new, nothing twice
    assert await desk.intake.poll() == 0
    assert len(await desk.service.store.list_incidents()) == 1


async def test_a_reply_becomes_a_note_by_thread_or_by_ticket_number(
    desk: Desk, dovecot: DovecotServer
) -> None:
    dovecot.deliver(mail("Portal slow").as_bytes())
    await desk.intake.poll()
    await desk.service.tick()
    [ticket] = await desk.service.store.list_incidents()
    [confirmation] = desk.sink.messages
    answer = mail(
        "Re: " + str(confirmation["Subject"]),
        body="It is slow for everyone on floor 2 as well.",
        In_Reply_To=str(confirmation["Message-ID"]),
        References=str(confirmation["Message-ID"]),
    )
    dovecot.deliver(answer.as_bytes())
    by_number = mail(f"About {ticket.ticket}", body="Now it times out.", sender="li@example.org")
    dovecot.deliver(by_number.as_bytes())
    assert await desk.intake.poll() == 2, desk.intake.stats
    assert [i.id for i in await desk.service.store.list_incidents()] == [ticket.id]
    notes = [(n.author, n.text) for n in await desk.service.store.notes(ticket.id)]
    assert ("Zhou Min", "It is slow for everyone on floor 2 as well.") in notes
    assert ("li@example.org", "Now it times out.") in notes


async def test_garbage_huge_attached_and_gbk_mail(desk: Desk, dovecot: DovecotServer) -> None:
    dovecot.deliver(b"\x00\xff\xfe garbage that is no mail at all \r\n\r\n\x80\x81")
    huge = mail("Logs attached inline", body="x" * 400_000)
    dovecot.deliver(huge.as_bytes())
    attached = mail("Screenshot of the error")
    attached.add_attachment(
        b"\x89PNG fake image", maintype="image", subtype="png", filename="error.png"
    )
    dovecot.deliver(attached.as_bytes())
    # as an older Chinese mail program sends it: GB2312 headers, a raw 8-bit GBK body
    gbk = (
        f"From: {Header('王工', 'gb2312').encode()} <wang@example.cn>\r\n"
        f"Subject: {Header('机房空调告警', 'gb2312').encode()}\r\n"
        "Message-ID: <gbk-1@example.cn>\r\n"
        "Content-Type: text/plain; charset=gbk\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + "二号机房空调不制冷。\r\n".encode("gbk")
    dovecot.deliver(gbk)
    assert await desk.intake.poll() == 4
    tickets = {i.title: i for i in await desk.service.store.list_incidents()}
    # the garbage had no sender: recorded and marked, never a ticket nobody can be told about
    assert set(tickets) == {"Logs attached inline", "Screenshot of the error", "机房空调告警"}
    assert "larger than the desk reads" in (tickets["Logs attached inline"].description or "")
    assert "error.png (image/png" in (tickets["Screenshot of the error"].description or "")
    cn = tickets["机房空调告警"]
    assert cn.reporter == "王工" and "二号机房空调不制冷。" in (cn.description or "")
    assert all(DONE in f for f in dovecot.flags())


class Killed(Exception):
    """Stands for the process dying (a real KeyboardInterrupt would stop the test run)."""


class CrashOnce(ImapSession):
    """The process dies right after the ticket was stored, before the mail is marked."""

    crashed = False

    def mark_done(self, uid: str) -> None:
        if not CrashOnce.crashed:
            CrashOnce.crashed = True
            raise Killed("killed before marking")
        super().mark_done(uid)


async def test_a_crash_between_storing_and_marking_opens_nothing_twice(
    desk: Desk, dovecot: DovecotServer
) -> None:
    config = desk.intake.config
    crashing = MailIntake(
        desk.service,
        config,
        USER,
        PASSWORD,
        session_factory=lambda: CrashOnce(
            config.host,
            config.effective_port,
            config.security,
            USER,
            PASSWORD,
            cafile=config.cafile,
        ),
    )
    dovecot.deliver(mail("UPS alarm beeping").as_bytes())
    with pytest.raises(Killed):
        await crashing.poll()
    await crashing.close()
    assert not any(DONE in f for f in dovecot.flags())  # not marked: it is taken again
    assert await desk.intake.poll() == 1  # the restarted desk
    assert len(await desk.service.store.list_incidents()) == 1
    assert desk.intake.stats.duplicates == 1
    assert all(DONE in f for f in dovecot.flags())


async def test_the_imap_server_going_away_and_back_loses_nothing(
    desk: Desk, dovecot: DovecotServer
) -> None:
    dovecot.deliver(mail("Before the outage").as_bytes())
    assert await desk.intake.poll() == 1
    dovecot.stop()
    try:
        assert await desk.intake.poll() == 0
        assert desk.intake.stats.failing is not None
        assert desk.service.stats()["alert_outbox_pending"] >= 0
    finally:
        dovecot.start()
    dovecot.deliver(mail("After the outage").as_bytes())
    assert await desk.intake.poll() == 1
    assert desk.intake.stats.failing is None
    titles = sorted(i.title for i in await desk.service.store.list_incidents())
    assert titles == ["After the outage", "Before the outage"]


async def test_a_wrong_password_or_an_untrusted_certificate_is_said_not_hidden(
    desk: Desk, dovecot: DovecotServer, tmp_path: Path
) -> None:
    config = desk.intake.config
    wrong = MailIntake(desk.service, config, USER, "not-the-password")
    assert await wrong.poll() == 0
    assert "login refused" in (wrong.stats.failing or "")
    assert "not-the-password" not in (wrong.stats.failing or "") + repr(wrong)
    untrusting = MailIntake(
        desk.service, config.model_copy(update={"cafile": None}), USER, PASSWORD
    )
    assert await untrusting.poll() == 0
    assert "not trusted" in (untrusting.stats.failing or "")


async def test_the_satisfaction_question_is_answered_by_mail(
    desk: Desk, dovecot: DovecotServer
) -> None:
    dovecot.deliver(mail("Scanner offline").as_bytes())
    await desk.intake.poll()
    [ticket] = await desk.service.store.list_incidents()
    await desk.service.resolve(ticket.id, "li")
    await desk.service.tick()
    question = next(m for m in desk.sink.messages if "how satisfied" in str(m["Subject"]))
    assert question["To"] == "zhou@example.org"
    assert "#survey" in question.get_content()
    answer = mail(
        "Re: " + str(question["Subject"]),
        body="4 - fixed within the hour\n\n> How satisfied are you ...",
        In_Reply_To=str(question["Message-ID"]),
    )
    dovecot.deliver(answer.as_bytes())
    assert await desk.intake.poll() == 1
    [survey] = await desk.service.store.surveys(ticket.id)
    assert (survey.score, survey.comment, survey.via) == (4, "fixed within the hour", "mail")
    assert await desk.service.store.notes(ticket.id) == [
        n for n in await desk.service.store.notes(ticket.id) if "fixed within" not in n.text
    ]


def _tickets(config: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "collector.cli", "incidents", "list", "--json", "-c", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _wait(check: Any, what: str, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_daemon_takes_mail_in_and_outlives_the_imap_server_going_away(
    tmp_path: Path, dovecot: DovecotServer, smtp: tuple[Sink, int]
) -> None:
    """`roomwatch run` with a desk mailbox: mail in → ticket and confirmation; the IMAP server
    killed under it and started again: the daemon keeps running (no SIGPIPE) and takes the
    mail that came meanwhile."""
    sink, smtp_port = smtp
    files = write_config(
        tmp_path,
        "devices: []\n",
        "{enabled: false}",
        credentials={"mailbox": {"username": USER, "password": PASSWORD}},
        extra=(
            f"    - {{type: email, name: mail, host: 127.0.0.1, port: {smtp_port},"
            " security: none, sender: desk@example.org, levels: []}\n"
            "  desk:\n"
            f"    mailbox: {{host: 127.0.0.1, port: {dovecot.imaps_port}, security: tls,"
            f" credentials: mailbox, cafile: {dovecot.cert}, reply_via: mail, poll: 1s}}\n"
        ),
    )
    proc = start_daemon(files)
    try:
        dovecot.deliver(mail("Meeting room projector dead").as_bytes())
        _wait(lambda: len(_tickets(files.config)) == 1, "the mailed ticket")
        [ticket] = _tickets(files.config)
        assert (ticket["source"], ticket["reporter"]) == ("mail", "Zhou Min")
        _wait(lambda: any(ticket["ticket"] in str(m["Subject"]) for m in sink.messages), "reply")
        dovecot.stop()
        time.sleep(3)  # a few polls against a server that is gone
        assert proc.poll() is None, "the daemon died when the IMAP server went away"
        dovecot.start()
        dovecot.deliver(mail("Second floor printer jammed").as_bytes())
        _wait(lambda: len(_tickets(files.config)) == 2, "the mail after the outage")
        assert proc.poll() is None
    finally:
        code = stop_daemon(proc)
    assert code == 0
    log = files.log.read_text(encoding="utf-8")
    assert log.count("desk mailbox unreadable") == 1  # said once per outage, not every poll
    assert "desk mailbox readable again" in log
    assert PASSWORD not in log


async def test_a_stranger_naming_a_ticket_number_gets_neither_its_link_nor_its_survey(
    desk: Desk, dovecot: DovecotServer
) -> None:
    """Ticket numbers are sequential: a mail from anyone with `RW-…` in its subject used to be
    answered with that ticket's follow link (its page, its survey) and could answer the
    survey. Only the reporter's own address gets the link or answers."""
    dovecot.deliver(mail("Badge reader dead").as_bytes())
    await desk.intake.poll()
    [ticket] = await desk.service.store.list_incidents()
    await desk.service.resolve(ticket.id, "li")
    await desk.service.tick()
    desk.sink.messages.clear()
    link = follow.make_link("https://desk.example.org", FOLLOW_SECRET, ticket.ticket)
    stranger = "Mallory <mallory@elsewhere.example>"
    dovecot.deliver(mail(f"Re: {ticket.ticket}", body="1 terrible", sender=stranger).as_bytes())
    assert await desk.intake.poll() == 1
    await desk.service.tick()
    [answer] = desk.sink.messages
    assert answer["To"] == "mallory@elsewhere.example"
    assert link not in answer.get_content()
    [survey] = await desk.service.store.surveys(ticket.id)
    assert survey.answered_at is None  # still the reporter's to answer
    [note] = [n for n in await desk.service.store.notes(ticket.id) if "terrible" in n.text]
    assert not note.public  # kept for the desk, not written on the reporter's page
    # the reporter naming the number is still answered with the link, and may answer
    desk.sink.messages.clear()
    dovecot.deliver(mail(f"Re: {ticket.ticket}", body="5 thanks").as_bytes())
    assert await desk.intake.poll() == 1
    [survey] = await desk.service.store.surveys(ticket.id)
    assert (survey.score, survey.via) == (5, "mail")
