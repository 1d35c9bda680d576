"""What the ticket store holds, as plain records, and how a row becomes one.

Both backends keep the same columns (JSON documents as text, times as epoch seconds), so the
row decoding here is shared; a row is any mapping from column name to value."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

ACTIVE_STATES = ("open", "acknowledged")
STATES = ("open", "acknowledged", "resolved", "closed")
QUIET_SUPPRESSIONS = ("dependency", "maintenance")

Row = Mapping[str, Any]


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, other schema, unreachable, locked)."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    """A write broke a uniqueness rule of the database: another collector (or task) recorded
    the same thing first, e.g. a second open incident for one key. The transaction is rolled
    back; doing it again sees the winner's row."""


class Fenced(StoreError):
    """A write under a shard lease this collector no longer holds (another took it over, or
    it expired while the process was paused): refused, nothing written."""


class SchemaTooOld(StoreError):
    """The database is at an older schema than this roomwatch needs."""


class Unavailable(StoreError):
    """The database cannot be reached now (down, network split); worth retrying later."""


@dataclass
class Incident:
    id: int
    key: str
    rule: str
    grp: str
    device: str
    metric: str
    site: str | None
    labels: dict[str, str]
    level: int
    state: str
    suppressed: str | None
    stale: bool
    summary: dict[str, str]
    runbook: str | None
    value: Any
    since: float
    opened_at: float
    active_since: float
    level_since: float
    updated_at: float
    acknowledged_at: float | None
    acknowledged_by: str | None
    arrived_at: float | None
    arrived_by: str | None
    resolved_at: float | None
    resolved_by: str | None
    closed_at: float | None
    assignee: str | None
    occurrences: int
    problem_id: int | None
    tier: int
    reminders: int
    last_notified_at: float | None
    shard: str = ""
    ticket: str = ""  # the human ticket number, e.g. RW-2026-000123
    source: str = "rules"  # rules | phone | mail | api | console: who opened it
    reporter: str | None = None  # the person who reported it (people's tickets)
    contact: str | None = None  # how to reach them: phone number or mail address
    description: str | None = None
    recheck: bool = False  # resolved by hand: look whether the condition still holds
    accepted_until: float | None = None  # a known fault accepted (not reopened) until then
    accepted_by: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def title(self) -> str:
        """One line naming the incident: the summary in English, else any language."""
        return self.summary.get("en") or next(iter(self.summary.values()), self.key)

    @property
    def from_people(self) -> bool:
        return self.source != "rules"

    @property
    def quiet(self) -> bool:
        """Recorded but not told: a parent device is down or a maintenance window is on.
        (A flapping incident is told once and then held open without escalation.)"""
        return self.suppressed in QUIET_SUPPRESSIONS

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ActiveState:
    """What the daemon's tick needs of an open or acknowledged incident for its counts and to
    notice acknowledgements made elsewhere (much less to read than a whole `Incident`)."""

    id: int
    state: str
    acknowledged_at: float | None
    acknowledged_by: str | None


JSON_COLUMNS = frozenset({"labels", "summary", "value"})
BOOL_COLUMNS = frozenset({"stale", "recheck"})
INCIDENT_COLUMNS = tuple(f.name for f in fields(Incident))


def incident_from(row: Row) -> Incident:
    values: dict[str, Any] = {}
    for name in INCIDENT_COLUMNS:
        raw = row[name]
        if name in JSON_COLUMNS:
            values[name] = json.loads(raw) if raw is not None else None
        elif name in BOOL_COLUMNS:
            values[name] = bool(raw)
        else:
            values[name] = raw
    if values["labels"] is None:
        values["labels"] = {}
    if values["summary"] is None:
        values["summary"] = {}
    for name in ("shard", "ticket"):
        if values[name] is None:
            values[name] = ""
    return Incident(**values)


def encode(name: str, value: Any) -> Any:
    if name in JSON_COLUMNS:
        return dumps(value)
    if name in BOOL_COLUMNS:
        return int(bool(value))
    return value


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    incident_id: int | None
    problem_id: int | None
    ts: float
    actor: str
    action: str
    detail: dict[str, Any]
    collector: str | None = None


