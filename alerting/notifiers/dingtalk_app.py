"""DingTalk app robot (企业内部应用机器人): each alert is an interactive card (互动卡片) in a group,
with Acknowledge / I'm on my way / Resolve buttons; clicks come back over DingTalk's Stream
connection, which roomwatch opens itself, so no public URL is needed (alerting/chat/
dingtalk_stream.py).

    - type: dingtalk-app
      name: dingtalk-cards
      credentials: dingtalk-app      # entry: client_id (AppKey), client_secret (AppSecret)
      open_conversation_id: cidXXXXXXXX==
      card_template_id: 5c3a…b1.schema

Sending: `POST {api}/v1.0/oauth2/accessToken` with `{appKey, appSecret}` gives `accessToken`
(valid `expireIn` seconds); `POST {api}/v1.0/card/instances/createAndDeliver` with header
`x-acs-dingtalk-access-token` and `{cardTemplateId, outTrackId, callbackType: "STREAM",
cardData: {cardParamMap}, openSpaceId: "dtv1.card//IM_GROUP.{open_conversation_id}",
imGroupOpenSpaceModel, imGroupOpenDeliverModel: {robotCode}}`.

The card template (made once in DingTalk's card builder, see docs/alerting.md) shows the string
variables `title`, `markdown` and `status`, and three buttons whose action ids are `ack`,
`arrive` and `resolve`, each shown while `can_ack` / `can_arrive` / `can_resolve` is "true".
A click's answer sets those variables again, which DingTalk draws in place.

`outTrackId`, chosen by roomwatch, names the incidents of the card (`rw.12_13.<random>`), so a
click needs nothing stored to know what it is about."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from alerting.chat.cards import ACTIONS, Card, Click, Outcome, card_of
from alerting.chat.channel import CallbackHandler, CardNotifier, Refused, Reply, Verified
from alerting.messages import Message, truncate
from alerting.notifiers.base import Contact, DeliveryError, NotifierSettings
from alerting.notifiers.http import HttpSender


class DingTalkAppSettings(NotifierSettings):
    """DingTalk app robot sending interactive cards, with clicks over Stream mode.
    `credentials`: `client_id` (AppKey) and `client_secret` (AppSecret)."""

    type: Literal["dingtalk-app"]
    open_conversation_id: str
    card_template_id: str
    robot_code: str | None = None  # default: the app's client_id (AppKey)
    api: str = "https://api.dingtalk.com"


def card_params(card: Card) -> dict[str, str]:
    """The card template's variables (DingTalk wants every value a string)."""
    params = {
        "title": truncate(card.title, 100),
        "markdown": truncate(card.markdown, 3000),
        "status": "\n".join(card.status),
        "level": str(card.level),
    }
    for action in ACTIONS:
        params[f"can_{action}"] = "true" if action in card.actions else "false"
    return params


def track_id(incidents: Sequence[int]) -> str:
    return f"rw.{'_'.join(map(str, incidents))}.{secrets.token_hex(6)}"


def incidents_of_track(out_track_id: str) -> tuple[int, ...]:
    head, _, rest = out_track_id.partition(".")
    ids, _, _ = rest.partition(".")
    if head != "rw" or not ids:
        raise Refused(400, f"card {out_track_id!r} is not one of roomwatch's")
    try:
        return tuple(int(i) for i in ids.split("_"))
    except ValueError:
        raise Refused(400, f"card {out_track_id!r} is not one of roomwatch's") from None


