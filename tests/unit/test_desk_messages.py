"""Every alert names the ticket number people quote, and a reported ticket says who reported
it: in the mail/log text, the chat Markdown and the SMS line."""

from __future__ import annotations

from alerting.messages import render

ITEM = {
    "kind": "opened",
    "incident": 123,
    "ticket": "RW-2026-000123",
    "level": 2,
    "device": "",
    "summary": {"en": "Finance printer offline", "zh": "财务打印机离线"},
    "reporter": "Ms Zhou",
    "since": 1_795_000_000.0,
    "ack": {"command": "roomwatch incidents ack 123 --by NAME"},
}


def test_one_alert_carries_the_ticket_number_everywhere() -> None:
    for language in ("en", "zh"):
        message = render([ITEM], language, now=1_795_000_060.0)
        assert "#123 RW-2026-000123" in message.text
        assert "RW-2026-000123" in message.markdown
        assert message.short.endswith("#123 RW-2026-000123")
    assert "Reported by: Ms Zhou" in render([ITEM], "en", now=1_795_000_060.0).text


def test_a_grouped_alert_lists_each_ticket_number() -> None:
    other = {**ITEM, "incident": 124, "ticket": "RW-2026-000124", "device": "srv1"}
    message = render([ITEM, other], "en", now=1_795_000_060.0)
    assert "#123 RW-2026-000123" in message.text and "#124 RW-2026-000124" in message.text
