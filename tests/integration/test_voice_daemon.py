"""A level-1 fault left alone with the real daemon (`roomwatch run`): a website goes down and
nobody acknowledges; the voice channel (a stand-in of Aliyun's voice service that checks the
signature, tests/fixtures/voice_platforms.py) rings the person on duty, then the team lead,
then the manager, each once, at the tiers' times (seconds here, minutes in a machine room)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fixtures.ops_daemon import http, start_daemon, stop_daemon, write_config
from tests.fixtures.peers import free_port, wait_until
from tests.fixtures.threaded_app import ThreadedApp
from tests.fixtures.voice_platforms import ALIYUN_KEY_ID, ALIYUN_KEY_SECRET, AliyunVoice
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration

TOKEN = "voice-daemon-token-test"  # test only
TIERS = (3, 6, 9)  # seconds after the incident opened: on duty, team lead, manager
NUMBERS = ("13800000001", "13800000002", "13800000003")


def config(voice_url: str) -> str:
    on_duty, lead, manager = TIERS
    tiers = (
        "[{after: 0s, notify: [on-duty]},"
        f" {{after: {on_duty}s, notify: [on-duty], notifiers: [phone]}},"
        f' {{after: {lead}s, notify: ["role:team-lead"], notifiers: [phone]}},'
        f' {{after: {manager}s, notify: ["role:manager"], notifiers: [phone]}}]'
    )
    return (
        "    - type: voice\n"
        "      name: phone\n"
        "      provider: aliyun\n"
        "      credentials: voice\n"
        "      template: TTS_287135062\n"
        f"      url: {voice_url}/\n"
        "  group: {wait: 0s}\n"
        f"  escalation: {{1: {tiers}, 2: {tiers}, 3: {tiers}}}\n"
        "  duty:\n"
        "    people:\n"
        f"      zhang: {{name: Zhang, phone: '{NUMBERS[0]}'}}\n"
        f"      li: {{name: Li, phone: '{NUMBERS[1]}'}}\n"
        f"      wang: {{name: Wang, phone: '{NUMBERS[2]}'}}\n"
        "    roles: {team-lead: [li], manager: [wang]}\n"
        '    shifts: [{name: all, start: "00:00", end: "00:00", rotation: [zhang]}]\n'
    )


INVENTORY = """
sites:
  - id: dc1
    name: DC One
devices:
  - id: shop
    name: Web shop
    site: dc1
    kind: website
    criticality: 1
    probes:
      - type: http
        url: http://127.0.0.1:{port}/
        interval: 1s
        timeout: 2s
"""


@dataclass
class Room:
    voice: AliyunVoice
    shop: Website
    base: str

    def incident(self) -> dict[str, Any] | None:
        reply = http("GET", self.base + "/api/incidents", TOKEN)
        found = [i for i in reply.json()["incidents"] if i["device"] == "shop"]
        return found[0] if found else None


@pytest.fixture
def room(tmp_path: Any) -> Iterator[Room]:
    voice = AliyunVoice()
    server = ThreadedApp(voice.app())
    shop = Website()
    port = free_port()
    files = write_config(
        tmp_path,
        INVENTORY.format(port=shop.port),
        f'{{listen: "127.0.0.1:{port}", credentials: api}}',
        credentials={
            "api": {"token": TOKEN},
            "voice": {"access_key_id": ALIYUN_KEY_ID, "access_key_secret": ALIYUN_KEY_SECRET},
        },
        extra=config(server.url),
        api_port=port,
    )
    proc = start_daemon(files)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http("GET", base + "/api/health", TOKEN).status == 200, 30, "roomwatch")
        yield Room(voice, shop, base)
        assert stop_daemon(proc) == 0
    finally:
        stop_daemon(proc)
        shop.close()
        server.close()


def test_an_unanswered_level_one_rings_each_tier_once_at_its_time(room: Room) -> None:
    room.shop.healthy = False
    wait_until(lambda: room.incident() is not None, 30, "the shop's incident")
    incident = room.incident()
    assert incident is not None and incident["level"] == 1
    wait_until(lambda: len(room.voice.calls) >= 3, 30, "three calls")
    time.sleep(4)  # past the last tier: nothing more may ring
    calls = room.voice.calls
    assert [c.number for c in calls] == list(NUMBERS)
    assert not room.voice.refused
    opened = float(incident["active_since"])  # what the tiers' `after` counts from
    for call, after in zip(calls, TIERS, strict=True):
        # the daemon's clocks run about once a second; a call is due at its tier's `after`
        assert after - 0.5 <= call.at - opened <= after + 3.0, (after, call.at - opened)
    assert "号工单" in calls[0].spoken and "shop" in calls[0].spoken
    still = room.incident()
    assert still is not None and still["state"] == "open"
