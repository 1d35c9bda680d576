"""Mailing a report through the outbox: a report is queued as one outbox row per channel
(kind `report`), with a dedup key naming the report and period, so a report is sent once
however often it is queued, survives a restart, and is retried like any alert.

The payload carries the finished texts (rendered when the report was built, in the report's
language): `text` is the whole report in Markdown, which an email carries as its body;
`markdown` a short summary for chat robots, whose messages are small; `short` one line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerting.config import AlertingConfig
from alerting.messages import Message
from alerting.reports.config import ScheduledReport
from alerting.store import TicketStore

REPORT_KIND = "report"


def payload(
    report: str, label: str, subject: str, text: str, summary: str, language: str, now: float
) -> dict[str, Any]:
    return {
        "kind": REPORT_KIND,
        "report": report,
        "label": label,
        "subject": subject,
        "text": text,
        "markdown": summary,
        "language": language,
        "ts": now,
    }


def dedup_key(report: str, label: str, notifier: str) -> str:
    return f"report:{report}:{label}:{notifier}"


def recipients_for(
    config: AlertingConfig, notifier: str, schedule: ScheduledReport
) -> dict[str, Any]:
    entry = config.notifier(notifier)
    out: dict[str, Any] = {"people": [], "names": []}
    if entry.type == "email":
        out["emails"] = list(schedule.to)
    return out


async def queue(
    store: TicketStore,
    config: AlertingConfig,
    schedule: ScheduledReport,
    message: Mapping[str, Any],
    now: float,
) -> int:
    """Queue `message` (a `payload`) on the schedule's channels; returns how many rows were
    new (0 when this report was queued before)."""
    queued = 0
    async with store.transaction():
        for name in schedule.notifiers:
            queued += await store.enqueue(
                incident_id=None,
                notifier=name,
                kind=REPORT_KIND,
                dedup=dedup_key(str(message["report"]), str(message["label"]), name),
                group_key="",
                recipients=recipients_for(config, name, schedule),
                payload=message,
                now=now,
                due=now,
            )
    return queued


def render_report(item: Mapping[str, Any], recipients: Mapping[str, Any] | None = None) -> Message:
    """The Message of a queued report (chosen by `alerting.compose`)."""
    subject = str(item.get("subject", "roomwatch report"))
    return Message(
        kind=REPORT_KIND,
        level=3,
        language=str(item.get("language", "en")),
        subject=subject,
        text=str(item.get("text", "")),
        markdown=str(item.get("markdown") or subject),
        short=subject,
        items=[dict(item)],
        recipients=dict(recipients or {}),
    )
