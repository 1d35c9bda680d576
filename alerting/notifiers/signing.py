"""Signatures of the chat robots, as their documentation defines them.

- DingTalk (加签): `sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")))`
  with `timestamp` in milliseconds, both passed as query parameters; the server rejects a
  timestamp more than an hour off.
- Feishu / Lark (签名校验): `sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))`
  with `timestamp` in seconds, both sent in the JSON body."""

from __future__ import annotations

import base64
import hashlib
import hmac


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The base64 signature (the caller's URL encoding adds the percent-escapes)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    digest = hmac.new(key, b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
