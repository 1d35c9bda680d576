"""Event notices: announcing planned work (content, general or urgent, time window, partial or
full scope, what users should do) to the configured audience before it starts, when it starts,
and when it is over. Which phase is due is a pure function of the notice and local time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from alerting.config import NoticeConfig
from alerting.messages import Message
from core.i18n import lookup, t


def _wall(moment: dt.datetime, local_now: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(local_now.tzinfo).replace(tzinfo=None)


def due_phase(notice: NoticeConfig, local_now: dt.datetime) -> str | None:
    """The phase to announce now: `before:<seconds>` (the closest announce offset that has
    passed), `start` during the window, `end` within a day after it; None otherwise."""
    now = local_now.replace(tzinfo=None)
    start, end = _wall(notice.start, local_now), _wall(notice.end, local_now)
    if now >= end:
        return "end" if (now - end) <= dt.timedelta(days=1) else None
    if now >= start:
        return "start"
    passed = [d for d in notice.announce if now >= start - dt.timedelta(seconds=d)]
    if not passed:
        return None
    return f"before:{int(min(passed))}"


def payload(notice: NoticeConfig, phase: str, now: float) -> dict[str, Any]:
    return {
        "kind": "notice",
        "notice": notice.id,
        "phase": phase,
        "title": notice.title,
        "content": notice.content,
        "action": notice.action,
        "urgency": notice.urgency,
        "scope": notice.scope,
        "start": notice.start.isoformat(sep=" ", timespec="minutes"),
        "end": notice.end.isoformat(sep=" ", timespec="minutes"),
        "devices": notice.devices,
        "ts": now,
        "level": 3,
    }


def _pick(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or next(iter(texts.values()), "")


def render_notice(
    item: Mapping[str, Any],
    language: str,
    *,
    tz: dt.tzinfo | None = None,
    recipients: Mapping[str, Any] | None = None,
) -> Message:
    phase = str(item.get("phase", "start")).split(":")[0]
    head = t(f"notice.head.{'urgent' if item.get('urgency') == 'urgent' else 'general'}", language)
    title = _pick(item.get("title") or {}, language)
    subject = t(
        "notice.subject",
        language,
        head=head,
        title=title,
        phase=t(f"notice.phase.{phase}", language),
    )
    scope = str(item.get("scope"))
    lines = [
        subject,
        "",
        _pick(item.get("content") or {}, language),
        f"{t('notice.window', language)}: {item.get('start')} – {item.get('end')}",
        f"{t('notice.scope', language)}: {lookup(f'notice.scope.{scope}', language) or scope}",
    ]
    if item.get("devices"):
        lines.append(f"{t('notice.devices', language)}: {', '.join(item['devices'])}")
    action = _pick(item.get("action") or {}, language)
    if action:
        lines.append(f"{t('notice.action', language)}: {action}")
    text = "\n".join(lines)
    return Message(
        kind="notice",
        level=3,
        language=language,
        subject=subject,
        text=text,
        markdown="\n".join([f"**{subject}**", "", *lines[2:]]),
        short=f"{subject} {item.get('start')}",
        items=[dict(item)],
        recipients=dict(recipients or {}),
    )
