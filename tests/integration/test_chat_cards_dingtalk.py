"""DingTalk cards end to end in one process, with no public URL: the alert service sends an
interactive card to a stand-in of DingTalk's open platform (tests/fixtures/dingtalk_platform.py)
and keeps a Stream connection to its gateway, over which the platform delivers button clicks
the way DingTalk does. The person on duty acknowledges under their own name and the card's
variables change in place; a stranger, an old frame and a replayed one change nothing; pings
are answered and a `disconnect` is followed by a new connection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from alerting.config import AlertingConfig
from alerting.service import AlertService
from inventory.credentials import Credentials
from tests.fixtures.dingtalk_platform import (
    CLIENT_ID,
    CLIENT_SECRET,
    CONVERSATION,
    TEMPLATE,
    DeliveredCard,
    DingTalkPlatform,
)
from tests.fixtures.peers import free_port
from tests.unit.alerting_helpers import fault, inventory

pytestmark = pytest.mark.integration

ZHANG_STAFF_ID = "04574258341072934"


@dataclass
class Setup:
    service: AlertService
    platform: DingTalkPlatform


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    platform = DingTalkPlatform()
    runner = web.AppRunner(platform.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    config = AlertingConfig.model_validate(
        {
            "language": "zh",
            "group": {"wait": "0s"},
            "notifiers": [
                {
                    "type": "dingtalk-app",
                    "name": "cards",
                    "credentials": "dingtalk",
                    "open_conversation_id": CONVERSATION,
                    "card_template_id": TEMPLATE,
                    "api": f"http://127.0.0.1:{port}",
                }
            ],
            "duty": {
                "timezone": "Asia/Shanghai",
                "people": {"zhang": {"name": "张工", "ids": {"dingtalk": ZHANG_STAFF_ID}}},
                "shifts": [
                    {"name": "all", "start": "00:00", "end": "00:00", "rotation": ["zhang"]}
                ],
            },
        }
    )
    credentials = Credentials(
        {"dingtalk": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}}
    )
    service = await AlertService.open(
        config,
        f"sqlite:///{tmp_path / 'tickets.db'}",
        inventory(),
        credentials,
        time.time,  # frames carry the platform's real time
        state_dir=tmp_path,
    )
    service.delivery_budget = None
    try:
        await service.tick()  # connects the Stream
        await platform.connected()
        yield Setup(service, platform)
    finally:
        await service.close()
        await runner.cleanup()


async def alert(setup: Setup) -> DeliveredCard:
    await setup.service.handle([fault("ups1", level=1, ts=time.time())])
    await setup.service.tick()
    [card] = setup.platform.cards
    return card


async def test_the_card_shows_the_alert_with_three_buttons(setup: Setup) -> None:
    card = await alert(setup)
    assert "ups1" in card.params["markdown"] and "UPS A" in card.params["markdown"]
    assert "一级告警" in card.params["title"]
    assert DingTalkPlatform.buttons(card) == ["ack", "arrive", "resolve"]


async def test_the_person_on_duty_acknowledges_over_stream_and_the_card_changes(
    setup: Setup,
) -> None:
    card = await alert(setup)
    ack = await setup.platform.click(card, "ack", ZHANG_STAFF_ID)
    assert ack["code"] == 200
    [incident] = await setup.service.store.active()
    assert incident.state == "acknowledged" and incident.acknowledged_by == "张工"
    assert f"#{incident.id} 已由张工于" in card.params["status"]
    assert DingTalkPlatform.buttons(card) == ["arrive", "resolve"]
    await setup.platform.click(card, "resolve", ZHANG_STAFF_ID)
    assert (await setup.service.store.get(incident.id)).resolved_by == "张工"
    assert DingTalkPlatform.buttons(card) == []


async def test_a_stranger_an_old_frame_and_a_replay_change_nothing(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    card = await alert(setup)
    before = dict(card.params)
    stranger = await setup.platform.click(card, "ack", "0999999999")
    assert stranger["code"] == 200 and stranger["answer"] == {}
    assert any(
        "0999999999" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records
    )
    old = await setup.platform.click(
        card, "ack", ZHANG_STAFF_ID, time_ms=int((time.time() - 3600) * 1000)
    )
    assert old["code"] == 403
    assert card.params == before
    [incident] = await setup.service.store.active()
    assert incident.state == "open"
    first = await setup.platform.click(card, "arrive", ZHANG_STAFF_ID, message_id="m-1")
    again = await setup.platform.click(card, "arrive", ZHANG_STAFF_ID, message_id="m-1")
    assert (first["code"], again["code"]) == (200, 403)
    entries = [e.action for e in await setup.service.store.audit_log(incident.id)]
    assert entries.count("arrived") == 1


async def test_pings_are_answered_and_a_disconnect_is_followed_by_a_new_connection(
    setup: Setup,
) -> None:
    first = await setup.platform.connected()
    pong = await setup.platform.ping()
    assert pong["code"] == 200
    await setup.platform.disconnect()
    for _ in range(100):
        if setup.platform.connections and setup.platform.connections[-1] is not first:
            break
        await asyncio.sleep(0.05)
    assert setup.platform.connections[-1] is not first
    card = await alert(setup)
    assert (await setup.platform.click(card, "ack", ZHANG_STAFF_ID))["code"] == 200


async def test_resolved_elsewhere_the_card_is_redrawn(setup: Setup) -> None:
    card = await alert(setup)
    [incident] = await setup.service.store.active()
    await setup.service.resolve(incident.id, "张工")  # the console's path, not a click
    await setup.service.redrawer.wait()
    assert setup.platform.updated == [card.out_track_id]
    assert f"#{incident.id} 已由张工于" in card.params["status"]
    assert DingTalkPlatform.buttons(card) == []
