"""What a person reads on a phone: a single alert, a grouped one and the SMS line each carry
the level, the device, the site, the value, since when, the runbook and how to acknowledge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from alerting.messages import render
from rules.fault import Suppression
from tests.unit.alerting_helpers import Clock, config, fault, sent, service

TZ = dt.timezone(dt.timedelta(hours=8))
SINCE = 1763800000.0  # 2025-11-22 16:26:40 +08:00
NOW = SINCE + 300


def item(incident: int, device: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "opened",
        "incident": incident,
        "key": f"room-temperature|{device}",
        "rule": "room-temperature",
        "device": device,
        "device_name": f"Sensor {device}",
        "site": "dc1",
        "site_name": "DC One",
        "level": 1,
        "summary": {"zh": "机房温度 36.2°C", "en": "room temperature 36.2 °C"},
        "runbook": "Check the air conditioners; see KB-12.",
        "value": 36.2,
        "since": SINCE,
        "ts": NOW,
        "occurrences": 1,
        "stale": False,
        "workaround": None,
        "ack": {
            "command": f"roomwatch incidents ack {incident} --by NAME",
            "link": f"https://rw.example.org/ack/{incident}?exp=1763886700&sig=ab{incident}",
        },
    }
    out.update(extra)
    return out


@pytest.mark.parametrize("language", ["zh", "en"])
def test_grouped_chat_message_says_how_to_acknowledge_every_incident(language: str) -> None:
    # DingTalk and WeCom robots send the Markdown body: a grouped alert there must still say
    # how to acknowledge, for each incident it lists (not only the first), and the runbook
    m = render([item(12, "s1"), item(13, "s2")], language, now=NOW, tz=TZ)
    for body in (m.text, m.markdown):
        assert "roomwatch incidents ack 12" not in body  # it would acknowledge #12 alone
        assert "roomwatch incidents ack ID --by NAME" in body
        assert "12" in body and "13" in body
        assert "https://rw.example.org/ack/12?exp=1763886700&sig=ab12" in body
        assert "https://rw.example.org/ack/13?exp=1763886700&sig=ab13" in body
        assert "Check the air conditioners; see KB-12." in body
        assert "16:26" in body  # since when


@pytest.mark.parametrize("language", ["zh", "en"])
def test_grouped_recovery_does_not_ask_for_an_acknowledgement(language: str) -> None:
    items = [item(12, "s1", kind="resolved"), item(13, "s2", kind="resolved")]
    m = render(items, language, now=NOW, tz=TZ)
    for body in (m.text, m.markdown):
        assert "incidents ack" not in body and "/ack/" not in body


@pytest.mark.parametrize("language", ["zh", "en"])
def test_grouped_message_lists_each_distinct_runbook(language: str) -> None:
    other = item(13, "ups1", rule="ups-on-battery", runbook="Check the mains feed.")
    m = render([item(12, "s1"), other], language, now=NOW, tz=TZ)
    for body in (m.text, m.markdown):
        assert "Check the air conditioners; see KB-12." in body
        assert "Check the mains feed." in body


@pytest.mark.parametrize("language", ["zh", "en"])
def test_short_form_carries_level_device_site_since_and_incident(language: str) -> None:
    m = render([item(12, "s1")], language, now=NOW, tz=TZ)
    assert ("一级" if language == "zh" else "L1") in m.short
    assert "s1" in m.short and "DC One" in m.short
    assert "36.2" in m.short and "16:26" in m.short and "#12" in m.short
    assert len(m.short) <= 70  # one SMS, even in Chinese


@pytest.mark.parametrize("language", ["zh", "en"])
def test_single_alert_keeps_its_ack_command_and_link(language: str) -> None:
    m = render([item(12, "s1")], language, now=NOW, tz=TZ)
    for body in (m.text, m.markdown):
        assert "roomwatch incidents ack 12 --by NAME" in body
        assert "https://rw.example.org/ack/12?exp=1763886700&sig=ab12" in body


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_flapping_alert_says_it_is_held_open(tmp_path: Path, language: str) -> None:
    # the on-call person must know why no recovery follows while the fault keeps bouncing
    clock = Clock()
    svc = await service(tmp_path, clock, config(tmp_path, language=language))
    try:
        await svc.handle([fault("sw1", level=1, suppressed=Suppression.FLAPPING)])
        await svc.tick()
        [message] = sent(tmp_path)
        assert ("频繁反复" if language == "zh" else "flapping: held open") in message["text"]
        await svc.handle([fault("sw2", level=1)])
        await svc.tick()
        assert "flapping" not in sent(tmp_path)[-1]["text"]
        assert "频繁反复" not in sent(tmp_path)[-1]["text"]
    finally:
        await svc.close()
