"""Starting the desk's mailbox intake with the daemon (alerting.desk.mailbox): one polling task
that stops with the daemon. In a desk of several collectors only the holder of the desk lease
polls (the store's record of each Message-ID keeps two pollers from opening a mail twice)."""

from __future__ import annotations

import asyncio
import logging

from alerting.mailbox.intake import MailIntake
from alerting.service import AlertService
from inventory.credentials import Credentials

log = logging.getLogger("roomwatch.mailbox")
DESK = "*"


def start(
    service: AlertService, credentials: Credentials, stop: asyncio.Event
) -> asyncio.Task[None] | None:
    """The intake task, or None when no mailbox is configured. Raises ValueError naming the
    credentials entry when it is missing or lacks username / password (never a value)."""
    config = service.config.desk.mailbox
    if config is None:
        return None
    try:
        secrets = credentials.entry(config.credentials)
    except KeyError as exc:
        raise ValueError(f"alerting.desk.mailbox: {exc.args[0]}") from None
    if not (secrets.get("username") and secrets.get("password")):
        raise ValueError(
            f"alerting.desk.mailbox: credentials entry {config.credentials!r} needs username"
            " and password"
        )
    intake = MailIntake(service, config, secrets["username"], secrets["password"])
    service.mail_stats = intake.stats.figures
    log.info(
        "desk mailbox %s:%s/%s polled every %ss",
        config.host,
        config.effective_port,
        config.folder,
        config.poll,
    )

    async def run() -> None:
        await intake.run(stop, may_poll=lambda: _holds_desk(service))

    return asyncio.create_task(run(), name="desk-mailbox")


def _holds_desk(service: AlertService) -> bool:
    return service.shards is None or DESK in service.shards()
