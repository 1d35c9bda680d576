"""The desk's IMAP session: imaplib (blocking, so every call runs in a worker thread), over
TLS (IMAPS, or STARTTLS on the plain port) with the server's certificate verified, logging in
with the mailbox's credentials entry.

A mail is "processed" once it carries the keyword `$RoomwatchDone` (and \\Seen, for a person
looking at the same mailbox): the intake sets both only after the ticket or note is stored, so
a crash in between leaves the mail to be taken again, and the store's record of its
Message-ID keeps it from opening a second ticket."""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DONE = "$RoomwatchDone"
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(Exception):
    """The mailbox cannot be read now (unreachable, TLS refused, login refused, a protocol
    error). Worth trying again at the next poll; `auth` says whether it was the login."""

    def __init__(self, message: str, *, auth: bool = False) -> None:
        super().__init__(message)
        self.auth = auth


@dataclass(frozen=True)
class Fetched:
    uid: str
    raw: bytes
    size: int
    truncated: bool  # larger than the desk reads: only its header was fetched


def tls_context(cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ImapSession:
    def __init__(
        self,
        host: str,
        port: int,
        security: str,
        username: str,
        password: str,
        *,
        cafile: str | None = None,
        timeout: float = 30.0,
        folder: str = "INBOX",
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self._username, self._password = username, password
        self.cafile, self.timeout, self.folder = cafile, timeout, folder
        self._imap: imaplib.IMAP4 | None = None

    def __repr__(self) -> str:  # never the password
        return f"ImapSession({self._username}@{self.host}:{self.port}, {self.security})"

    def _check(self, what: str, reply: tuple[str, Sequence[Any]]) -> Sequence[Any]:
        status, data = reply
        if status != "OK":
            raise MailboxError(f"{self.host}: {what} refused: {_said(data)}")
        return data

    def open(self) -> None:
        where = f"{self.host}:{self.port}"
        context = tls_context(self.cafile)
        try:
            if self.security == "tls":
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=context, timeout=self.timeout
                )
            else:
                imap = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
                imap.starttls(ssl_context=context)
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(
                f"{where}: the server's certificate is not trusted ({exc.verify_message})"
            ) from None
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            raise MailboxError(f"{where}: cannot connect ({exc})") from None
        try:
            imap.login(self._username, self._password)
        except imaplib.IMAP4.error:
            _close(imap)
            raise MailboxError(
                f"{where}: login refused for {self._username!r}", auth=True
            ) from None
        except OSError as exc:
            _close(imap)
            raise MailboxError(f"{where}: connection lost at login ({exc})") from None
        self._imap = imap
        try:
            self._check("SELECT", imap.select(_quoted(self.folder)))
        except (OSError, imaplib.IMAP4.error) as exc:
            self.close()
            raise MailboxError(f"{where}: cannot open folder {self.folder!r} ({exc})") from None

    def close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is not None:
            _close(imap)

    def _session(self) -> imaplib.IMAP4:
        if self._imap is None:
            self.open()
        assert self._imap is not None
        return self._imap

    def pending(self) -> list[str]:
        """UIDs of the mails not yet processed, oldest first."""
        imap = self._session()
        try:
            # selected again at each poll: a server shows mail that arrived since the last
            # SELECT only after it synchronised the session
            self._check("SELECT", imap.select(_quoted(self.folder)))
            data = self._check("SEARCH", imap.uid("SEARCH", "UNKEYWORD", DONE))
        except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error) as exc:
            self.close()
            raise MailboxError(f"{self.host}: search failed ({exc})") from None
        found = data[0] if data and isinstance(data[0], bytes) else b""
        return [uid.decode() for uid in found.split()]

    def fetch(self, uid: str, max_bytes: int) -> Fetched:
        """One mail, whole — or only its header when it is larger than `max_bytes`. PEEK: a
        mail is marked seen only when it was stored."""
        imap = self._session()
        try:
            data = self._check("FETCH", imap.uid("FETCH", uid, "(RFC822.SIZE)"))
            head = data[0] if data and isinstance(data[0], bytes) else b""
            match = _SIZE.search(head)
            size = int(match.group(1)) if match else 0
            truncated = size > max_bytes
            part = "BODY.PEEK[HEADER]" if truncated else "BODY.PEEK[]"
            data = self._check("FETCH", imap.uid("FETCH", uid, f"({part})"))
        except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error) as exc:
            self.close()
            raise MailboxError(f"{self.host}: fetch of mail {uid} failed ({exc})") from None
        raw = b""
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                raw = item[1]
                break
        return Fetched(uid, raw, size or len(raw), truncated)

    def mark_done(self, uid: str) -> None:
        imap = self._session()
        try:
            self._check("STORE", imap.uid("STORE", uid, "+FLAGS", f"(\\Seen {DONE})"))
        except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error) as exc:
            self.close()
            raise MailboxError(f"{self.host}: cannot mark mail {uid} processed ({exc})") from None


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(data: Sequence[Any]) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data]
    return " ".join(parts)[:200]


def _close(imap: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        imap.logout()
