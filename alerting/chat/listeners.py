"""The connections that card channels keep to their platforms (DingTalk Stream): one task per
such channel, started again when it ends (the platform closed it, the network broke), replaced
on a reload, cancelled at shutdown. Clicks received over them take the same path as an HTTP
callback's (alerting/chat/callbacks.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from alerting.chat import callbacks
from alerting.chat.channel import CardNotifier, Reply, Verified
from alerting.chat.desk import CardDesk

log = logging.getLogger("roomwatch.alerting.chat")


class Listeners:
    def __init__(self, desk: CardDesk) -> None:
        self._desk = desk
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def keep_running(self) -> None:
        """Start the task of each listening channel that has none (or whose task ended)."""
        for name, notifier in self._desk.notifiers.items():
            if not (isinstance(notifier, CardNotifier) and notifier.listens()):
                continue
            task = self._tasks.get(name)
            if task is not None and not task.done():
                continue
            if task is not None and not task.cancelled() and task.exception() is not None:
                log.warning("card channel %s: connection ended: %s", name, task.exception())

            async def on_callback(verified: Verified, name: str = name) -> Reply:
                return await callbacks.handle_verified(self._desk, name, verified)

            self._tasks[name] = asyncio.create_task(
                notifier.listen(on_callback), name=f"card-listener-{name}"
            )

    def drop(self) -> None:
        """After a reload: end the old channels' connections (the next tick opens new ones)."""
        for task in self._tasks.values():
            task.cancel()
        self._tasks = {}

    async def stop(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
