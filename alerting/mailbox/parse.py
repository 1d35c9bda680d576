"""One mail as the desk needs it, from its raw bytes: who sent it, what it is about, what it
says, what it answers (Message-ID, In-Reply-To, References) and what is attached. Pure.

Mail is whatever a sender's program made of it: a missing or broken header, a body in GBK or
with bytes that fit no charset, HTML only, a multipart maze, megabytes of attachment. Nothing
here raises on such a mail: a header that cannot be read is empty, text that cannot be decoded
is decoded with replacement characters, and the body kept is bounded (`BODY_LIMIT`)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses

BODY_LIMIT = 20_000  # characters of a mail body kept as a ticket's description or note
SUBJECT_LIMIT = 200
_MSGID = re.compile(r"<[^<>\s]+>")
_TAG = re.compile(r"<[^>]*>")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|答复|回复|转发)\s*[:：]\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int  # bytes, decoded


@dataclass(frozen=True)
class IncomingMail:
    message_id: str  # as sent, or a digest of the raw bytes when it had none
    subject: str
    sender_name: str | None
    sender: str | None  # the address, lower-cased; None when there is none to answer
    body: str
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    auto_reply: bool = False  # an out-of-office or bounce: never answered, never a ticket
    truncated: bool = False  # the mail was larger than the desk reads

    @property
    def thread(self) -> list[str]:
        """The Message-IDs this mail answers, the nearest first."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))

    @property
    def title(self) -> str:
        text = _REPLY_PREFIX.sub("", self.subject).strip()
        return text or "(no subject)"


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot make sense of: as if it were missing
        return ""
    if value is None:
        return ""
    try:
        return " ".join(str(value).split())
    except Exception:
        return ""


def _ids(text: str) -> list[str]:
    return _MSGID.findall(text)


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "gb18030"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def _plain(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", " ", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    return html.unescape(_TAG.sub("", text))


def _body_and_attachments(message: Message) -> tuple[str, list[Attachment]]:
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        content_type = part.get_content_type()
        if disposition == "attachment" or (filename and disposition != "inline"):
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            attachments.append(Attachment(str(filename or "(unnamed)"), content_type, size))
        elif content_type == "text/plain":
            plain.append(_text_of(part))
        elif content_type == "text/html":
            markup.append(_text_of(part))
    text = "\n".join(plain) if plain else _plain("\n".join(markup))
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip(), attachments


def parse_mail(raw: bytes, *, truncated: bool = False) -> IncomingMail:
    """Read one mail (RFC 5322 bytes). Never raises: garbage gives an empty mail whose
    Message-ID is the digest of its bytes."""
    try:
        message: Message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:
        message = EmailMessage()
    digest = "<sha256." + hashlib.sha256(raw).hexdigest()[:32] + "@roomwatch.invalid>"
    ids = _ids(_header(message, "Message-ID"))
    message_id = ids[0] if ids else digest
    subject = _decoded(_header(message, "Subject"))[:SUBJECT_LIMIT]
    name, address = None, None
    sender = _decoded(_header(message, "Reply-To") or _header(message, "From"))
    parsed = [(n, a) for n, a in getaddresses([sender]) if "@" in a]
    if parsed:
        name = parsed[0][0] or None
        address = parsed[0][1].strip().lower()
    try:
        body, attachments = _body_and_attachments(message)
    except Exception:
        body, attachments = "", []
    if len(body) > BODY_LIMIT:
        body, truncated = body[:BODY_LIMIT], True
    auto = _header(message, "Auto-Submitted").lower()
    automatic = (auto not in ("", "no")) or _header(message, "Precedence").lower() in (
        "bulk",
        "junk",
        "auto_reply",
    )
    if address and address.startswith(("mailer-daemon@", "postmaster@")):
        automatic = True
    return IncomingMail(
        message_id=message_id,
        subject=subject,
        sender_name=name,
        sender=address,
        body=body,
        in_reply_to=_ids(_header(message, "In-Reply-To")),
        references=_ids(_header(message, "References")),
        attachments=attachments,
        auto_reply=automatic,
        truncated=truncated,
    )


def _decoded(value: str) -> str:
    """A header with RFC 2047 encoded words (=?gb2312?B?…?=) as text."""
    try:
        return " ".join(str(make_header(decode_header(value))).split())
    except Exception:
        return value
