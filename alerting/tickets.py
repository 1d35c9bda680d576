"""Human ticket numbers: `RW-2026-000123` (prefix, year of opening, the incident's id), what
people read out on the phone and write in a mail subject. The id makes a number unique; the
prefix is the desk's (`desk.ticket_prefix`). Pure."""

from __future__ import annotations

import re

DIGITS = 6


def ticket_number(prefix: str, year: int, incident_id: int) -> str:
    return f"{prefix}-{year:04d}-{incident_id:0{DIGITS}d}"


def ticket_pattern(prefix: str) -> re.Pattern[str]:
    """Finds a ticket number of this desk in free text (a mail subject: "Re: [RW-2026-000123]")."""
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(prefix)}-(\d{{4}})-(\d{{{DIGITS},}})(?!\d)")


def find_ticket(text: str, prefix: str) -> str | None:
    match = ticket_pattern(prefix).search(text)
    return match.group(0) if match else None