def audit_from(row: Row) -> AuditEntry:
    return AuditEntry(
        row["id"],
        row["incident_id"],
        row["problem_id"],
        row["ts"],
        row["actor"],
        row["action"],
        json.loads(row["detail"]),
        row["collector"],
    )


@dataclass(frozen=True)
class Note:
    id: int
    incident_id: int
    ts: float
    author: str
    text: str
    public: bool = False  # shown to the reporter (their own words, or written for them)


@dataclass(frozen=True)
class Breach:
    incident_id: int
    clock: str  # respond | arrive | repair
    level: int
    due: float
    recorded_at: float
    occurrence: int = 1


@dataclass(frozen=True)
class Occurrence:
    """One time an incident was open: from its opening (or reopening) to its resolution, with
    its own level, acknowledgement, arrival, escalation and resolution. The incident row holds
    the latest one's state; these rows keep every one of them (the reports count them)."""

    incident_id: int
    n: int  # 1 for the first opening, 2 for the first reopen, …
    key: str
    ts: float  # when it opened
    level: int
    suppressed: str | None
    active_since: float  # SLA clocks start here (moves when a suppression ends)
    acknowledged_at: float | None
    acknowledged_by: str | None
    arrived_at: float | None
    arrived_by: str | None
    resolved_at: float | None
    resolved_by: str | None
    tier: int  # escalation tiers run (2 or more: escalated past the first)
    note: str | None  # why it opened, e.g. still failing after a hand-resolve

    @property
    def escalations(self) -> int:
        return max(self.tier - 1, 0)


#: incident columns that describe the current occurrence (copied to its row on every change)
OCCURRENCE_MIRROR = (
    "level",
    "suppressed",
    "active_since",
    "acknowledged_at",
    "acknowledged_by",
    "arrived_at",
    "arrived_by",
    "resolved_at",
    "resolved_by",
    "tier",
)


def occurrence_from(row: Row) -> Occurrence:
    return Occurrence(
        incident_id=int(row["incident_id"]),
        n=int(row["n"]),
        key=row["key"],
        ts=row["ts"],
        level=int(row["level"]) if row["level"] is not None else 3,
        suppressed=row["suppressed"],
        active_since=row["active_since"] if row["active_since"] is not None else row["ts"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        arrived_at=row["arrived_at"],
        arrived_by=row["arrived_by"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        tier=int(row["tier"] or 0),
        note=row["note"],
    )


@dataclass(frozen=True)
class Problem:
    id: int
    key: str
    state: str
    opened_at: float
    updated_at: float
    occurrences: int
    root_cause: str | None
    workaround: str | None


def problem_from(row: Row) -> Problem:
    return Problem(**{f.name: row[f.name] for f in fields(Problem)})


@dataclass(frozen=True)
class OutboxItem:
    id: int
    incident_id: int | None
    notifier: str
    kind: str
    dedup: str
    group_key: str
    recipients: dict[str, Any]
    payload: dict[str, Any]
    created: float
    due: float
    attempts: int
    last_error: str | None
    state: str  # pending | sent | failed
    sent_at: float | None
    shard: str = ""


def outbox_from(row: Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        incident_id=row["incident_id"],
        notifier=row["notifier"],
        kind=row["kind"],
        dedup=row["dedup"],
        group_key=row["group_key"],
        recipients=json.loads(row["recipients"]),
        payload=json.loads(row["payload"]),
        created=row["created"],
        due=row["due"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        state=row["state"],
        sent_at=row["sent_at"],
        shard=row["shard"] or "",
    )


@dataclass(frozen=True)
class Lease:
    """Who polls and alerts for a shard (PostgreSQL only): `epoch` grows at every change of
    holder, and a write under an older epoch is refused."""

    shard: str
    holder: str
    epoch: int
    expires_at: float  # database clock, epoch seconds
    renewed_at: float


@dataclass(frozen=True)
class CollectorBeat:
    name: str
    shards: list[str]
    started_at: float
    heartbeat_at: float  # database clock
    silent_for: float  # seconds since the last heartbeat, by the database clock
    failover: float
