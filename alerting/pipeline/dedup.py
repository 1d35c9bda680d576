"""Dedup: one notification per incident, occurrence, step and channel, ever.

The key is unique in the outbox table, so queuing the same notification twice (a repeated
fault event, a tick run twice after a restart) is a no-op, whether the first was sent or not."""

from __future__ import annotations


def dedup_key(incident_id: int, occurrence: int, step: str, notifier: str) -> str:
    """`step` names what is told: "opened", "level:1", "tier:2", "reminder:3", "resolved"."""
    return f"incident:{incident_id}:{occurrence}:{step}:{notifier}"


def notice_key(notice_id: str, phase: str, notifier: str) -> str:
    return f"notice:{notice_id}:{phase}:{notifier}"
