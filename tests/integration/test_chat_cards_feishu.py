"""Feishu cards end to end in one process: the alert service sends a card to a stand-in of the
Feishu open platform (tests/fixtures/feishu_platform.py), and the platform calls back into the
real HTTP API the way Feishu does. The person on duty acknowledges under their own name and the
card is redrawn in place; a stranger, a wrong signature, an old timestamp and a replay are
refused and change nothing."""

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
from tests.fixtures.feishu_platform import (
    APP_ID,
    APP_SECRET,
    CHAT_ID,
    VERIFICATION_TOKEN,
    FeishuPlatform,
    Sent,
)
from tests.fixtures.peers import free_port
from tests.fixtures.threaded_app import ThreadedApp
from tests.unit.alerting_helpers import fault, inventory

pytestmark = pytest.mark.integration

ZHANG_OPEN_ID = "ou_7d8a6e6df7621556ce0d21922b676706ccs"


@dataclass
class Setup:
    service: AlertService
    platform: FeishuPlatform
    server: ThreadedApp
    callback: str


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    platform = FeishuPlatform()
    server = ThreadedApp(platform.app())
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
                    "url": server.url,
                }
            ],
            "duty": {
                "timezone": "Asia/Shanghai",
                "people": {
                    "zhang": {"name": "张工", "ids": {"feishu": ZHANG_OPEN_ID}},
                    "li": {"name": "李工"},
                },
                "roles": {"team-lead": ["li"]},
                "shifts": [
                    {"name": "all", "start": "00:00", "end": "00:00", "rotation": ["zhang"]}
                ],
            },
        }
    )
    credentials = Credentials(
        {
            "feishu": {
                "app_id": APP_ID,
                "app_secret": APP_SECRET,
                "verification_token": VERIFICATION_TOKEN,
            }
        }
    )
    service = await AlertService.open(
        config,
        f"sqlite:///{tmp_path / 'tickets.db'}",
        inventory(),
        credentials,
        time.time,  # the platform signs with the real clock
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
    # a token on the API: the callback route must not need it
    runner = web.AppRunner(make_app(view, lambda: "api-token-test"), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Setup(service, platform, server, f"http://127.0.0.1:{port}/callback/cards")
    finally:
        await runner.cleanup()
        await service.close()
        server.close()


async def alert(setup: Setup) -> Sent:
    await setup.service.handle([fault("ups1", level=1, ts=time.time())])
    await setup.service.tick()
    [sent] = setup.platform.messages
    return sent


async def test_the_card_shows_the_alert_with_three_buttons(setup: Setup) -> None:
    sent = await alert(setup)
    text = FeishuPlatform.text(sent.card)
    assert "ups1" in text and "UPS A" in text and "机房一" in text
    assert list(FeishuPlatform.buttons(sent.card)) == ["确认", "我在路上", "已解决"]
    assert sent.card["header"]["template"] == "red"  # level 1


async def test_the_person_on_duty_acknowledges_under_their_name_and_the_card_changes(
    setup: Setup,
) -> None:
    sent = await alert(setup)
    status, _, _ = await setup.server.acall(
        setup.platform.click(setup.callback, sent, "确认", open_id=ZHANG_OPEN_ID)
    )
    assert status == 200
    [incident] = await setup.service.store.active()
    assert incident.state == "acknowledged" and incident.acknowledged_by == "张工"
    log = [(e.actor, e.action) for e in await setup.service.store.audit_log(incident.id)]
    assert ("张工", "acknowledged") in log
    # redrawn in place: who acknowledged, and no Acknowledge button any more
    text = FeishuPlatform.text(sent.card)
    assert f"#{incident.id} 已由张工于" in text and "确认" in text
    assert list(FeishuPlatform.buttons(sent.card)) == ["我在路上", "已解决"]
    # then on the way, then resolved: the card ends without buttons, in green
    await setup.server.acall(
        setup.platform.click(setup.callback, sent, "我在路上", open_id=ZHANG_OPEN_ID)
    )
    await setup.server.acall(
        setup.platform.click(setup.callback, sent, "已解决", open_id=ZHANG_OPEN_ID)
    )
    incident = await setup.service.store.get(incident.id)
    assert incident.arrived_by == "张工" and incident.resolved_by == "张工"
    assert FeishuPlatform.buttons(sent.card) == {}
    assert sent.card["header"]["template"] == "green"


async def test_a_stranger_is_refused_and_logged(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    sent = await alert(setup)
    before = sent.card
    status, answer, _ = await setup.server.acall(
        setup.platform.click(setup.callback, sent, "确认", open_id="ou_somebody_else")
    )
    assert status == 200 and answer == {}  # the card stays as it was
    assert sent.card == before
    [incident] = await setup.service.store.active()
    assert incident.state == "open"
    assert any(
        "ou_somebody_else" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records
    )


@pytest.mark.parametrize(
    ("how", "expected"),
    [("wrong-signature", 401), ("expired-timestamp", 403), ("replay", 403)],
)
async def test_forged_late_or_replayed_callbacks_change_nothing(
    setup: Setup, how: str, expected: int
) -> None:
    sent = await alert(setup)
    click = setup.platform.click
    if how == "wrong-signature":
        status, _, _ = await setup.server.acall(
            click(setup.callback, sent, "确认", open_id=ZHANG_OPEN_ID, token="not-the-token")
        )
    elif how == "expired-timestamp":
        old = int(time.time()) - 3600
        status, _, _ = await setup.server.acall(
            click(setup.callback, sent, "确认", open_id=ZHANG_OPEN_ID, timestamp=old)
        )
    else:
        # the first "I'm on my way" is taken; the same request sent again is not
        first, _, request = await setup.server.acall(
            click(setup.callback, sent, "我在路上", open_id=ZHANG_OPEN_ID)
        )
        assert first == 200
        status, _, _ = await setup.server.acall(
            click(setup.callback, sent, "我在路上", open_id=ZHANG_OPEN_ID, replay_of=request)
        )
    assert status == expected
    [incident] = await setup.service.store.active()
    assert incident.state == "open"
    entries = [e.action for e in await setup.service.store.audit_log(incident.id)]
    assert entries.count("arrived") == (1 if how == "replay" else 0)


async def test_the_url_check_is_answered_only_with_the_right_token(setup: Setup) -> None:
    status, (answer, challenge) = await setup.server.acall(
        setup.platform.verify_url(setup.callback)
    )
    assert status == 200 and answer == {"challenge": challenge}
    status, _ = await setup.server.acall(setup.platform.verify_url(setup.callback, token="wrong"))
    assert status == 401


async def test_acknowledged_on_the_console_the_card_in_the_group_is_redrawn(setup: Setup) -> None:
    sent = await alert(setup)
    [incident] = await setup.service.store.active()
    await setup.service.ack(incident.id, "李工")  # the console's path, not a click
    await setup.service.redrawer.wait()
    assert setup.platform.patched == [sent.message_id]
    assert f"#{incident.id} 已由李工于" in FeishuPlatform.text(sent.card)
    assert list(FeishuPlatform.buttons(sent.card)) == ["我在路上", "已解决"]
