"""Cards redrawn when their incidents are acted on elsewhere (the console, an SMS code, the
API): after the action, each card channel that sent a card showing the incident draws it again
as it now stands, in the background, so the action never waits for a chat platform. A failure
is logged; the card then catches up with its next click."""

from __future__ import annotations

import asyncio
import logging

from alerting.chat.act import current_card
from alerting.chat.channel import CardNotifier
from alerting.chat.desk import CardDesk
from alerting.notifiers.base import DeliveryError
from alerting.store import NotFound

log = logging.getLogger("roomwatch.alerting.chat")


class Redrawer:
    def __init__(self, desk: CardDesk) -> None:
        self._desk = desk
        self._tasks: set[asyncio.Task[None]] = set()

    def after_action(self, incident_id: int) -> None:
        task = asyncio.create_task(self._redraw(incident_id), name=f"card-redraw-{incident_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _redraw(self, incident_id: int) -> None:
        for name, notifier in list(self._desk.notifiers.items()):
            if not isinstance(notifier, CardNotifier):
                continue
            for ref, ids in notifier.showing(incident_id):
                incidents = []
                for number in ids:
                    try:
                        incidents.append(await self._desk.store.get(number))
                    except NotFound:
                        continue
                if not incidents:
                    continue
                card = await current_card(self._desk, name, incidents)
                try:
                    await asyncio.wait_for(notifier.redraw(ref, card), notifier.config.timeout + 5)
                except (DeliveryError, TimeoutError) as exc:
                    log.warning("%s: card %s not redrawn: %s", name, ref, exc)

    async def wait(self) -> None:
        """Let the redraws under way finish (at shutdown, and in tests)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
