"""Signed acknowledge links, so a phone can acknowledge without a login.

`{base_url}/ack/{id}?exp={expiry}&sig={hmac}`: the signature is an HMAC-SHA256 over the incident
id and the expiry with the secret of the configured credentials entry. The HTTP API verifies it
with `verify` and asks for (or takes `by=`) the name of whoever acknowledges."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode


def signature(secret: str, incident_id: int, expires: int) -> str:
    message = f"ack:{incident_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def make_link(base_url: str, secret: str, incident_id: int, now: float, ttl: float) -> str:
    expires = int(now + ttl)
    query = urlencode({"exp": expires, "sig": signature(secret, incident_id, expires)})
    return f"{base_url.rstrip('/')}/ack/{incident_id}?{query}"


def verify(secret: str, incident_id: int, expires: int | str, sig: str, now: float) -> bool:
    """True when the link is genuine and not expired (constant-time comparison)."""
    try:
        expiry = int(expires)
    except (TypeError, ValueError):
        return False
    if now > expiry:
        return False
    return hmac.compare_digest(signature(secret, incident_id, expiry), str(sig))
