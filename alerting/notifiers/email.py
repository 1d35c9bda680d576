"""The email channel: SMTP with STARTTLS, implicit TLS or plain, and optional login.

    - type: email
      name: mail
      host: smtp.example.org
      port: 587
      security: starttls             # starttls | tls (port 465) | none
      credentials: smtp              # entry: username, password (omit for no login)
      sender: roomwatch@example.org
      to: [noc@example.org]

smtplib is blocking, so each send runs in a thread. Recipients: the channel's `to` plus the
addresses of the people being told (resolved when the notification was queued). The
credentials entry, when named, holds `username` and `password`."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Literal

from pydantic import Field

from alerting.messages import Message
from alerting.notifiers.base import Contact, DeliveryError, Notifier, NotifierSettings


class EmailSettings(NotifierSettings):
    """SMTP. `credentials` names an entry with `username` and `password` (optional: no auth)."""

    type: Literal["email"]
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)  # 587 starttls, 465 tls, 25 none
    security: Literal["starttls", "tls", "none"] = "starttls"
    sender: str
    to: list[str] = Field(default_factory=list)  # always told, besides the people on duty
    verify_tls: bool = True  # off only for a lab relay with a self-signed certificate
    ca_file: str | None = None  # trust this CA (PEM) instead of the system's, e.g. a site CA

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"starttls": 587, "tls": 465, "none": 25}[self.security]


class EmailNotifier(Notifier):
    settings = EmailSettings
    config: EmailSettings

    @classmethod
    def addresses(
        cls, config: EmailSettings, people: Sequence[Contact]
    ) -> dict[str, list[str]] | None:
        # the people's mail addresses; a channel with neither those nor its own `to` list
        # has nobody to send to
        emails = [p.email for p in people if p.email]
        if not (config.to or emails):
            return None
        return {"emails": emails}

    def __init__(self, config: EmailSettings, secrets: dict[str, str], state_dir: Path) -> None:
        super().__init__(config, secrets, state_dir)
        if config.credentials and not (secrets.get("username") and secrets.get("password")):
            raise ValueError(
                f"notifier {config.id!r}: credentials entry {config.credentials!r} needs"
                " username and password"
            )

    def build(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.config.sender
        mail["To"] = ", ".join(self.recipients(message))
        ts = next((i.get("ts") for i in message.items if i.get("ts")), None)
        mail["Date"] = formatdate(ts, localtime=False) if ts else formatdate()
        own = next((i.get("message_id") for i in message.items if i.get("message_id")), None)
        mail["Message-ID"] = own or make_msgid(domain=self.config.sender.rpartition("@")[2] or None)
        answering = next(
            (i.get("in_reply_to") for i in message.items if i.get("in_reply_to")), None
        )
        if answering:  # the desk's reply to a reporter: their mail program threads it
            mail["In-Reply-To"] = answering
            mail["References"] = answering
        ids = [str(i.get("incident")) for i in message.items if i.get("incident")]
        if ids:
            mail["X-Roomwatch-Incidents"] = ",".join(ids)
        mail["X-Roomwatch-Level"] = str(message.level)
        mail.set_content(message.text)
        return mail

    def recipients(self, message: Message) -> list[str]:
        emails = message.recipients.get("emails") or []
        if message.recipients.get("only"):  # a reply to a reporter goes to them alone
            return list(dict.fromkeys(emails))
        return list(dict.fromkeys([*self.config.to, *emails]))

    async def send(self, message: Message) -> None:
        to = self.recipients(message)
        if not to:
            raise DeliveryError(f"{self.name}: no recipient address", retryable=False)
        mail = self.build(message)
        await asyncio.to_thread(self._send_blocking, mail, to)

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.config.ca_file)
        if not self.config.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _send_blocking(self, mail: EmailMessage, to: list[str]) -> None:
        host, port, timeout = self.config.host, self.config.effective_port, self.config.timeout
        where = f"{self.name}: SMTP {host}:{port}"
        try:
            smtp: smtplib.SMTP
            if self.config.security == "tls":
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=self._tls())
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            with smtp:
                smtp.ehlo()
                if self.config.security == "starttls":
                    smtp.starttls(context=self._tls())
                    smtp.ehlo()
                if self.config.credentials:
                    smtp.login(self._secrets["username"], self._secrets["password"])
                smtp.send_message(mail, from_addr=self.config.sender, to_addrs=to)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{where}: login refused ({exc.smtp_code})", retryable=False
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{where}: {exc}", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            retryable = all(400 <= c < 500 for c in codes)
            raise DeliveryError(
                f"{where}: recipients refused {codes}", retryable=retryable
            ) from None
        except smtplib.SMTPResponseException as exc:
            retryable = not (500 <= exc.smtp_code < 600)
            raise DeliveryError(
                f"{where}: server said {exc.smtp_code}", retryable=retryable
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"{where}: TLS certificate rejected: {exc.verify_message}", retryable=False
            ) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            reason = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
            raise DeliveryError(f"{where}: {reason}", retryable=True) from None
