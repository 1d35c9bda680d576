"""WeCom template cards end to end in one process: the alert service sends a button card to
the people told through a stand-in of WeCom's API (tests/fixtures/wecom_platform.py), and the
stand-in calls back into the real HTTP API the way WeCom does (encrypted, signed). The person
on duty acknowledges under their own name and the card is redrawn for everyone through
update_template_card; a stranger, a wrong signature, an old timestamp and a replay change
nothing; the URL check is answered only when signed with the right token."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from alerting.config import AlertingConfig
from alerting.service import AlertService
from collector.api.server import make_app
from collector.api.view import DaemonView, ServiceIncidents
from inventory.credentials import Credentials
from tests.fixtures.peers import free_port
from tests.fixtures.threaded_app import ThreadedApp
from tests.fixtures.wecom_platform import (
    AES_KEY,
    AGENT_ID,
    CALLBACK_TOKEN,
    CORP_ID,
    CORP_SECRET,
    WeComCard,
    WeComPlatform,
)
from tests.unit.alerting_helpers import fault, inventory

pytestmark = pytest.mark.integration


@dataclass
class Setup:
    service: AlertService
    platform: WeComPlatform
    server: ThreadedApp
    callback: str


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    platform = WeComPlatform()
    server = ThreadedApp(platform.app())
    config = AlertingConfig.model_validate(
        {
            "language": "zh",
            "group": {"wait": "0s"},
            "notifiers": [
                {
                    "type": "wecom-app",
                    "name": "wecom-cards",
                    "credentials": "wecom",
                    "agent_id": AGENT_ID,
                    "api": server.url,
                }
            ],
            "duty": {
                "timezone": "Asia/Shanghai",
                "people": {"zhang": {"name": "张工", "ids": {"wecom": "ZhangSan"}}},
                "shifts": [
                    {"name": "all", "start": "00:00", "end": "00:00", "rotation": ["zhang"]}
                ],
            },
        }
    )
    credentials = Credentials(
        {
            "wecom": {
                "corp_id": CORP_ID,
                "corp_secret": CORP_SECRET,
                "token": CALLBACK_TOKEN,
                "encoding_aes_key": AES_KEY,
            }
        }
    )
    service = await AlertService.open(
        config,
        f"sqlite:///{tmp_path / 'tickets.db'}",
        inventory(),
        credentials,
        time.time,
        state_dir=tmp_path,
    )
    service.delivery_budget = None
    view = DaemonView(
        now=time.time,
        inventory=inventory,
        latest=dict,
        not_answering=frozenset,
        status_line=str,
        stats=dict,
        sinks=list,
        incidents=lambda: ServiceIncidents(service),
        maintenance_file=lambda: tmp_path / "maintenance.yaml",
    )
    runner = web.AppRunner(make_app(view, lambda: "api-token-test"), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Setup(service, platform, server, f"http://127.0.0.1:{port}/callback/wecom-cards")
    finally:
        await runner.cleanup()
        await service.close()
        server.close()


async def alert(setup: Setup) -> WeComCard:
    await setup.service.handle([fault("ups1", level=1, ts=time.time())])
    await setup.service.tick()
    [sent] = setup.platform.cards
    return sent


async def test_the_card_goes_to_the_person_on_duty_with_three_buttons(setup: Setup) -> None:
    sent = await alert(setup)
    assert sent.touser == ["ZhangSan"]
    assert "一级告警" in sent.card["main_title"]["title"]
    assert sent.buttons == ["ack", "arrive", "resolve"]
    assert [b["text"] for b in sent.card["button_list"]] == ["确认", "我在路上", "已解决"]


async def test_acknowledged_under_their_name_and_the_card_redrawn(setup: Setup) -> None:
    sent = await alert(setup)
    status, text, _ = await setup.server.acall(
        setup.platform.click(setup.callback, sent, "ack", "ZhangSan")
    )
    assert (status, text) == (200, "")
    [incident] = await setup.service.store.active()
    assert incident.state == "acknowledged" and incident.acknowledged_by == "张工"
    assert sent.buttons == ["arrive", "resolve"]
    assert f"#{incident.id} 已由张工于" in sent.card["sub_title_text"]
    await setup.server.acall(setup.platform.click(setup.callback, sent, "resolve", "ZhangSan"))
    assert (await setup.service.store.get(incident.id)).resolved_by == "张工"
    assert sent.buttons == [] and "张工" in sent.card["replaced"]


@pytest.mark.parametrize(
    ("how", "expected"),
    [("stranger", 200), ("wrong-signature", 401), ("expired", 403), ("replay", 403)],
)
async def test_strangers_forgeries_late_and_replayed_clicks_change_nothing(
    setup: Setup, how: str, expected: int
) -> None:
    sent = await alert(setup)
    click = setup.platform.click
    arrived = 0
    if how == "stranger":
        status, _, _ = await setup.server.acall(click(setup.callback, sent, "ack", "Somebody"))
    elif how == "wrong-signature":
        status, _, _ = await setup.server.acall(
            click(setup.callback, sent, "ack", "ZhangSan", token="not-the-token")
        )
    elif how == "expired":
        status, _, _ = await setup.server.acall(
            click(setup.callback, sent, "ack", "ZhangSan", timestamp=int(time.time()) - 3600)
        )
    else:
        first, _, request = await setup.server.acall(
            click(setup.callback, sent, "arrive", "ZhangSan")
        )
        assert first == 200
        arrived = 1
        status, _, _ = await setup.server.acall(
            click(setup.callback, sent, "arrive", "ZhangSan", replay_of=request)
        )
    assert status == expected
    [incident] = await setup.service.store.active()
    assert incident.state == "open"
    actions = [e.action for e in await setup.service.store.audit_log(incident.id)]
    assert actions.count("arrived") == arrived


async def test_the_url_check_is_answered_only_when_signed_with_the_token(setup: Setup) -> None:
    status, text, echo = await setup.server.acall(setup.platform.verify_url(setup.callback))
    assert (status, text) == (200, echo)
    status, _, _ = await setup.server.acall(setup.platform.verify_url(setup.callback, "wrong"))
    assert status == 401
