"""The daemon's one consumer of the fault queue: each batch the rules fired goes, in order, to
the alert service, or with a shared store to the outage buffer (outage.py), which queues it
locally while the store is away and replays that queue before anything newer. A batch the
store fails on is kept and retried rather than an incident lost."""

from __future__ import annotations

import asyncio
import logging

from alerting.service import AlertService
from collector.outage import OutageBuffer
from rules.fault import Fault

log = logging.getLogger("roomwatch.daemon")

RETRY_SECONDS = 5.0  # after the ticket store failed on a batch


async def consume_faults(
    faults: asyncio.Queue[list[Fault]], alerts: AlertService, outage: OutageBuffer | None
) -> None:
    """Runs until cancelled (at stop, once the queue is joined or the drain timed out)."""
    while True:
        if outage is not None and outage.pending:
            await outage.drain(faults)  # in order, before anything newer
            continue
        batch = await faults.get()
        try:
            if outage is not None:  # a shared store: fenced, and may go away
                await outage.record(batch)
            else:
                await alerts.handle(batch)
        except Exception:
            # The store is the record of incidents; if it fails, keep the batch and retry
            # rather than lose an incident.
            log.exception("could not record faults; retrying in 5 s")
            await asyncio.sleep(RETRY_SECONDS)
            faults.put_nowait(batch)
        finally:
            faults.task_done()
