"""The reporter's follow link: `{base_url}/follow/{ticket}?sig={hmac}`, so whoever reported a
fault can see how it is going (and answer the satisfaction question) without a login. The
signature is an HMAC-SHA256 over the ticket number with the secret of the desk's `follow`
credentials entry; it does not expire (a reporter may look a month later), and it shows only
what is meant for the reporter (state, public notes, history; never internal notes)."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote


def signature(secret: str, ticket: str) -> str:
    return hmac.new(secret.encode(), f"follow:{ticket}".encode(), hashlib.sha256).hexdigest()


def make_link(base_url: str, secret: str, ticket: str) -> str:
    return f"{base_url.rstrip('/')}/follow/{quote(ticket)}?sig={signature(secret, ticket)}"


def verify(secret: str, ticket: str, sig: str) -> bool:
    """True when `sig` is this ticket's (constant-time comparison)."""
    return hmac.compare_digest(signature(secret, ticket), str(sig))
