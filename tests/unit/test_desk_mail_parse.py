"""Reading a mail as the desk needs it, from bytes that may be anything (pure)."""

from __future__ import annotations

import random

from alerting.deskconfig import MailboxConfig
from alerting.mailbox.intake import level_for
from alerting.mailbox.parse import BODY_LIMIT, parse_mail

PLAIN = (
    b"From: Zhou Min <Zhou@Example.org>\r\nSubject: Re: AW: [RW-2026-000007] printer\r\n"
    b"Message-ID: <m2@example.org>\r\nIn-Reply-To: <m1@desk>\r\n"
    b"References: <m0@desk> <m1@desk>\r\n\r\nstill broken\r\n"
)


def test_a_reply_names_its_thread_nearest_first_and_its_sender() -> None:
    mail = parse_mail(PLAIN)
    assert (mail.message_id, mail.sender, mail.sender_name) == (
        "<m2@example.org>",
        "zhou@example.org",
        "Zhou Min",
    )
    assert mail.thread == ["<m1@desk>", "<m0@desk>"]
    assert mail.title == "[RW-2026-000007] printer" and mail.body == "still broken"


def test_any_bytes_give_a_mail_and_never_an_exception() -> None:
    rng = random.Random(16)
    for _ in range(300):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400)))
        mail = parse_mail(raw)
        assert mail.message_id.startswith("<")
    assert parse_mail(b"").sender is None


def test_html_only_mail_is_read_as_text_and_a_long_body_is_cut() -> None:
    raw = (
        b"From: a@b.c\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><style>p{}</style><p>Disk &amp; fan</p><br>failing</html>"
    )
    assert parse_mail(raw).body == "Disk & fan\n\nfailing"
    long = b"From: a@b.c\r\n\r\n" + b"y" * (BODY_LIMIT + 10)
    mail = parse_mail(long)
    assert len(mail.body) == BODY_LIMIT and mail.truncated


def test_out_of_office_and_bounces_are_not_reporters() -> None:
    ooo = b"From: a@b.c\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\naway"
    bounce = b"From: MAILER-DAEMON@b.c\r\nSubject: Undelivered\r\n\r\nno"
    assert parse_mail(ooo).auto_reply and parse_mail(bounce).auto_reply
    assert not parse_mail(PLAIN).auto_reply


def test_the_first_matching_rule_sets_the_level() -> None:
    config = MailboxConfig.model_validate(
        {
            "host": "imap.example.org",
            "credentials": "m",
            "levels": [
                {"subject": "(?i)urgent|紧急", "level": 1},
                {"sender": "*@finance.example.org", "level": 2},
            ],
        }
    )
    assert level_for(parse_mail(b"From: x@y.z\r\nSubject: URGENT\r\n\r\n"), config) == 1
    assert level_for(parse_mail(b"From: p@finance.example.org\r\n\r\n"), config) == 2
    assert level_for(parse_mail(b"From: p@other.org\r\n\r\n"), config) == 3
    assert config.max_bytes == 10 * 1024 * 1024