class DingTalkAppNotifier(CardNotifier):
    settings = DingTalkAppSettings
    config: DingTalkAppSettings
    required_secrets = ("client_id", "client_secret")
    platform: ClassVar[str] = "dingtalk"

    @classmethod
    def addresses(
        cls, config: DingTalkAppSettings, people: Sequence[Contact]
    ) -> dict[str, list[str]]:
        return {}  # the card goes to the group; whoever is on the roster may act on it

    def __init__(
        self, config: DingTalkAppSettings, secrets_: dict[str, str], state_dir: Path
    ) -> None:
        super().__init__(config, secrets_, state_dir)
        self._http = HttpSender(self.name, config.timeout)
        self._token: tuple[str, float] | None = None

    def _api(self, path: str) -> str:
        return f"{self.config.api.rstrip('/')}{path}"

    async def _access_token(self) -> str:
        now = time.time()
        if self._token is not None and now < self._token[1]:
            return self._token[0]
        document = {
            "appKey": self._secrets["client_id"],
            "appSecret": self._secrets["client_secret"],
        }
        _, body = await self._http.post_json(self._api("/v1.0/oauth2/accessToken"), document)
        answer = _json(self.name, body)
        token = str(answer.get("accessToken") or "")
        if not token:
            raise DeliveryError(f"{self.name}: no accessToken in the answer", retryable=True)
        self._token = (token, now + max(60.0, float(answer.get("expireIn", 7200)) - 300))
        return token

    def document(self, card: Card) -> dict[str, Any]:
        return {
            "cardTemplateId": self.config.card_template_id,
            "outTrackId": track_id(card.incidents or (0,)),
            "callbackType": "STREAM",
            "cardData": {"cardParamMap": card_params(card)},
            "openSpaceId": f"dtv1.card//IM_GROUP.{self.config.open_conversation_id}",
            "imGroupOpenSpaceModel": {"supportForward": True},
            "imGroupOpenDeliverModel": {
                "robotCode": self.config.robot_code or self._secrets["client_id"]
            },
        }

    async def send(self, message: Message) -> None:
        token = await self._access_token()
        card = card_of(message)
        document = self.document(card)
        _, body = await self._http.post_json(
            self._api("/v1.0/card/instances/createAndDeliver"),
            document,
            headers={"x-acs-dingtalk-access-token": token},
        )
        answer = _json(self.name, body)
        if answer.get("success") is False:
            raise DeliveryError(
                f"{self.name}: card refused: {str(answer.get('message', ''))[:160]}",
                retryable=False,
            )
        if card.incidents:
            self.remember(document["outTrackId"], card.incidents)

    async def redraw(self, ref: str, card: Card) -> None:
        """`PUT {api}/v1.0/card/instances`: the card's variables again, by key."""
        token = await self._access_token()
        await self._http.request(
            "PUT",
            self._api("/v1.0/card/instances"),
            body=json.dumps(
                {
                    "outTrackId": ref,
                    "cardData": {"cardParamMap": card_params(card)},
                    "cardUpdateOptions": {"updateCardDataByKey": True},
                },
                ensure_ascii=False,
            ).encode(),
            headers={
                "x-acs-dingtalk-access-token": token,
                "Content-Type": "application/json; charset=utf-8",
            },
        )

    # ------------------------------------------------------------ clicks over Stream

    def listens(self) -> bool:
        return True

    def parse_frame(self, headers: dict[str, Any], data: dict[str, Any]) -> Verified:
        try:
            sent_at = float(headers.get("time", 0)) / 1000.0
        except (TypeError, ValueError):
            raise Refused(400, "a callback frame without a time") from None
        message_id = str(headers.get("messageId") or "")
        if not message_id:
            raise Refused(400, "a callback frame without a messageId")
        try:
            content = json.loads(data.get("content") or data.get("value") or "{}")
            action_ids = content["cardPrivateData"]["actionIds"]
        except (ValueError, KeyError, TypeError):
            raise Refused(400, "a card callback without the button's action id") from None
        action = str(action_ids[0]) if action_ids else ""
        click = Click(
            platform=self.platform,
            user_ids=tuple(u for u in (str(data.get("userId") or ""),) if u),
            action=action,
            incidents=incidents_of_track(str(data.get("outTrackId") or "")),
        )
        return Verified(click, sent_at, message_id)

    async def listen(self, handler: CallbackHandler) -> None:
        async def on_frame(
            headers: dict[str, Any], data: dict[str, Any]
        ) -> tuple[int, dict[str, Any]]:
            try:
                verified = self.parse_frame(headers, data)
            except Refused as exc:
                return exc.status, {"error": exc.reason}
            reply = await handler(verified)
            return reply.status, reply.document

        from alerting.chat import dingtalk_stream  # aiohttp: only for a stream listener

        await dingtalk_stream.run(
            self.config.api,
            self._secrets["client_id"],
            self._secrets["client_secret"],
            on_frame,
            self.name,
        )

    async def answer(self, outcome: Outcome, verified: Verified) -> Reply:
        if outcome.card is None:
            return Reply(200, {})
        return Reply(
            200,
            {
                "cardUpdateOptions": {"updateCardDataByKey": True},
                "cardData": {"cardParamMap": card_params(outcome.card)},
            },
        )

    async def close(self) -> None:
        await self._http.close()


def _json(name: str, body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        raise DeliveryError(f"{name}: answer is not JSON", retryable=True) from None
    return answer if isinstance(answer, dict) else {}
