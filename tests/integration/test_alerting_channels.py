"""Every alert channel against a real local peer: aiosmtpd for email (plain, STARTTLS with
login, implicit TLS), and aiohttp receivers that check each chat service's payload and
signature the way the service documents them (the signature is recomputed here from the
documented recipe, not with roomwatch's code)."""

from __future__ import annotations

import base64
import email
import email.header
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from alerting.config import AlertingConfig
from alerting.messages import Message, render
from alerting.notifiers import DeliveryError, build_notifier
from alerting.notifiers.base import Notifier
from inventory.credentials import Credentials
from tests.fixtures.peers import free_port
from tests.fixtures.tls import make_server_cert
from tests.unit.alerting_helpers import Clock, fault, inventory

pytestmark = pytest.mark.integration

SECRET = "SEC-test-signing-secret"
TOKEN = "tok-0123456789"


def message(language: str = "zh", phones: list[str] | None = None) -> Message:
    item = {
        "kind": "opened",
        "incident": 7,
        "device": "ups1",
        "device_name": "UPS A",
        "site": "dc1",
        "site_name": "机房一",
        "level": 1,
        "summary": {"zh": "UPS 电池供电", "en": "UPS on battery"},
        "runbook": "Check the mains feed",
        "value": "OB DISCHRG",
        "since": 1_763_870_400.0,
        "ts": 1_763_870_460.0,
        "ack": {"command": "roomwatch incidents ack 7 --by NAME"},
    }
    recipients = {"people": ["zhang"], "names": ["Zhang"], "phones": phones or []}
    return render([item], language, now=1_763_870_460.0, recipients=recipients)


def notifier(entry: dict[str, Any], secrets: dict[str, str], tmp_path: Path) -> Notifier:
    config = AlertingConfig.model_validate({"notifiers": [entry]}).notifiers[0]
    return build_notifier(config, secrets, tmp_path)


# ------------------------------------------------------------------ a local HTTP receiver


