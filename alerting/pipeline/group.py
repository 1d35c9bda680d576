"""Group: notifications for the same channel, recipients and group that fall due together
go out as one message (a power cut that trips forty devices is one message).

A notification is queued with `due = created + wait`. When the earliest of a bucket falls due,
everything of that bucket queued within the window goes with it."""

from __future__ import annotations

import json
from collections.abc import Sequence

from alerting.messages import GROUPABLE
from alerting.store import Incident, OutboxItem


def group_key(incident: Incident, by: Sequence[str]) -> str:
    parts = []
    for name in by:
        value = getattr(incident, name if name != "rule" else "rule", None)
        parts.append(f"{name}={value if value is not None else ''}")
    return "|".join(parts)


def _bucket(item: OutboxItem) -> tuple[str, str, str, str]:
    recipients = json.dumps(item.recipients, sort_keys=True)
    if item.kind in GROUPABLE:
        # alerts group with alerts, recoveries with recoveries
        cls = "resolved" if item.kind == "resolved" else "alert"
        return (item.notifier, item.group_key, recipients, cls)
    return (item.notifier, f"#{item.id}", recipients, item.kind)


def buckets(pending: Sequence[OutboxItem], now: float, max_items: int) -> list[list[OutboxItem]]:
    """Groups of pending items to send now: each bucket whose earliest item is due, in the
    order they fell due, at most `max_items` each."""
    grouped: dict[tuple[str, str, str, str], list[OutboxItem]] = {}
    for item in sorted(pending, key=lambda i: (i.due, i.id)):
        grouped.setdefault(_bucket(item), []).append(item)
    out: list[list[OutboxItem]] = []
    for items in grouped.values():
        if items[0].due <= now:
            for start in range(0, len(items), max_items):
                out.append(items[start : start + max_items])
    out.sort(key=lambda b: (b[0].due, b[0].id))
    return out
