"""Short acknowledge codes for SMS: `12-4831`, the incident number and four digits of an HMAC
of it with the SMS channel's `ack_secret`.

The code needs nothing stored: whoever holds it can only have read the SMS (or guessed one in
ten thousand), and it is taken only from someone on the duty roster (their phone number, for a
reply; their console login, typed in). A reopened incident keeps its number, so its code."""

from __future__ import annotations

import hashlib
import hmac
import re

CODE = re.compile(r"(?<!\d)(\d{1,9})\s*[-–—_ ]?\s*(\d{4})(?!\d)")


def ack_code(secret: str, incident_id: int) -> str:
    digest = hmac.new(secret.encode(), f"sms-ack:{incident_id}".encode(), hashlib.sha256).digest()
    return f"{incident_id}-{int.from_bytes(digest[:4], 'big') % 10000:04d}"


def incident_of_code(secret: str, text: str) -> int | None:
    """The incident whose code appears in `text` (a reply like "12-4831", "124831" or
    "ok 12 4831"), or None."""
    for found in CODE.finditer(text):
        number = int(found.group(1))
        if hmac.compare_digest(ack_code(secret, number), f"{number}-{found.group(2)}"):
            return number
    # "124831": the split between number and tag is the last four digits
    for digits in re.findall(r"\d{5,13}", text):
        number = int(digits[:-4])
        if hmac.compare_digest(ack_code(secret, number), f"{number}-{digits[-4:]}"):
            return number
    return None
