"""One callback from a chat platform, from the raw request to the answer: which channel, is it
genuine (the channel's signature check), is it new (the replay guard), who clicked and what
happens (alerting.chat.act).

The HTTP API routes `POST /callback/{channel}` here, and a listening channel (DingTalk Stream)
feeds its frames through the same path, so both are checked alike."""

from __future__ import annotations

import logging

from alerting.chat.act import act
from alerting.chat.channel import CardNotifier, Inbound, Recorded, Refused, Reply, Verified
from alerting.chat.desk import CardDesk
from alerting.chat.replay import ReplayGuard
from alerting.store import NotFound

log = logging.getLogger("roomwatch.alerting.chat")


def _guard(service: CardDesk, channel: str, window: float) -> ReplayGuard:
    guard = service.chat_guards.get(channel)
    if guard is None or guard.window != window:
        guard = service.chat_guards[channel] = ReplayGuard(window)
    return guard


async def handle(service: CardDesk, channel: str, inbound: Inbound) -> Reply:
    notifier = service.notifiers.get(channel)
    if not isinstance(notifier, CardNotifier):
        return Reply(404, {"error": f"no card channel named {channel!r}"})
    try:
        got = notifier.parse_callback(inbound)
    except Refused as exc:
        log.warning("callback to %s refused: %s", channel, exc.reason)
        return Reply(exc.status, {"error": exc.reason})
    if isinstance(got, Reply):
        return got
    if isinstance(got, Recorded):
        now = service.clock()
        async with service.store.transaction():
            for incident, action, detail in got.entries:
                try:
                    await service.store.get(incident)
                except NotFound:
                    continue
                await service.store.audit(incident, now, channel, action, detail)
        log.info("%s: %d report(s) recorded", channel, len(got.entries))
        return Reply(200, {"code": 0, "msg": "ok"})
    return await handle_verified(service, channel, got)


async def handle_verified(service: CardDesk, channel: str, got: Verified) -> Reply:
    """A click whose sender is proved (by its signature, or by the channel's own connection):
    checked against replays, acted on, answered."""
    notifier = service.notifiers.get(channel)
    if not isinstance(notifier, CardNotifier):
        return Reply(404, {"error": f"no card channel named {channel!r}"})
    why = _guard(service, channel, notifier.replay_window).check(
        got.timestamp, got.nonce, service.clock()
    )
    if why is not None:
        log.warning("callback to %s refused: %s", channel, why)
        return Reply(403, {"error": why})
    outcome = await act(service, channel, got.click)
    return await notifier.answer(outcome, got)
