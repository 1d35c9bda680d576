"""Message templates in zh-CN and en: what a person reads on a phone.

A notification in the outbox carries a payload (the facts at the time it was queued); this
module turns one payload, or a group of them, into a `Message` with a subject, a plain-text
body, a Markdown body for chat robots and a short line for SMS. Every alert says the level, the
device, the site, the value, since when, the runbook and how to acknowledge; a recovery says
resolved / 已恢复. The words and their order are the catalogue's (`core/locale/*.yaml`,
section `message`); this module decides which facts go on which line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.i18n import LANGUAGES, has_key, lookup, t
from core.timefmt import iso_time

ALERT_KINDS = ("opened", "reopened", "level", "escalated", "reminder")
GROUPABLE = (*ALERT_KINDS, "resolved")


def _w(key: str, language: str, **params: object) -> str:
    """A text of the catalogue's `message` section."""
    return t(f"message.{key}", language, **params)


@dataclass(frozen=True)
class Message:
    kind: str
    level: int
    language: str
    subject: str
    text: str  # plain text (email, log, file)
    markdown: str  # chat robots
    short: str  # SMS / a phone's lock screen
    items: list[dict[str, Any]] = field(default_factory=list)
    recipients: dict[str, Any] = field(default_factory=dict)


def level_name(level: int, language: str) -> str:
    return lookup(f"message.level.{level}", language) or f"L{level}"


def summary_of(item: Mapping[str, Any], language: str) -> str:
    summary = item.get("summary") or {}
    text = summary.get(language) or next(iter(summary.values()), None)
    if text:
        return str(text)
    return f"{item.get('rule', '?')} @ {item.get('device', '?')}"


def _when(ts: float | None, tz: dt.tzinfo | None) -> str:
    if ts is None:
        return "?"
    return iso_time(ts, tz)


def _span(seconds: float, language: str) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours and minutes:
        return _w("span.hours_minutes", language, h=hours, m=minutes)
    if hours:
        return _w("span.hours", language, h=hours)
    if minutes:
        return _w("span.minutes", language, m=minutes)
    return _w("span.seconds", language, s=secs)


def _value(item: Mapping[str, Any]) -> str:
    value = item.get("value")
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _head(item: Mapping[str, Any], language: str) -> str:
    kind = str(item.get("kind", "opened"))
    level = int(item.get("level", 3))
    prev = item.get("previous_level")
    key = kind
    if kind == "level":
        key = "level_up" if prev is not None and level < int(prev) else "level_down"
    if not has_key(f"message.head.{key}"):
        key = "opened"
    clock = item.get("clock", "")
    return _w(
        f"head.{key}",
        language,
        lv=level_name(level, language),
        prev=level_name(int(prev), language) if prev is not None else "",
        clock=lookup(f"message.clock.{clock}", language) or clock,
    )


def _where(item: Mapping[str, Any], language: str) -> str:
    device = str(item.get("device", "?"))
    name = item.get("device_name")
    label = device if not name or name == device else f"{device} {name}"
    site = item.get("site_name") or item.get("site")
    return _w("at_site", language, label=label, site=site) if site else label


def _ack_lines(item: Mapping[str, Any], language: str) -> list[str]:
    ack = item.get("ack") or {}
    lines = []
    if ack.get("command"):
        lines.append(f"{_w('ack', language)}: {ack['command']}")
    if ack.get("link"):
        lines.append(f"{_w('ack_link', language)}: {ack['link']}")
    return lines


def _clock(ts: float, tz: dt.tzinfo | None) -> str:
    return dt.datetime.fromtimestamp(ts, tz).strftime("%m-%d %H:%M")


def _short(item: Mapping[str, Any], language: str, tz: dt.tzinfo | None) -> str:
    """One SMS line: level, device and site, the summary (with the value), since when and the
    incident number to acknowledge."""
    site = item.get("site_name") or item.get("site")
    where = str(item.get("device", "?"))
    if site:
        where = _w("at_site", language, label=where, site=site)
    summary = summary_of(item, language)
    text = _w("headline", language, head=_head(item, language), where=where, what=summary)
    value = _value(item)
    if value != "-" and value not in summary:
        text += f" ({_w('value', language)} {value})"
    since = item.get("since")
    if since is not None:
        hhmm = dt.datetime.fromtimestamp(since, tz).strftime("%H:%M")
        text += _w("since_short", language, hhmm=hhmm)
    return f"{text} {_number(item)}"


def _inert(line: str) -> str:
    """A Markdown line whose words came from outside (a mailed ticket's title, a reporter's
    name) with no link, image or tag of its own: `[text](url)` would dress another site as
    ours on the duty phones, `![](url)` fetch from it, `<at id=all>` page a whole Feishu group.
    Only our own acknowledge links are added after this."""
    return line.replace("](", "] (").replace("<", "\uff1c")


def _number(item: Mapping[str, Any]) -> str:
    """`#12 RW-2026-000012`: the incident id (what the ack command takes) and the ticket
    number people quote on the phone and in mail."""
    ticket = item.get("ticket")
    return f"#{item.get('incident', '?')} {ticket}" if ticket else f"#{item.get('incident', '?')}"


