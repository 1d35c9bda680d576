"""The contract every HTTP channel keeps, checked against one local receiver: 5xx, 429 and a
dead port are retryable, other 4xx are not, and no secret appears in an error or a repr."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from alerting.config import AlertingConfig
from alerting.messages import render
from alerting.notifiers import DeliveryError, build_notifier
from tests.fixtures.peers import free_port

pytestmark = pytest.mark.integration

SECRETS = {
    "access_token": "AT-secret-1",
    "secret": "SIGN-secret-2",
    "key": "KEY-secret-3",
    "token": "TOK-secret-4",
    "api_key": "API-secret-5",
}
CHANNELS: dict[str, dict[str, Any]] = {
    "webhook": {"url": "{base}/hook"},
    "dingtalk": {"url": "{base}/robot/send"},
    "wecom": {"url": "{base}/cgi-bin/webhook/send"},
    "feishu": {"url": "{base}/open-apis/bot/v2/hook"},
    "sms": {
        "url": "{base}/sms",
        "to": ["13800000000"],
        "template": '{{"p": "{phone}", "t": "{text}", "k": "{api_key}"}}',
    },
}


class Answer:
    status = 200


@pytest.fixture
async def base() -> AsyncIterator[tuple[str, Answer]]:
    answer = Answer()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"errcode": 0, "code": 0}, status=answer.status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}", answer
    await runner.cleanup()


def build(kind: str, base_url: str, tmp_path: Path) -> Any:
    entry = {"type": kind, "credentials": "c"}
    entry.update(
        {k: (v.format(base=base_url) if k == "url" else v) for k, v in CHANNELS[kind].items()}
    )
    config = AlertingConfig.model_validate({"notifiers": [entry]}).notifiers[0]
    return build_notifier(config, SECRETS, tmp_path)


def message() -> Any:
    item = {"kind": "opened", "incident": 1, "device": "d1", "level": 2, "summary": {"en": "x"}}
    return render([item], "en", now=0.0, recipients={"phones": ["13800000001"]})


def assert_no_secret(text: str) -> None:
    for secret in SECRETS.values():
        assert secret not in text


@pytest.mark.parametrize("kind", sorted(CHANNELS))
@pytest.mark.parametrize(
    ("status", "retryable"), [(200, None), (502, True), (429, True), (403, False)]
)
async def test_channel_classifies_answers_and_keeps_secrets(
    base: tuple[str, Answer], tmp_path: Path, kind: str, status: int, retryable: bool | None
) -> None:
    url, answer = base
    answer.status = status
    notifier = build(kind, url, tmp_path)
    assert_no_secret(repr(notifier))
    try:
        if retryable is None:
            await notifier.send(message())
            return
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(message())
        assert caught.value.retryable is retryable
        assert_no_secret(str(caught.value))
    finally:
        await notifier.close()


@pytest.mark.parametrize("kind", sorted(CHANNELS))
async def test_channel_with_nobody_listening_is_retryable(tmp_path: Path, kind: str) -> None:
    notifier = build(kind, f"http://127.0.0.1:{free_port()}", tmp_path)
    try:
        with pytest.raises(DeliveryError) as caught:
            await notifier.send(message())
        assert caught.value.retryable
        assert_no_secret(str(caught.value))
    finally:
        await notifier.close()
