"""The `alerting.desk:` section: the people's side of the service desk — ticket numbers, the
desk's mailbox (mail in → tickets and notes, replies out), and the reporter's follow link.

    alerting:
      desk:
        ticket_prefix: RW               # tickets read RW-2026-000123
        follow:
          base_url: https://desk.example.org    # the API's address as reporters reach it
          credentials: desk-links       # entry with `secret`: the key that signs follow links
        mailbox:
          host: imap.example.org
          port: 993
          security: tls                 # tls (IMAPS) | starttls
          credentials: desk-mailbox     # entry with username / password
          folder: INBOX
          poll: 1m
          reply_via: mail               # an email channel: the reporter's confirmation
          levels:                       # the first match sets a new ticket's level (else 3)
            - {subject: "(?i)urgent|紧急", level: 1}
            - {sender: "*@finance.example.org", level: 2}
          max_bytes: 10MB               # a bigger mail becomes a ticket from its headers
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.durations import Duration

_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|MB)?\s*$", re.IGNORECASE)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LevelRule(_Model):
    """A new mail's level: `subject` a regular expression, `sender` a glob of the address."""

    subject: str | None = None
    sender: str | None = None
    level: Literal[1, 2, 3]

    @field_validator("subject")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression ({exc})") from None
        return value


class MailboxConfig(_Model):
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["tls", "starttls"] = "tls"  # never plain: the password travels
    credentials: str  # entry with username / password
    cafile: str | None = None  # a private CA's certificate (default: the system's)
    folder: str = "INBOX"
    poll: Duration = Field(default=60.0, gt=0)
    timeout: Duration = Field(default=30.0, gt=0)
    reply_via: str | None = None  # an email notifier; None: no confirmation mail
    levels: list[LevelRule] = []
    default_level: Literal[1, 2, 3] = 3
    max_bytes: int = 10 * 1024 * 1024

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        if isinstance(value, str):
            match = _SIZE.match(value)
            if not match:
                raise ValueError("write a size such as 10MB, 512KB or 100000")
            unit = (match.group(2) or "B").upper()
            return int(match.group(1)) * {"B": 1, "KB": 1024, "MB": 1024 * 1024}[unit]
        return value

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)


class FollowConfig(_Model):
    """The reporter's follow link (`{base_url}/follow/{ticket}?sig=…`), served by the API."""

    base_url: str
    credentials: str  # entry with `secret`


class DeskConfig(_Model):
    ticket_prefix: str = Field(default="RW", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    follow: FollowConfig | None = None
    mailbox: MailboxConfig | None = None
    survey: bool = True  # ask reporters how satisfied they were when a ticket is resolved
