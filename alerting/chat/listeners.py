"""The connections that card channels keep to their platforms (DingTalk Stream): one task per
such channel, started again when it ends (the platform closed it, the network broke), replaced
on a reload, cancelled at shutdown. Clicks received over them take the same path as an HTTP
callback's (alerting/chat/callbacks.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from alerting.chat import callbacks
from alerting.chat.channel import CardNotifier, Reply, Verified
from alerting.chat.desk import CardDesk

log = logging.getLogger("roomwatch.alerting.chat")

RESTART_AFTER_CRASH = 30.0  # seconds


class Listeners:
    def __init__(self, desk: CardDesk) -> None:
        self._desk = desk
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._not_before: dict[str, float] = {}  # a crashed connection waits before again

    def keep_running(self) -> None:
        """Start the task of each listening channel that has none (or whose task ended)."""
        for name, notifier in self._desk.notifiers.items():
            if not (isinstance(notifier, CardNotifier) and notifier.listens()):
                continue
            task = self._tasks.get(name)
            if task is not None and not task.done():
                continue
            if task is not None and not task.cancelled() and task.exception() is not None:
                # a bug or an answer nobody foresaw: say so once, and not again every tick
                log.warning("card channel %s: connection ended: %r", name, task.exception())
                self._not_before[name] = time.monotonic() + RESTART_AFTER_CRASH
                del self._tasks[name]
            if time.monotonic() < self._not_before.get(name, 0.0):
                continue

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