class Receiver:
    """Records requests; `reply` decides the answer (status, JSON body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[web.Request, bytes]] = []
        self.reply: Callable[[web.Request, bytes], tuple[int, Any]] = lambda r, b: (
            200,
            {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"},
        )
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((request, body))
        status, answer = self.reply(request, body)
        return web.json_response(answer, status=status)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    rec.port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", rec.port)
    await site.start()
    yield rec
    await runner.cleanup()


async def sent_to(n: Notifier, msg: Message) -> None:
    try:
        await n.send(msg)
    finally:
        await n.close()


# ------------------------------------------------------------------ DingTalk


def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    # documented: base64(HmacSHA256(secret, timestamp + "\n" + secret)), then URL-encoded
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


async def test_dingtalk_robot_gets_signed_markdown_mentioning_the_on_duty(
    receiver: Receiver, tmp_path: Path
) -> None:
    n = notifier(
        {"type": "dingtalk", "url": f"{receiver.url}/robot/send", "credentials": "dt"},
        {"access_token": TOKEN, "secret": SECRET},
        tmp_path,
    )
    await sent_to(n, message(phones=["13800000001"]))
    [(request, body)] = receiver.requests
    assert request.path == "/robot/send"
    assert request.query["access_token"] == TOKEN
    timestamp = request.query["timestamp"]
    assert abs(int(timestamp) / 1000 - time.time()) < 3600  # DingTalk rejects older stamps
    assert unquote(request.query["sign"]) == dingtalk_expected_sign(SECRET, timestamp)
    doc = json.loads(body)
    assert doc["msgtype"] == "markdown"
    assert "ups1" in doc["markdown"]["title"] and "一级" in doc["markdown"]["title"]
    assert doc["at"] == {"atMobiles": ["13800000001"], "isAtAll": False}
    assert "@13800000001" in doc["markdown"]["text"]  # DingTalk needs the @ in the text too


async def test_dingtalk_refusal_with_bad_signature_is_not_retried(
    receiver: Receiver, tmp_path: Path
) -> None:
    receiver.reply = lambda r, b: (200, {"errcode": 310000, "errmsg": "sign not match"})
    n = notifier(
        {"type": "dingtalk", "url": f"{receiver.url}/robot/send", "credentials": "dt"},
        {"access_token": TOKEN, "secret": "wrong"},
        tmp_path,
    )
    with pytest.raises(DeliveryError) as caught:
        await sent_to(n, message())
    assert not caught.value.retryable
    assert "310000" in str(caught.value)
    assert TOKEN not in str(caught.value) and "wrong" not in str(caught.value)


# ------------------------------------------------------------------ WeCom


async def test_wecom_robot_gets_markdown_with_its_key(receiver: Receiver, tmp_path: Path) -> None:
    n = notifier(
        {"type": "wecom", "url": f"{receiver.url}/cgi-bin/webhook/send", "credentials": "wc"},
        {"key": TOKEN},
        tmp_path,
    )
    await sent_to(n, message())
    [(request, body)] = receiver.requests
    assert request.path == "/cgi-bin/webhook/send" and request.query["key"] == TOKEN
    doc = json.loads(body)
    assert doc["msgtype"] == "markdown"
    assert "ups1" in doc["markdown"]["content"]
    assert len(doc["markdown"]["content"].encode()) <= 4096


async def test_wecom_mentions_people_by_phone_in_a_text_message(
    receiver: Receiver, tmp_path: Path
) -> None:
    n = notifier(
        {"type": "wecom", "url": f"{receiver.url}/cgi-bin/webhook/send", "credentials": "wc"},
        {"key": TOKEN},
        tmp_path,
    )
    await sent_to(n, message(phones=["13800000001"]))
    doc = json.loads(receiver.requests[0][1])
    assert doc["msgtype"] == "text"
    assert doc["text"]["mentioned_mobile_list"] == ["13800000001"]
    assert "UPS 电池供电" in doc["text"]["content"]


# ------------------------------------------------------------------ Feishu


def feishu_expected_sign(secret: str, timestamp: str) -> str:
    # documented: HmacSHA256 keyed with timestamp + "\n" + secret over an empty message, base64
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


async def test_feishu_bot_gets_a_signed_post(receiver: Receiver, tmp_path: Path) -> None:
    n = notifier(
        {"type": "feishu", "url": f"{receiver.url}/open-apis/bot/v2/hook", "credentials": "fs"},
        {"token": TOKEN, "secret": SECRET},
        tmp_path,
    )
    await sent_to(n, message(language="en"))
    [(request, body)] = receiver.requests
    assert request.path == f"/open-apis/bot/v2/hook/{TOKEN}"
    doc = json.loads(body)
    assert doc["sign"] == feishu_expected_sign(SECRET, doc["timestamp"])
    assert abs(int(doc["timestamp"]) - time.time()) < 3600
    assert doc["msg_type"] == "post"
    post = doc["content"]["post"]["en_us"]
    assert "[L1 ALERT]" in post["title"]
    lines = [seg["text"] for para in post["content"] for seg in para]
    assert any("roomwatch incidents ack 7" in line for line in lines)


async def test_feishu_error_code_in_a_200_answer_is_a_failure(
    receiver: Receiver, tmp_path: Path
) -> None:
    receiver.reply = lambda r, b: (200, {"code": 19021, "msg": "sign match fail"})
    n = notifier(
        {"type": "feishu", "url": f"{receiver.url}/hook", "credentials": "fs"},
        {"token": TOKEN, "secret": SECRET},
        tmp_path,
    )
    with pytest.raises(DeliveryError) as caught:
        await sent_to(n, message())
    assert not caught.value.retryable
    assert TOKEN not in str(caught.value)


# ------------------------------------------------------------------ webhook and SMS


async def test_webhook_posts_json_with_bearer_token_and_body_signature(
    receiver: Receiver, tmp_path: Path
) -> None:
    n = notifier(
        {"type": "webhook", "url": f"{receiver.url}/hooks/alerts", "credentials": "wh"},
        {"token": TOKEN, "secret": SECRET},
        tmp_path,
    )
    await sent_to(n, message(language="en"))
    [(request, body)] = receiver.requests
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert request.headers["X-Roomwatch-Signature"] == expected
    doc = json.loads(body)
    assert doc["kind"] == "opened" and doc["level"] == 1 and doc["incidents"] == [7]
    assert doc["items"][0]["device"] == "ups1"


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (401, False)]
)
async def test_http_status_decides_whether_a_failure_is_retried(
    receiver: Receiver, tmp_path: Path, status: int, retryable: bool
) -> None:
    receiver.reply = lambda r, b: (status, {"error": "no"})
    n = notifier({"type": "webhook", "url": f"{receiver.url}/x?token={TOKEN}"}, {}, tmp_path)
    with pytest.raises(DeliveryError) as caught:
        await sent_to(n, message())
    assert caught.value.retryable is retryable
    assert str(status) in str(caught.value)
    assert TOKEN not in str(caught.value)  # tokens in URLs never reach an error or a log


async def test_nothing_listening_is_a_retryable_failure(tmp_path: Path) -> None:
    n = notifier({"type": "webhook", "url": f"http://127.0.0.1:{free_port()}/x"}, {}, tmp_path)
    with pytest.raises(DeliveryError) as caught:
        await sent_to(n, message())
    assert caught.value.retryable


async def test_sms_gateway_gets_one_request_per_phone_from_the_template(
    receiver: Receiver, tmp_path: Path
) -> None:
    n = notifier(
        {
            "type": "sms",
            "url": f"{receiver.url}/sms/send",
            "credentials": "sms",
            "template": '{{"to": "{phone}", "msg": "{text}", "key": "{api_key}"}}',
            "to": ["13900000000"],
            "max_chars": 70,
        },
        {"api_key": 'k"ey'},
        tmp_path,
    )
    await sent_to(n, message(phones=["13800000001"]))
    docs = [json.loads(body) for _, body in receiver.requests]
    assert [d["to"] for d in docs] == ["13900000000", "13800000001"]
    assert docs[0]["key"] == 'k"ey'  # JSON-escaped, so the body stays valid JSON
    assert len(docs[0]["msg"]) <= 70 and "ups1" in docs[0]["msg"]


# ------------------------------------------------------------------ email


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def subject(self, index: int) -> str:
        raw = self.messages[index]["Subject"] or ""
        return str(email.header.make_header(email.header.decode_header(raw)))


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"ops", b"pa55")
    return AuthResult(success=ok, handled=False)


def _tls_context(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    cert = make_server_cert(tmp_path, days_valid=30)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert, cert.key)
    assert cert.ca is not None
    return context, cert.ca


@pytest.fixture
def smtp_plain() -> Any:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, box
    controller.stop()


async def test_email_without_tls_reaches_the_sink_with_level_and_device_in_subject(
    smtp_plain: Any, tmp_path: Path
) -> None:
    controller, box = smtp_plain
    n = notifier(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": controller.port,
            "security": "none",
            "sender": "roomwatch@example.org",
            "to": ["noc@example.org"],
        },
        {},
        tmp_path,
    )
    msg = message(language="zh")
    msg.recipients["emails"] = ["zhang@example.org"]
    await sent_to(n, msg)
    assert box.envelopes == [("roomwatch@example.org", ["noc@example.org", "zhang@example.org"])]
    subject = box.subject(0)
    assert "一级" in subject and "ups1" in subject
    body = box.messages[0].get_payload(decode=True)
    assert isinstance(body, bytes)
    assert "roomwatch incidents ack 7 --by NAME" in body.decode("utf-8")
    assert box.messages[0]["X-Roomwatch-Incidents"] == "7"


async def test_email_with_starttls_and_login(tmp_path: Path) -> None:
    context, ca = _tls_context(tmp_path)
    box = Mailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=_auth,
        auth_require_tls=True,
    )
    controller.start()
    try:
        entry = {
            "type": "email",
            "host": "127.0.0.1",
            "port": controller.port,
            "security": "starttls",
            "ca_file": str(ca),
            "credentials": "smtp",
            "sender": "roomwatch@example.org",
            "to": ["noc@example.org"],
        }
        await sent_to(notifier(entry, {"username": "ops", "password": "pa55"}, tmp_path), message())
        assert len(box.messages) == 1
        wrong = notifier(entry, {"username": "ops", "password": "nope"}, tmp_path)
        with pytest.raises(DeliveryError) as caught:
            await sent_to(wrong, message())
        assert not caught.value.retryable
        assert "nope" not in str(caught.value)
    finally:
        controller.stop()


async def test_email_with_implicit_tls_checks_the_certificate(tmp_path: Path) -> None:
    context, ca = _tls_context(tmp_path)
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    controller.start()
    try:
        entry = {
            "type": "email",
            "host": "127.0.0.1",
            "port": controller.port,
            "security": "tls",
            "sender": "roomwatch@example.org",
            "to": ["noc@example.org"],
        }
        with pytest.raises(DeliveryError) as caught:  # the system CAs do not know this server
            await sent_to(notifier(entry, {}, tmp_path), message())
        assert not caught.value.retryable
        await sent_to(notifier({**entry, "ca_file": str(ca)}, {}, tmp_path), message())
        assert len(box.messages) == 1
    finally:
        controller.stop()


# ------------------------------------------------------------------ through the service


async def test_dead_receiver_that_comes_back_after_a_restart_gets_each_alert_once(
    tmp_path: Path,
) -> None:
    from alerting.service import AlertService

    port = free_port()
    config = AlertingConfig.model_validate(
        {
            "language": "en",
            "group": {"wait": "0s"},
            "retry": {"initial": "1s", "max": "2s"},
            "notifiers": [{"type": "webhook", "url": f"http://127.0.0.1:{port}/hook"}],
        }
    )
    clock = Clock()
    url = f"sqlite:///{tmp_path / 'tickets.db'}"

    async def open_service() -> AlertService:
        svc = await AlertService.open(config, url, inventory(), Credentials({}), clock)
        svc.delivery_budget = None
        return svc

    svc = await open_service()
    await svc.handle([fault("srv1", level=1)])
    for _ in range(5):
        clock.advance(2)
        await svc.tick()
    await svc.close()

    received: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        svc = await open_service()
        try:
            for _ in range(5):
                clock.advance(2)
                await svc.tick()
            await svc.handle([fault("srv1", level=1, state="resolved")])
            for _ in range(3):
                clock.advance(2)
                await svc.tick()
        finally:
            await svc.close()
        svc = await open_service()
        try:
            clock.advance(5)
            await svc.tick()
        finally:
            await svc.close()
    finally:
        await runner.cleanup()
    assert [r["kind"] for r in received] == ["opened", "resolved"]
