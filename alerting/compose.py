"""The one Message for a group of outbox payloads, by what they are: a planned-work notice
(`alerting.notices`), a mailed report (`alerting.reports.mailing`), or alerts and recoveries
(`alerting.messages`).

It sits above the three renderers so that none of them needs another: `messages` used to pick
the renderer itself, importing `notices` and `mailing`, which import `messages` for the
Message type (an import circle)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from alerting import messages
from alerting.mailbox.reply import REPLY_KIND, render_reply
from alerting.messages import Message
from alerting.notices import render_notice
from alerting.reports.mailing import REPORT_KIND, render_report
from core.i18n import FALLBACK, LANGUAGES


def compose(
    items: Sequence[Mapping[str, Any]],
    language: str,
    *,
    now: float,
    tz: dt.tzinfo | None = None,
    max_items: int = 50,
    recipients: Mapping[str, Any] | None = None,
) -> Message:
    """One message for one payload or a group of them (same channel, recipients and group)."""
    if language not in LANGUAGES:  # a channel in another language gets English
        language = FALLBACK
    if not items:
        raise ValueError("nothing to render")
    kind = items[0].get("kind")
    if kind == "notice":
        return render_notice(items[0], language, tz=tz, recipients=recipients)
    if kind == REPORT_KIND:
        return render_report(items[0], recipients=recipients)
    if kind == REPLY_KIND:
        return render_reply(items[0], recipients=recipients)
    return messages.render(
        items, language, now=now, tz=tz, max_items=max_items, recipients=recipients
    )
