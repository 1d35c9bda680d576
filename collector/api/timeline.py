"""An incident's story in people's words: the audit log and the delivery log merged in time.

Pure: `build_timeline` takes what the store returned (view.Timeline) and a language. Each
audit action the alerting code writes has its sentence in core/locale (section `timeline`);
an action this module does not know yet (one added by a newer alerting) is still shown, as
its name and details, so nothing the store records is hidden from the console."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from collector.api.view import Timeline
from core.i18n import catalogue, t

# The kind of each entry picks its mark on the page (people act, the system tells, …).
KINDS = {
    "opened": "fault",
    "reopened": "fault",
    "level": "fault",
    "resolved": "done",
    "closed": "done",
    "acknowledged": "person",
    "arrived": "person",
    "note": "note",
    "assigned": "person",
    "told": "told",
    "not-told": "told",
    "sent": "told",
    "sla-breach": "breach",
}


@dataclass(frozen=True)
class Entry:
    ts: float
    actor: str
    kind: str  # fault | done | person | note | told | breach | other
    text: str
    note: str | None = None  # a person's words, shown as they wrote them


def _people(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "–"
    return str(value) if value else "–"


def _recipient_names(raw: Any) -> list[str]:
    """Who a delivered message reached: the channel's recipients document (JSON text of
    {"people": [...], "to": [...], …}) as a flat list of names and addresses."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return [raw]
    names: list[str] = []
    values = raw.values() if isinstance(raw, dict) else [raw]
    for value in values:
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, str | int) and str(item) not in names:
                names.append(str(item))
    return names


def describe(action: str, detail: Mapping[str, Any], language: str) -> str:
    key = f"timeline.{action.replace('-', '_')}"
    fields = {k: _people(v) if k == "people" else v for k, v in detail.items()}
    fields.setdefault("people", "–")
    if key in catalogue("en"):
        try:
            return t(key, language, **fields)
        except (KeyError, IndexError, ValueError):
            pass  # an older entry without a field the sentence names: say it plainly
    shown = ", ".join(f"{k}={v}" for k, v in sorted(detail.items()) if k not in ("text", "note"))
    return f"{action}{f' ({shown})' if shown else ''}"


def build_timeline(timeline: Timeline, language: str) -> list[Entry]:
    out: list[Entry] = []
    for entry in timeline.audit:
        detail = dict(entry.detail or {})
        note = detail.get("text") or detail.get("note")
        out.append(
            Entry(
                ts=entry.ts,
                actor=entry.actor,
                kind=KINDS.get(entry.action, "other"),
                text=describe(entry.action, detail, language),
                note=str(note) if note else None,
            )
        )
    for sent in timeline.sent:
        recipients = _recipient_names(sent.get("recipients"))
        out.append(
            Entry(
                ts=float(sent.get("ts") or 0.0),
                actor=str(sent.get("notifier", "")),
                kind="told",
                text=t(
                    "timeline.sent",
                    language,
                    notifier=sent.get("notifier", ""),
                    what=sent.get("kind", ""),
                    people=_people(recipients),
                ),
            )
        )
    out.sort(key=lambda e: e.ts)
    return out
