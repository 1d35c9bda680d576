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


def test_a_mailed_title_puts_no_link_image_or_mention_in_the_chat_markdown() -> None:
    """Anyone can mail the desk, and the subject becomes the title the duty phones read in
    chat: Markdown of its own made a disguised link, a tracking image or an @all there."""
    hostile = {
        **ITEM,
        "summary": {"en": "[VPN reset form](https://evil.example/x) ![](https://evil.example/p)"},
        "reporter": "IT <at id=all></at>",
        "ack": {"link": "https://desk.example.org/ack/123?exp=1&sig=abc"},
    }
    other = {**hostile, "incident": 124, "ticket": "RW-2026-000124", "device": "srv1"}
    for items in ([hostile], [hostile, other]):
        message = render(items, "en", now=1_795_000_060.0)
        assert "](https://evil" not in message.markdown
        assert "<at id=all>" not in message.markdown
        assert "VPN reset form" in message.markdown  # the words stay, only inert
        assert "[VPN reset form](https://evil.example/x)" in message.text  # mail: as sent
    grouped = render([hostile, other], "en", now=1_795_000_060.0).markdown
    assert "[#123](https://desk.example.org/ack/123?exp=1&sig=abc)" in grouped  # ours stay
