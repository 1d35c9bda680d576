"""One callback from a chat platform, from the raw request to the answer: which channel, is it
genuine (the channel's signature check), is it new (the replay guard), who clicked and what
happens (alerting.chat.act).

The HTTP API routes `POST /callback/{channel}` here, and a listening channel (DingTalk Stream)
feeds its frames through the same path, so both are checked alike."""

from __future__ import annotations

import logging
import time

from alerting.chat.act import act
from alerting.chat.channel import CardNotifier, Inbound, Recorded, Refused, Reply, Verified
from alerting.chat.desk import CardDesk
from alerting.chat.replay import ReplayGuard
from alerting.store import NotFound

log = logging.getLogger("roomwatch.alerting.chat")

REFUSAL_LOG_EVERY = 60.0  # seconds: forged or replayed callbacks must not flood the log


class _RefusalLog:
    """The first refusal on a channel is logged; then one line a minute with the count."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def note(self, channel: str, reason: str) -> None:
        now = time.monotonic()
        last = self._last.get(channel)
        if last is not None and now - last < REFUSAL_LOG_EVERY:
            self._quiet[channel] = self._quiet.get(channel, 0) + 1
            return
        more = self._quiet.pop(channel, 0)
        self._last[channel] = now
        log.warning(
            "callback to %s refused: %s%s",
            channel,
            reason,
            f" (and {more} more refused in the last minute)" if more else "",
        )


_refusals = _RefusalLog()


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
        _refusals.note(channel, exc.reason)
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
        _refusals.note(channel, why)
        return Reply(403, {"error": why})
    outcome = await act(service, channel, got.click)
    return await notifier.answer(outcome, got)
