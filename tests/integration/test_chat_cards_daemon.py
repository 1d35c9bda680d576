"""The whole timeline with the real daemon (`roomwatch run` as a subprocess): two websites go
down; each alert is a Feishu card (a stand-in of the Feishu open platform, tests/fixtures/
feishu_platform.py); the person on duty presses Acknowledge on the first card, Feishu calls the
daemon's HTTP API (which has a token the callback does not carry), the incident is acknowledged
under their name, the card is redrawn in place and its escalation stops, while the second
incident, left alone, escalates to the team lead on time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures.feishu_platform import (
    APP_ID,
    APP_SECRET,
    CHAT_ID,
    VERIFICATION_TOKEN,
    FeishuPlatform,
    Sent,
)
from tests.fixtures.ops_daemon import http, start_daemon, stop_daemon, write_config
from tests.fixtures.peers import free_port, wait_until
from tests.fixtures.threaded_app import ThreadedApp
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration

TOKEN = "daemon-api-token-test"  # test only
ZHANG = "ou_zhang_open_id_0001"
ESCALATE_AFTER = 8  # seconds: the team lead's tier


def inventory(shop: int, blog: int) -> str:
    sites = "sites:\n  - id: dc1\n    name: DC One\ndevices:\n"
    device = (
        "  - id: {id}\n    name: {name}\n    site: dc1\n    kind: website\n    criticality: 1\n"
        "    probes:\n      - type: http\n        url: http://127.0.0.1:{port}/\n"
        "        interval: 1s\n        timeout: 2s\n"
    )
    return (
        sites
        + device.format(id="shop", name="Web shop", port=shop)
        + device.format(id="blog", name="Blog", port=blog)
    )


def alerting(feishu_url: str) -> str:
    tiers = f'[{{after: 0s, notify: [on-duty]}}, {{after: {ESCALATE_AFTER}s, notify: ["role:team-lead"]}}]'
    return (
        "    - type: feishu-app\n"
        "      name: feishu-cards\n"
        "      credentials: feishu\n"
        f"      chat_id: {CHAT_ID}\n"
        f"      url: {feishu_url}\n"
        "  group: {wait: 0s}\n"
        f"  escalation: {{1: {tiers}, 2: {tiers}, 3: {tiers}}}\n"
        "  duty:\n"
        "    people:\n"
        f"      zhang: {{name: Zhang, ids: {{feishu: {ZHANG}}}}}\n"
        "      li: {name: Li}\n"
        "    roles: {team-lead: [li]}\n"
        '    shifts: [{name: all, start: "00:00", end: "00:00", rotation: [zhang]}]\n'
    )


@dataclass
class Room:
    platform: FeishuPlatform
    server: ThreadedApp
    shop: Website
    blog: Website
    base: str

    def cards(self, device: str) -> list[Sent]:
        return [m for m in self.platform.messages if f"{device} " in FeishuPlatform.text(m.card)]

    def incident(self, device: str) -> dict[str, Any]:
        reply = http("GET", self.base + "/api/incidents", TOKEN)
        [found] = [i for i in reply.json()["incidents"] if i["device"] == device]
        assert isinstance(found, dict)
        return found


@pytest.fixture
def room(tmp_path: Any) -> Iterator[Room]:
    platform = FeishuPlatform()
    server = ThreadedApp(platform.app())
    shop, blog = Website(), Website()
    port = free_port()
    files = write_config(
        tmp_path,
        inventory(shop.port, blog.port),
        f'{{listen: "127.0.0.1:{port}", credentials: api}}',
        credentials={
            "api": {"token": TOKEN},
            "feishu": {
                "app_id": APP_ID,
                "app_secret": APP_SECRET,
                "verification_token": VERIFICATION_TOKEN,
            },
        },
        extra=alerting(server.url),
        api_port=port,
    )
    proc = start_daemon(files)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http("GET", base + "/api/health", TOKEN).status == 200, 30, "roomwatch")
        yield Room(platform, server, shop, blog, base)
        assert stop_daemon(proc) == 0
    finally:
        stop_daemon(proc)
        shop.close()
        blog.close()
        server.close()


def test_acknowledged_from_the_card_by_the_person_on_duty_and_escalation_stops(room: Room) -> None:
    room.shop.healthy = False
    wait_until(lambda: bool(room.cards("shop")), 30, "the shop's card")
    [card] = room.cards("shop")
    assert "Acknowledge" in FeishuPlatform.buttons(card.card)
    room.blog.healthy = False
    wait_until(lambda: bool(room.cards("blog")), 30, "the blog's card")
    status, _, _ = room.server.call(
        room.platform.click(
            room.base + "/callback/feishu-cards", card, "Acknowledge", open_id=ZHANG
        )
    )
    assert status == 200
    shop = room.incident("shop")
    assert shop["state"] == "acknowledged" and shop["acknowledged_by"] == "Zhang"
    # the card in the group, redrawn in place
    assert f"#{shop['id']} acknowledged by Zhang" in FeishuPlatform.text(card.card)
    assert "Acknowledge" not in FeishuPlatform.buttons(card.card)
    # the blog, left alone, reaches the team lead; the shop's chain stopped at the click
    wait_until(lambda: len(room.cards("blog")) == 2, 30, "the blog's escalation")
    assert "ESCALATED" in FeishuPlatform.text(room.cards("blog")[1].card)
    # the shop went down first, so its tier fell due before the blog's: give its delivery a
    # moment, then it must still have had one card only
    time.sleep(2)
    assert len(room.cards("shop")) == 1
    assert room.incident("blog")["state"] == "open"
