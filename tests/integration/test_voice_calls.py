"""The voice channel against stand-ins of Aliyun's and Tencent's voice services
(tests/fixtures/voice_platforms.py, which check each signature by the services' recipes): a
level-1 fault that nobody acknowledges rings the person on duty, then the next tiers, once per
tier at the configured times (short intervals on a virtual clock); acknowledging stops the
calls; a recovery or a reminder rings nobody; the call report lands in the audit log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from alerting.chat.channel import Inbound
from alerting.config import AlertingConfig
from alerting.service import AlertService
from inventory.credentials import Credentials
from tests.fixtures.peers import free_port
from tests.fixtures.voice_platforms import (
    ALIYUN_KEY_ID,
    ALIYUN_KEY_SECRET,
    TENCENT_SECRET_ID,
    TENCENT_SECRET_KEY,
    AliyunVoice,
    TencentVoice,
    VoiceService,
    voice_entry,
)
from tests.unit.alerting_helpers import T0, Clock, fault, inventory

pytestmark = pytest.mark.integration

PEOPLE = {
    "zhang": {"name": "张工", "phone": "13800000001"},
    "li": {"name": "李工", "phone": "13800000002"},
    "wang": {"name": "王经理", "phone": "13800000003"},
}


@pytest.fixture(params=["aliyun", "tencent"])
async def voice(request: pytest.FixtureRequest) -> AsyncIterator[tuple[VoiceService, str]]:
    service: VoiceService = AliyunVoice() if request.param == "aliyun" else TencentVoice()
    runner = web.AppRunner(service.app(), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield service, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def open_service(
    tmp_path: Path, clock: Clock, service: VoiceService, url: str
) -> AlertService:
    config = AlertingConfig.model_validate(
        {
            "language": "zh",
            "group": {"wait": "0s"},
            "repeat": {"1": "1m"},  # reminders every minute: they must not ring
            "notifiers": [
                {"type": "file", "path": str(tmp_path / "alerts.jsonl")},
                {
                    "type": "voice",
                    "name": "phone",
                    "credentials": "voice",
                    "levels": [1],
                    **voice_entry(service, url),
                },
            ],
            "escalation": {
                "1": [
                    {"after": "0s", "notify": ["on-duty"]},
                    {"after": "2m", "notify": ["on-duty"], "notifiers": ["phone", "file"]},
                    {"after": "4m", "notify": ["role:team-lead"], "notifiers": ["phone"]},
                    {"after": "6m", "notify": ["role:manager"], "notifiers": ["phone"]},
                ]
            },
            "duty": {
                "timezone": "Asia/Shanghai",
                "people": PEOPLE,
                "roles": {"team-lead": ["li"], "manager": ["wang"]},
                "shifts": [
                    {"name": "all", "start": "00:00", "end": "00:00", "rotation": ["zhang"]}
                ],
            },
        }
    )
    secrets = (
        {"access_key_id": ALIYUN_KEY_ID, "access_key_secret": ALIYUN_KEY_SECRET}
        if isinstance(service, AliyunVoice)
        else {"secret_id": TENCENT_SECRET_ID, "secret_key": TENCENT_SECRET_KEY}
    )
    alerts = await AlertService.open(
        config,
        f"sqlite:///{tmp_path / 'tickets.db'}",
        inventory(),
        Credentials({"voice": secrets}),
        clock,
        state_dir=tmp_path,
    )
    alerts.delivery_budget = None
    return alerts


def report(body: bytes) -> Inbound:
    return Inbound("POST", {}, {"Content-Type": "application/json"}, body)


def number(call_number: str) -> str:
    return call_number.removeprefix("+86")


async def run_until(
    alerts: AlertService, clock: Clock, until: float, service: VoiceService
) -> list[tuple[float, str]]:
    """Tick every 15 virtual seconds; (seconds after T0, number) of each call as it rang."""
    rang: list[tuple[float, str]] = []
    while clock.now < T0 + until:
        before = len(service.calls)
        await alerts.tick()
        rang += [(clock.now - T0, number(c.number)) for c in service.calls[before:]]
        clock.advance(15)
    return rang


async def test_a_level_one_fault_left_alone_rings_each_tier_once_at_its_time(
    tmp_path: Path, voice: tuple[VoiceService, str]
) -> None:
    service, url = voice
    clock = Clock()
    alerts = await open_service(tmp_path, clock, service, url)
    try:
        await alerts.handle([fault("ups1", level=1, ts=T0)])
        rang = await run_until(alerts, clock, 9 * 60, service)
        assert rang == [(120, "13800000001"), (240, "13800000002"), (360, "13800000003")]
        assert not service.refused
        [incident] = await alerts.store.active()
        # what the phone says: the ticket number, the device and the fault, in Chinese
        spoken = service.calls[0].spoken
        assert f"{incident.ticket or incident.id}号工单" in spoken
        assert "ups1 UPS A" in spoken and "CPU 过高" in spoken
        # the recovery rings nobody
        await alerts.resolve(incident.id, "张工")
        await run_until(alerts, clock, 11 * 60, service)
        assert len(service.calls) == 3
    finally:
        await alerts.close()


async def test_acknowledging_after_the_first_call_stops_the_next_ones(
    tmp_path: Path, voice: tuple[VoiceService, str]
) -> None:
    service, url = voice
    clock = Clock()
    alerts = await open_service(tmp_path, clock, service, url)
    try:
        await alerts.handle([fault("ups1", level=1, ts=T0)])
        rang = await run_until(alerts, clock, 3 * 60, service)
        assert rang == [(120, "13800000001")]
        [incident] = await alerts.store.active()
        await alerts.ack(incident.id, "张工")
        assert await run_until(alerts, clock, 9 * 60, service) == []
    finally:
        await alerts.close()


async def test_the_call_report_is_recorded_and_a_forged_one_is_not(
    tmp_path: Path, voice: tuple[VoiceService, str]
) -> None:
    service, url = voice
    clock = Clock()
    alerts = await open_service(tmp_path, clock, service, url)
    try:
        await alerts.handle([fault("ups1", level=1, ts=T0)])
        await run_until(alerts, clock, 3 * 60, service)
        [call] = service.calls
        [incident] = await alerts.store.active()
        reply = await alerts.chat_callback(
            "phone", report(type(service).report(call, answered=False))
        )
        assert reply.status == 200
        [entry] = [
            e for e in await alerts.store.audit_log(incident.id) if e.action == "call-report"
        ]
        assert entry.actor == "phone" and entry.detail["call"] == call.call_id
        assert "未接听" in json.dumps(entry.detail, ensure_ascii=False) or "not answered" in str(
            entry.detail
        )
        # a report for a call roomwatch did not place (a made-up id) is refused
        call.ident = f"rw{incident.id}.0000000000000000"
        forged = await alerts.chat_callback("phone", report(type(service).report(call)))
        assert forged.status == 403
    finally:
        await alerts.close()