def _group_tail(items: Sequence[Mapping[str, Any]], language: str) -> tuple[list[str], list[str]]:
    """The lines under a grouped message (plain text, Markdown): how to acknowledge each
    incident listed (a command or one link each, never the first one's only) and every
    distinct runbook."""
    text: list[str] = []
    markdown: list[str] = []
    alerts = [i for i in items if i.get("kind") not in ("resolved", "acknowledged")]
    ids = [str(i.get("incident")) for i in alerts if i.get("incident") is not None]
    if ids and any((i.get("ack") or {}).get("command") for i in alerts):
        line = f"{_w('ack', language)}: roomwatch incidents ack ID --by NAME (ID: {', '.join(ids)})"
        text.append(line)
        markdown.append(f"- {line}")
    links = [(i.get("incident"), (i.get("ack") or {}).get("link")) for i in alerts]
    links = [(n, url) for n, url in links if url]
    if links:  # in Markdown each listed incident number is its own link
        markdown.append(f"- {_w('ack_link', language)}: {_w('tap', language)}")
    for runbook in dict.fromkeys(str(i["runbook"]) for i in items if i.get("runbook")):
        line = f"{_w('runbook', language)}: {runbook}"
        text.append(line)
        markdown.append(f"- {line}")
    if links:
        text.append(f"{_w('ack_link', language)}:")
        text.extend(f"  #{n}: {url}" for n, url in links)
    return text, markdown


def _detail_lines(
    item: Mapping[str, Any], language: str, tz: dt.tzinfo | None, now: float
) -> list[str]:
    lines = [f"{_w('incident', language)} {_number(item)}  {_where(item, language)}"]
    if item.get("reporter"):
        lines.append(f"{_w('reporter', language)}: {item['reporter']}")
    line = f"{_w('value', language)}: {_value(item)}"
    if item.get("stale"):
        line += _w("stale", language)
    lines.append(line)
    if item.get("flapping") and item.get("kind") != "resolved":
        lines.append(_w("flapping", language))
    since = item.get("since")
    if since is not None:
        lines.append(
            f"{_w('since', language)}: {_w('since_ago', language, when=_when(since, tz), span=_span(now - since, language))}"
        )
    if item.get("kind") == "resolved" and item.get("resolved_at") and since is not None:
        lines.append(f"{_w('lasted', language)}: {_span(item['resolved_at'] - since, language)}")
    if item.get("by"):
        lines.append(f"{_w('by', language)}: {item['by']}")
    if item.get("runbook"):
        lines.append(f"{_w('runbook', language)}: {item['runbook']}")
    if item.get("workaround"):
        lines.append(f"{_w('workaround', language)}: {item['workaround']}")
    known = item.get("knowledge")
    if isinstance(known, dict) and known.get("workaround"):
        lines.append(
            f"{_w('knowledge', language)} {known.get('id')}: {known.get('title')} — {known['workaround']}"
        )
    if item.get("people"):
        lines.append(f"{_w('told', language)}: {', '.join(item['people'])}")
    if item.get("kind") not in ("resolved", "acknowledged"):
        lines.extend(_ack_lines(item, language))
    return lines


def render(
    items: Sequence[Mapping[str, Any]],
    language: str,
    *,
    now: float,
    tz: dt.tzinfo | None = None,
    max_items: int = 50,
    recipients: Mapping[str, Any] | None = None,
) -> Message:
    """One message for one alert or recovery payload or a group of them (same channel,
    recipients and group). Notices and reports have their own renderers; `alerting.compose`
    picks the one for a payload."""
    if language not in LANGUAGES:  # a channel in another language gets English
        language = "en"
    if not items:
        raise ValueError("nothing to render")
    ordered = sorted(items, key=lambda i: (int(i.get("level", 3)), str(i.get("device", ""))))
    first = ordered[0]
    level = int(first.get("level", 3))
    if len(ordered) == 1:
        subject = _w(
            "headline",
            language,
            head=_head(first, language),
            where=_where(first, language),
            what=summary_of(first, language),
        )
        body = [subject, "", summary_of(first, language), *_detail_lines(first, language, tz, now)]
        markdown = [
            _inert(f"**{subject}**"),
            "",
            *(_inert(f"- {line}") for line in _detail_lines(first, language, tz, now)),
        ]
        short = _short(first, language, tz)
    else:
        devices = sorted({str(i.get("device")) for i in ordered})
        site = first.get("site_name") or first.get("site") or ""
        count = _w("devices", language, n=len(devices))
        listed = ", ".join(devices[:5]) + ("…" if len(devices) > 5 else "")
        subject = _w(
            "headline",
            language,
            head=_head(first, language),
            where=f"{site} {count}" if site else count,
            what=listed,
        )
        body = [subject, ""]
        markdown = [_inert(f"**{subject}**"), ""]
        shown = ordered[:max_items]
        for item in shown:
            since = item.get("since")
            when = f", {_w('since', language)} {_clock(since, tz)}" if since is not None else ""
            line = f"{_head(item, language)}{_number(item)} {_where(item, language)} {summary_of(item, language)} ({_w('value', language)} {_value(item)}{when})"
            body.append(line)
            line = _inert(line)
            link = (item.get("ack") or {}).get("link") if item.get("kind") in ALERT_KINDS else None
            if link:  # on a phone, the incident number itself acknowledges
                number = f"#{item.get('incident')} "
                line = line.replace(number, f"[{number.strip()}]({link}) ", 1)
            markdown.append(f"- {line}")
        if len(ordered) > max_items:
            more = _w("more", language, n=len(ordered) - max_items)
            body.append(more)
            markdown.append(more)
        # chat robots send the Markdown body: it says how to acknowledge and what to do too
        tail_text, tail_markdown = _group_tail(shown, language)
        body.extend(["", *tail_text])
        markdown.extend(["", *tail_markdown])
        short = subject
    text = "\n".join(body)
    return Message(
        kind=str(first.get("kind", "opened")),
        level=level,
        language=language,
        subject=subject,
        text=text,
        markdown="\n".join(markdown),
        short=short,
        items=[dict(i) for i in ordered],
        recipients=dict(recipients or {}),
    )


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
