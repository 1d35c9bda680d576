"""A phone call that speaks the alert: Aliyun voice notification (语音通知, SingleCallByTts) or
Tencent Cloud voice message (语音消息, SendTtsVoice), written as plain signed HTTP from their
API documentation (alerting/notifiers/cloudsign.py has the signatures).

    - type: voice
      name: phone
      provider: aliyun                 # aliyun | tencent
      credentials: voice-aliyun        # aliyun: access_key_id, access_key_secret
      template: TTS_287135062          # tencent: secret_id, secret_key; template: its id
      levels: [1]

The speech is the service's text-to-speech template filled with the ticket number, the device
and the fault in Chinese (template variables `ticket`, `device`, `fault` for Aliyun; the three
parameters in that order for Tencent), e.g. "机房监控告警，${ticket}号工单，设备${device}，
${fault}，请尽快确认。". One call per phone number of the people told.

The channel rings only when an escalation tier names it (`notifiers: [phone]`), and only for
the alert itself (opened, reopened, escalated): a recovery, a reminder or a report does not
ring anyone, and a level-1 fault left alone rings once per tier, at the tier's `after`. The
service's answer names the call (CallId), which is logged; its call report, where the service
pushes one to `POST /callback/NAME`, is recorded in the incident's audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode, urlsplit

from pydantic import Field

from alerting.chat.channel import CardNotifier, Inbound, Recorded, Refused, Reply
from alerting.messages import ALERT_KINDS, Message, summary_of
from alerting.notifiers.base import Contact, DeliveryError, NotifierSettings, phones
from alerting.notifiers.cloudsign import aliyun_signature, tencent_authorization
from alerting.notifiers.http import HttpSender

log = logging.getLogger("roomwatch.alerting")

ALIYUN_URL = "https://dyvmsapi.aliyuncs.com/"
TENCENT_URL = "https://vms.tencentcloudapi.com/"
TENCENT_JSON = "application/json; charset=utf-8"
MAX_VARIABLE = 20  # characters of one template variable: Aliyun refuses longer ones
# Aliyun's codes that a later try can cure (flow control, its own trouble)
ALIYUN_RETRY = ("isv.BUSINESS_LIMIT_CONTROL", "Throttling", "ServiceUnavailable", "InternalError")
TENCENT_RETRY = ("RequestLimitExceeded", "InternalError", "LimitExceeded")


class VoiceSettings(NotifierSettings):
    """A phone call by text-to-speech. `credentials`: `access_key_id` and `access_key_secret`
    (Aliyun) or `secret_id` and `secret_key` (Tencent)."""

    type: Literal["voice"]
    provider: Literal["aliyun", "tencent"]
    template: str  # Aliyun TtsCode / Tencent TemplateId
    url: str | None = None  # the service's endpoint (default: the provider's public one)
    show_number: str | None = None  # Aliyun CalledShowNumber (the number the callee sees)
    sdk_app_id: str | None = None  # Tencent VoiceSdkAppid (required for tencent)
    region: str = "ap-guangzhou"  # Tencent X-TC-Region
    play_times: int = Field(default=2, ge=1, le=3)
    country_code: str = "+86"  # Tencent wants E.164 numbers
    to: list[str] = Field(default_factory=list)  # numbers always called (a NOC desk phone)


def out_id(secret: str, incident: int) -> str:
    """The id roomwatch gives a call, returned in the call report: names the incident and
    proves the report concerns a call roomwatch placed (an HMAC with the channel's secret)."""
    tag = hmac.new(secret.encode(), f"call:{incident}".encode(), hashlib.sha256).hexdigest()
    return f"rw{incident}.{tag[:16]}"


def incident_of(secret: str, ident: str) -> int | None:
    head, _, _tag = ident.partition(".")
    if not head.startswith("rw") or not head[2:].isdigit():
        return None
    number = int(head[2:])
    return number if hmac.compare_digest(out_id(secret, number), ident) else None


def speech(message: Message) -> tuple[int, dict[str, str]] | None:
    """The incident a call is about and its template variables, or None (nothing to ring)."""
    items = [i for i in message.items if i.get("kind") in ("opened", "reopened", "escalated")]
    if not items:
        return None
    item = items[0]
    # the id is what is on the label in the room, the name what people call it
    device = str(item.get("device") or "?")
    if item.get("device_name") and item["device_name"] != device:
        device = f"{device} {item['device_name']}"
    more = f"等{len(items)}项" if len(items) > 1 else ""
    fault = summary_of(item, "zh")
    variables = {
        "ticket": str(item.get("ticket") or item.get("incident")),
        "device": device[:MAX_VARIABLE],
        "fault": (fault[: MAX_VARIABLE - len(more)] + more),
    }
    return int(item["incident"]), variables


class VoiceNotifier(CardNotifier):
    settings = VoiceSettings
    config: VoiceSettings
    platform: ClassVar[str] = "voice"
    only_when_named: ClassVar[bool] = True
    kinds: ClassVar[frozenset[str] | None] = frozenset(ALERT_KINDS) - {"reminder", "level"}

    @classmethod
    def addresses(
        cls, config: VoiceSettings, people: Sequence[Contact]
    ) -> dict[str, list[str]] | None:
        numbers = phones(people)
        return {"phones": numbers} if numbers or config.to else None

    def __init__(self, config: VoiceSettings, secrets_: dict[str, str], state_dir: Path) -> None:
        keys = ("access_key_id", "access_key_secret")
        if config.provider == "tencent":
            keys = ("secret_id", "secret_key")
            if not config.sdk_app_id:
                raise ValueError(f"notifier {config.id!r}: provider tencent needs sdk_app_id")
        missing = [k for k in keys if not secrets_.get(k)]
        if missing:
            raise ValueError(
                f"notifier {config.id!r}: credentials entry {config.credentials!r} lacks {missing}"
            )
        super().__init__(config, secrets_, state_dir)
        self._http = HttpSender(self.name, config.timeout)
        self._secret = secrets_[keys[1]]

    async def send(self, message: Message) -> None:
        what = speech(message)
        if what is None:
            return  # not an alert to ring for (the dispatcher does not queue those)
        incident, variables = what
        numbers = list(dict.fromkeys([*self.config.to, *(message.recipients.get("phones") or [])]))
        if not numbers:
            raise DeliveryError(f"{self.name}: no phone number to call", retryable=False)
        # one failed call retries the message: a second call beats a missing one
        for number in numbers:
            if self.config.provider == "aliyun":
                call_id = await self._aliyun(number, variables, out_id(self._secret, incident))
            else:
                call_id = await self._tencent(number, variables, out_id(self._secret, incident))
            log.info(
                "voice %s: incident %s called %s (call %s)", self.name, incident, number, call_id
            )

    async def _aliyun(self, number: str, variables: dict[str, str], ident: str) -> str:
        params = {
            "AccessKeyId": self._secrets["access_key_id"],
            "Action": "SingleCallByTts",
            "CalledNumber": number,
            "Format": "JSON",
            "OutId": ident,
            "PlayTimes": str(self.config.play_times),
            "RegionId": "cn-hangzhou",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(16),
            "SignatureVersion": "1.0",
            # the signature is checked against Aliyun's own clock
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "TtsCode": self.config.template,
            "TtsParam": json.dumps(variables, ensure_ascii=False),
            "Version": "2017-05-25",
        }
        if self.config.show_number:
            params["CalledShowNumber"] = self.config.show_number
        params["Signature"] = aliyun_signature(self._secrets["access_key_secret"], "POST", params)
        _, body = await self._http.request(
            "POST",
            self.config.url or ALIYUN_URL,
            body=urlencode(params).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        answer = _json(self.name, body)
        code = str(answer.get("Code", ""))
        if code != "OK":
            raise DeliveryError(
                f"{self.name}: Aliyun refused the call: {code} {str(answer.get('Message', ''))[:120]}",
                retryable=code in ALIYUN_RETRY,
            )
        return str(answer.get("CallId", "?"))

    async def _tencent(self, number: str, variables: dict[str, str], ident: str) -> str:
        url = self.config.url or TENCENT_URL
        called = number if number.startswith("+") else f"{self.config.country_code}{number}"
        document = {
            "TemplateId": self.config.template,
            "TemplateParamSet": [variables["ticket"], variables["device"], variables["fault"]],
            "CalledNumber": called,
            "VoiceSdkAppid": self.config.sdk_app_id,
            "PlayTimes": self.config.play_times,
            "SessionContext": ident,
        }
        body = json.dumps(document, ensure_ascii=False).encode()
        host = urlsplit(url).netloc
        timestamp = int(time.time())  # checked against Tencent's clock
        headers = {
            "Content-Type": TENCENT_JSON,
            "Host": host,
            "X-TC-Action": "SendTtsVoice",
            "X-TC-Version": "2020-09-02",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.config.region,
            "Authorization": tencent_authorization(
                self._secrets["secret_id"],
                self._secrets["secret_key"],
                "vms",
                host,
                TENCENT_JSON,
                body,
                timestamp,
            ),
        }
        _, raw = await self._http.request("POST", url, body=body, headers=headers)
        response = _json(self.name, raw).get("Response") or {}
        error = response.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code", ""))
            raise DeliveryError(
                f"{self.name}: Tencent refused the call: {code} {str(error.get('Message', ''))[:120]}",
                retryable=code.startswith(TENCENT_RETRY),
            )
        status = response.get("SendStatus") or {}
        return str(status.get("CallId", "?"))

    # ------------------------------------------------------------ call reports

    def parse_callback(self, inbound: Inbound) -> Reply | Recorded:
        """A call report pushed by the service: Aliyun's VoiceReport (a JSON list of
        `{call_id, out_id, status_code, status_msg, start_time, end_time, duration}`) or
        Tencent's `{"voiceprompt_callback": {callid, result, accept_time, …, session_context}}`.
        Neither is signed; a report is taken only for a call whose id roomwatch made (HMAC)."""
        try:
            document = json.loads(inbound.body)
        except ValueError:
            raise Refused(400, "the call report is not JSON") from None
        reports: list[dict[str, Any]] = []
        if isinstance(document, list):
            for r in document:
                if isinstance(r, dict):
                    reports.append(
                        {
                            "incident": incident_of(self._secret, str(r.get("out_id", ""))),
                            "call": r.get("call_id"),
                            "result": r.get("status_msg") or r.get("status_code"),
                            "code": r.get("status_code"),
                            "duration": r.get("duration"),
                        }
                    )
        elif isinstance(document, dict) and isinstance(document.get("voiceprompt_callback"), dict):
            r = document["voiceprompt_callback"]
            answered = str(r.get("result")) == "0"
            reports.append(
                {
                    "incident": incident_of(self._secret, str(r.get("session_context", ""))),
                    "call": r.get("callid"),
                    "result": "answered" if answered else f"not answered ({r.get('result')})",
                    "code": r.get("result"),
                    "duration": r.get("duration"),
                }
            )
        taken = [r for r in reports if r["incident"] is not None]
        if not taken:
            raise Refused(403, "no report of a call roomwatch placed")
        return Recorded(tuple((r.pop("incident"), "call-report", r) for r in taken))

    async def close(self) -> None:
        await self._http.close()


def _json(name: str, body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        raise DeliveryError(f"{name}: answer is not JSON", retryable=True) from None
    return answer if isinstance(answer, dict) else {}
