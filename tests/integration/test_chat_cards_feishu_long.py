"""Feishu cards with no public URL: the clicks come over the long connection the daemon opens
to a stand-in of Feishu (tests/fixtures/feishu_long_connection.py, its own protobuf codec).
The person on duty acknowledges under their own name and the card in the answer is drawn in
place; a stranger, a wrong verification token, a late event and a replayed one change nothing;
a payload split over two frames is put together; the client pings."""

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
from tests.fixtures.feishu_long_connection import LongConnection
from tests.fixtures.feishu_platform import (
    APP_ID,
    APP_SECRET,
    CHAT_ID,
    VERIFICATION_TOKEN,
    FeishuPlatform,
    Sent,
)
from tests.fixtures.peers import free_port
from tests.unit.alerting_helpers import fault, inventory

pytestmark = pytest.mark.integration

ZHANG = "ou_zhang_long_connection"


@dataclass
class Setup:
    service: AlertService
    platform: FeishuPlatform
    line: LongConnection


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    platform = FeishuPlatform()
    line = LongConnection(platform)
    runner = web.AppRunner(line.mount(platform.app()), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    config = AlertingConfig.model_validate(
        {
            "language": "zh",
            "group": {"wait": "0s"},
            "notifiers": [
                {
                    "type": "feishu-app",
                    "name": "cards",
                    "credentials": "feishu",
                    "chat_id": CHAT_ID,
                    "url": f"http://127.0.0.1:{port}",
                    "callbacks": "long-connection",
                }
            ],
            "duty": {
                "timezone": "Asia/Shanghai",
                "people": {"zhang": {"name": "张工", "ids": {"feishu": ZHANG}}},
                "shifts": [
                    {"name": "all", "start": "00:00", "end": "00:00", "rotation": ["zhang"]}
                ],
            },
        }
    )
    secrets = {"app_id": APP_ID, "app_secret": APP_SECRET, "verification_token": VERIFICATION_TOKEN}
    service = await AlertService.open(
        config,
        f"sqlite:///{tmp_path / 'tickets.db'}",
        inventory(),
        Credentials({"feishu": secrets}),
        time.time,
        state_dir=tmp_path,
    )
    service.delivery_budget = None
    try:
        await service.tick()
        await line.connected()
        yield Setup(service, platform, line)
    finally:
        await service.close()
        await runner.cleanup()


async def alert(setup: Setup) -> Sent:
    await setup.service.handle([fault("ups1", level=1, ts=time.time())])
    await setup.service.tick()
    [sent] = setup.platform.messages
    return sent


async def test_acknowledged_over_the_long_connection_and_the_card_redrawn(setup: Setup) -> None:
    sent = await alert(setup)
    reply = await setup.line.click(sent, "确认", open_id=ZHANG, split=True)
    assert reply["code"] == 200 and reply["answer"]["toast"]["type"] == "success"
    [incident] = await setup.service.store.active()
    assert incident.acknowledged_by == "张工"
    assert f"#{incident.id} 已由张工于" in FeishuPlatform.text(sent.card)
    assert list(FeishuPlatform.buttons(sent.card)) == ["我在路上", "已解决"]


@pytest.mark.parametrize("how", ["stranger", "wrong-token", "late", "replay"])
async def test_what_changes_nothing(setup: Setup, how: str) -> None:
    sent = await alert(setup)
    before = sent.card
    arrived = 0
    if how == "stranger":
        reply = await setup.line.click(sent, "确认", open_id="ou_stranger")
    elif how == "wrong-token":
        reply = await setup.line.click(sent, "确认", open_id=ZHANG, token="forged")
    elif how == "late":
        reply = await setup.line.click(
            sent, "确认", open_id=ZHANG, create_ms=int((time.time() - 3600) * 1000)
        )
    else:
        # the same event delivered twice (Feishu redelivers what it thinks was not answered)
        as_sent = Sent(sent.message_id, sent.card)
        first = await setup.line.click(sent, "我在路上", open_id=ZHANG, event_id="ev-1")
        assert first["answer"]["toast"]["type"] == "success"
        before, arrived = sent.card, 1
        reply = await setup.line.click(as_sent, "我在路上", open_id=ZHANG, event_id="ev-1")
    assert reply["code"] == 200 and reply["answer"]["toast"]["type"] == "error"
    assert sent.card == before
    [incident] = await setup.service.store.active()
    assert incident.state == "open"
    actions = [e.action for e in await setup.service.store.audit_log(incident.id)]
    assert actions.count("arrived") == arrived


async def test_the_client_pings_at_the_interval_the_endpoint_gave(setup: Setup) -> None:
    await asyncio.sleep(2.5)  # PingInterval 1 s from the stand-in's ClientConfig
    assert setup.line.pings >= 2
