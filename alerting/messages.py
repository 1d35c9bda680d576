"""Message templates in zh-CN and en: what a person reads on a phone.

A notification in the outbox carries a payload (the facts at the time it was queued); this
module turns one payload, or a group of them, into a `Message` with a subject, a plain-text
body, a Markdown body for chat robots and a short line for SMS. Every alert says the level, the
device, the site, the value, since when, the runbook and how to acknowledge; a recovery says
resolved / 已恢复."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALERT_KINDS = ("opened", "reopened", "level", "escalated", "reminder")
GROUPABLE = (*ALERT_KINDS, "resolved")

_LEVEL = {
    "zh": {1: "一级", 2: "二级", 3: "三级"},
    "en": {1: "L1", 2: "L2", 3: "L3"},
}

_HEAD = {
    "zh": {
        "opened": "【{lv}告警】",
        "reopened": "【{lv}告警·再次发生】",
        "level_up": "【{lv}告警·由{prev}升级】",
        "level_down": "【{lv}告警·由{prev}降级】",
        "escalated": "【{lv}告警·升级通知】",
        "reminder": "【{lv}告警·未确认提醒】",
        "resolved": "【已恢复】【{lv}】",
        "breach": "【{lv}·超时未{clock}】",
        "acknowledged": "【已确认】【{lv}】",
    },
    "en": {
        "opened": "[{lv} ALERT] ",
        "reopened": "[{lv} ALERT again] ",
        "level_up": "[{lv} ALERT, up from {prev}] ",
        "level_down": "[{lv} ALERT, down from {prev}] ",
        "escalated": "[{lv} ESCALATED] ",
        "reminder": "[{lv} REMINDER, not acknowledged] ",
        "resolved": "[RESOLVED {lv}] ",
        "breach": "[{lv} SLA BREACH: {clock}] ",
        "acknowledged": "[ACKNOWLEDGED {lv}] ",
    },
}

_CLOCK = {
    "zh": {"respond": "响应", "arrive": "到场", "repair": "修复"},
    "en": {"respond": "respond", "arrive": "on site", "repair": "repair"},
}

_WORDS = {
    "zh": {
        "site": "站点",
        "value": "当前值",
        "since": "开始于",
        "runbook": "处理建议",
        "workaround": "已知规避方法",
        "ack": "确认",
        "ack_link": "手机确认",
        "told": "通知",
        "by": "处理人",
        "devices": "{n} 台设备",
        "lasted": "持续",
        "incident": "事件",
        "stale": "（数据已中断，状态未知）",
        "flapping": "频繁反复：保持打开，稳定后才发恢复通知",
        "ago": "前",
        "more": "…另有 {n} 条",
        "tap": "点击事件号",
    },
    "en": {
        "site": "site",
        "value": "value",
        "since": "since",
        "runbook": "runbook",
        "workaround": "known workaround",
        "ack": "acknowledge",
        "ack_link": "acknowledge from a phone",
        "told": "told",
        "by": "by",
        "devices": "{n} devices",
        "lasted": "lasted",
        "incident": "incident",
        "stale": " (data stopped arriving; state unknown)",
        "flapping": "flapping: held open, the recovery notice comes once it settles",
        "ago": "ago",
        "more": "… and {n} more",
        "tap": "tap the incident number",
    },
}


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
    return _LEVEL[language].get(level, f"L{level}")


def summary_of(item: Mapping[str, Any], language: str) -> str:
    summary = item.get("summary") or {}
    text = summary.get(language) or next(iter(summary.values()), None)
    if text:
        return str(text)
    return f"{item.get('rule', '?')} @ {item.get('device', '?')}"


def _when(ts: float | None, tz: dt.tzinfo | None) -> str:
    if ts is None:
        return "?"
    return dt.datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S")


def _span(seconds: float, language: str) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if language == "zh":
        parts = [f"{hours}小时" if hours else "", f"{minutes}分" if minutes else ""]
        text = "".join(parts) or f"{secs}秒"
    else:
        text = " ".join(
            p for p in (f"{hours}h" if hours else "", f"{minutes}m" if minutes else "") if p
        )
        text = text or f"{secs}s"
    return text


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
    template = _HEAD[language].get(key, _HEAD[language]["opened"])
    return template.format(
        lv=level_name(level, language),
        prev=level_name(int(prev), language) if prev is not None else "",
        clock=_CLOCK[language].get(str(item.get("clock", "")), item.get("clock", "")),
    )


def _where(item: Mapping[str, Any], language: str) -> str:
    device = str(item.get("device", "?"))
    name = item.get("device_name")
    label = device if not name or name == device else f"{device} {name}"
    site = item.get("site_name") or item.get("site")
    if site:
        return f"{label}（{site}）" if language == "zh" else f"{label} ({site})"
    return label


def _ack_lines(item: Mapping[str, Any], language: str) -> list[str]:
    words = _WORDS[language]
    ack = item.get("ack") or {}
    lines = []
    if ack.get("command"):
        lines.append(f"{words['ack']}: {ack['command']}")
    if ack.get("link"):
        lines.append(f"{words['ack_link']}: {ack['link']}")
    return lines


def _clock(ts: float, tz: dt.tzinfo | None) -> str:
    return dt.datetime.fromtimestamp(ts, tz).strftime("%m-%d %H:%M")


def _short(item: Mapping[str, Any], language: str, tz: dt.tzinfo | None) -> str:
    """One SMS line: level, device and site, the summary (with the value), since when and the
    incident number to acknowledge."""
    words = _WORDS[language]
    site = item.get("site_name") or item.get("site")
    where = str(item.get("device", "?"))
    if site:
        where += f"（{site}）" if language == "zh" else f" ({site})"
    summary = summary_of(item, language)
    text = f"{_head(item, language)}{where}{'：' if language == 'zh' else ': '}{summary}"
    value = _value(item)
    if value != "-" and value not in summary:
        text += f" ({words['value']} {value})"
    since = item.get("since")
    if since is not None:
        hhmm = dt.datetime.fromtimestamp(since, tz).strftime("%H:%M")
        text += f"，{hhmm}起" if language == "zh" else f", {words['since']} {hhmm}"
    return f"{text} #{item.get('incident')}"


def _group_tail(items: Sequence[Mapping[str, Any]], language: str) -> tuple[list[str], list[str]]:
    """The lines under a grouped message (plain text, Markdown): how to acknowledge each
    incident listed (a command or one link each, never the first one's only) and every
    distinct runbook."""
    words = _WORDS[language]
    text: list[str] = []
    markdown: list[str] = []
    alerts = [i for i in items if i.get("kind") not in ("resolved", "acknowledged")]
    ids = [str(i.get("incident")) for i in alerts if i.get("incident") is not None]
    if ids and any((i.get("ack") or {}).get("command") for i in alerts):
        line = f"{words['ack']}: roomwatch incidents ack ID --by NAME (ID: {', '.join(ids)})"
        text.append(line)
        markdown.append(f"- {line}")
    links = [(i.get("incident"), (i.get("ack") or {}).get("link")) for i in alerts]
    links = [(n, url) for n, url in links if url]
    if links:  # in Markdown each listed incident number is its own link
        markdown.append(f"- {words['ack_link']}: {words['tap']}")
    for runbook in dict.fromkeys(str(i["runbook"]) for i in items if i.get("runbook")):
        line = f"{words['runbook']}: {runbook}"
        text.append(line)
        markdown.append(f"- {line}")
    if links:
        text.append(f"{words['ack_link']}:")
        text.extend(f"  #{n}: {url}" for n, url in links)
    return text, markdown


def _detail_lines(
    item: Mapping[str, Any], language: str, tz: dt.tzinfo | None, now: float
) -> list[str]:
    words = _WORDS[language]
    lines = [f"{words['incident']} #{item.get('incident', '?')}  {_where(item, language)}"]
    line = f"{words['value']}: {_value(item)}"
    if item.get("stale"):
        line += words["stale"]
    lines.append(line)
    if item.get("flapping") and item.get("kind") != "resolved":
        lines.append(words["flapping"])
    since = item.get("since")
    if since is not None:
        lines.append(
            f"{words['since']}: {_when(since, tz)} ({_span(now - since, language)}{' ' if language == 'en' else ''}{words['ago']})"
        )
    if item.get("kind") == "resolved" and item.get("resolved_at") and since is not None:
        lines.append(f"{words['lasted']}: {_span(item['resolved_at'] - since, language)}")
    if item.get("by"):
        lines.append(f"{words['by']}: {item['by']}")
    if item.get("runbook"):
        lines.append(f"{words['runbook']}: {item['runbook']}")
    if item.get("workaround"):
        lines.append(f"{words['workaround']}: {item['workaround']}")
    if item.get("people"):
        lines.append(f"{words['told']}: {', '.join(item['people'])}")
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
    """One message for one payload or a group of them (same channel, recipients and group)."""
    if language not in _WORDS:
        language = "en"
    if not items:
        raise ValueError("nothing to render")
    if items[0].get("kind") == "notice":
        from alerting.notices import render_notice

        return render_notice(items[0], language, tz=tz, recipients=recipients)
    if items[0].get("kind") == "report":
        from alerting.reports.mailing import render_report

        return render_report(items[0], recipients=recipients)
    words = _WORDS[language]
    ordered = sorted(items, key=lambda i: (int(i.get("level", 3)), str(i.get("device", ""))))
    first = ordered[0]
    level = int(first.get("level", 3))
    if len(ordered) == 1:
        subject = f"{_head(first, language)}{_where(first, language)}{'：' if language == 'zh' else ': '}{summary_of(first, language)}"
        body = [subject, "", summary_of(first, language), *_detail_lines(first, language, tz, now)]
        markdown = [
            f"**{subject}**",
            "",
            *(f"- {line}" for line in _detail_lines(first, language, tz, now)),
        ]
        short = _short(first, language, tz)
    else:
        devices = sorted({str(i.get("device")) for i in ordered})
        site = first.get("site_name") or first.get("site") or ""
        count = words["devices"].format(n=len(devices))
        sep = "：" if language == "zh" else ": "
        subject = f"{_head(first, language)}{site + ' ' if site else ''}{count}{sep}{', '.join(devices[:5])}{'…' if len(devices) > 5 else ''}"
        body = [subject, ""]
        markdown = [f"**{subject}**", ""]
        shown = ordered[:max_items]
        for item in shown:
            since = item.get("since")
            when = f", {words['since']} {_clock(since, tz)}" if since is not None else ""
            line = f"{_head(item, language)}#{item.get('incident')} {_where(item, language)} {summary_of(item, language)} ({words['value']} {_value(item)}{when})"
            body.append(line)
            link = (item.get("ack") or {}).get("link") if item.get("kind") in ALERT_KINDS else None
            if link:  # on a phone, the incident number itself acknowledges
                number = f"#{item.get('incident')} "
                line = line.replace(number, f"[{number.strip()}]({link}) ", 1)
            markdown.append(f"- {line}")
        if len(ordered) > max_items:
            more = words["more"].format(n=len(ordered) - max_items)
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
