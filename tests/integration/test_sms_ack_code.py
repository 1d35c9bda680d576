"""SMS with a short acknowledge code: the SMS (to a local gateway) ends with the code; the
gateway's reply report (POSTed the way Tencent Cloud SMS reports replies: JSON with mobile,
nationcode, text, time) acknowledges under the name of the roster person whose phone sent
it; a wrong token, a stranger's phone, a made-up code and a replayed report do not; and the
code typed in on the web console acknowledges under the signed-in user's name."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from alerting.config import AlertingConfig
from alerting.service import AlertService
from collector.accounts import UserDirectory, UserEntry, save_users
from collector.api.access import Access
from collector.api.server import make_app
from collector.api.view import DaemonView, ServiceIncidents
from inventory.credentials import Credentials
from tests.fixtures.peers import free_port
from tests.unit.alerting_helpers import fault, inventory
from tests.unit.test_console_access import ROLES, hashes, sign_in

pytestmark = pytest.mark.integration
__all__ = ["hashes"]  # the fixture, imported for pytest

ACK_SECRET = "sms-ack-secret-test"  # test only
REPLY_TOKEN = "sms-reply-token-test"  # test only


@dataclass
class Setup:
    service: AlertService
    texts: list[dict[str, Any]]
    client: TestClient[Any, Any]


@pytest.fixture
async def setup(tmp_path: Path, hashes: dict[str, str]) -> AsyncIterator[Setup]:
    texts: list[dict[str, Any]] = []

    async def gateway(request: web.Request) -> web.Response:
        texts.append(await request.json())
        return web.json_response({"result": 0})

    app = web.Application()
    app.router.add_post("/sms/send", gateway)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    config = AlertingConfig.model_validate(
        {
            "language": "zh",
            "group": {"wait": "0s"},
            "notifiers": [
                {
                    "type": "sms",
                    "credentials": "sms",
                    "url": f"http://127.0.0.1:{port}/sms/send",
                    "ack_code": True,
                }
            ],
            "duty": {
                "timezone": "Asia/Shanghai",
                "people": {"zhang": {"name": "张工", "phone": "13800000001"}},
                "shifts": [
                    {"name": "all", "start": "00:00", "end": "00:00", "rotation": ["zhang"]}
                ],
            },
        }
    )
    credentials = Credentials({"sms": {"ack_secret": ACK_SECRET, "reply_token": REPLY_TOKEN}})
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
    users = tmp_path / "users.yaml"
    save_users(
        users,
        {n: UserEntry(name=n, role=ROLES[n], password=h, changed=1.0) for n, h in hashes.items()},
    )
    access = Access(lambda: None, UserDirectory(users), time.time)
    client: TestClient[Any, Any] = TestClient(
        TestServer(make_app(view, lambda: None, access), host="127.0.0.1")
    )
    await client.start_server()
    try:
        yield Setup(service, texts, client)
    finally:
        await client.close()
        await service.close()
        await runner.cleanup()


async def sms(setup: Setup) -> tuple[str, str]:
    await setup.service.handle([fault("ups1", level=1, ts=time.time())])
    await setup.service.tick()
    [text] = setup.texts
    found = re.search(r"回复(\d+-\d{4})确认$", text["text"])
    assert found, text["text"]
    return text["phone"], found.group(1)


def report(mobile: str, text: str) -> bytes:
    return json.dumps(
        {
            "extend": "",
            "mobile": mobile,
            "nationcode": "86",
            "sign": "机房",
            "text": text,
            "time": int(time.time()),
        }
    ).encode()


async def reply(setup: Setup, body: bytes, token: str = REPLY_TOKEN) -> int:
    answer = await setup.client.post(
        f"/callback/sms?token={token}", data=body, headers={"Content-Type": "application/json"}
    )
    return answer.status


async def test_replying_with_the_code_acknowledges_under_the_senders_name(setup: Setup) -> None:
    phone, code = await sms(setup)
    assert phone == "13800000001"
    assert await reply(setup, report("13800000001", code)) == 200
    [incident] = await setup.service.store.active()
    assert code.startswith(f"{incident.id}-")
    assert incident.state == "acknowledged" and incident.acknowledged_by == "张工"


@pytest.mark.parametrize(
    ("how", "expected"),
    [("wrong-token", 401), ("stranger", 200), ("made-up", 400), ("replay", 403)],
)
async def test_what_does_not_acknowledge(setup: Setup, how: str, expected: int) -> None:
    _, code = await sms(setup)
    number, tag = code.split("-")
    if how == "wrong-token":
        status = await reply(setup, report("13800000001", code), token="guess")
    elif how == "stranger":
        status = await reply(setup, report("13900000009", code))
    elif how == "made-up":
        status = await reply(setup, report("13800000001", f"{number}-{(int(tag) + 1) % 10000:04d}"))
    else:
        body = report("13800000001", f"好的 {code}")
        assert await reply(setup, body) == 200
        [incident] = await setup.service.store.active()
        await setup.service.store.update_incident(incident.id, {"state": "open"})  # as if undone
        status = await reply(setup, body)
    assert status == expected
    [incident] = await setup.service.store.active()
    assert incident.state == "open"


async def test_the_code_typed_in_on_the_console_acknowledges_under_the_user(setup: Setup) -> None:
    _, code = await sms(setup)
    csrf = await sign_in(setup.client, "wang")
    page = await (await setup.client.get("/console")).text()
    assert 'action="/console/ack-code"' in page
    bad = await setup.client.post(
        "/console/ack-code", data={"code": "1-0000", "csrf": csrf}, allow_redirects=False
    )
    assert bad.status == 303 and "problem=" in bad.headers["Location"]
    good = await setup.client.post(
        "/console/ack-code",
        data={"code": code.replace("-", ""), "csrf": csrf},
        allow_redirects=False,
    )
    [incident] = await setup.service.store.active()
    assert good.headers["Location"] == f"/console/incidents/{incident.id}?done=ack"
    assert incident.state == "acknowledged" and incident.acknowledged_by == "wang"
    # without the session's CSRF token nothing happens
    assert (
        await setup.client.post("/console/ack-code", data={"code": code}, allow_redirects=False)
    ).status == 403
