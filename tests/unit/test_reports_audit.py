"""The monthly report agrees with the audit log, figure by figure, on a month full of reopens.

A month (November 2026, Asia/Shanghai) is played through the real AlertService on virtual
time: faults open, flap and reopen, people acknowledge late or never, tiers escalate, clocks
breach, some incidents are resolved by hand while the fault still holds (and reopen at the next
evaluation), one is accepted, people's tickets come in by phone. Then the report is built twice:
once from the ticket store as `roomwatch report monthly` builds it, and once from nothing but
the audit log, replayed here step by step. Every cell of every table must be the same; and the
audit log's own counts (acknowledgements, escalations, breaches) must be what the report says."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from alerting import survey
from alerting.config import AlertingConfig
from alerting.reports import output
from alerting.reports.jobs import monthly_report
from alerting.reports.monthly import MonthlyInput, MonthlyReport, build_monthly
from alerting.reports.period import parse_period
from alerting.reports.source import open_spans
from alerting.reports.tables import monthly_tables
from alerting.service import AlertService
from alerting.store import (
    AuditEntry,
    Breach,
    Incident,
    Occurrence,
    Problem,
    Survey,
    TicketStore,
)
from alerting.store.model import audit_from
from inventory.credentials import Credentials
from inventory.model import Device, Inventory, Site
from rules.fault import Fault, FaultState, Suppression, fault_key

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
MIN = 60.0
HOUR = 3600.0
NOV = dt.datetime(2026, 11, 1, tzinfo=TZ).timestamp()
DEC = dt.datetime(2026, 12, 1, tzinfo=TZ).timestamp()
REPORT_TIME = DEC + 9 * HOUR

DEVICES = {"srv1": "server", "srv2": "server", "sw1": "switch", "ups1": "ups", "web1": "website"}
METRICS = {"device-unreachable": "device.up", "cpu-high": "cpu.usage", "http-down": "http.up"}

CONFIG: dict[str, Any] = {
    "language": "en",
    "notifiers": [{"type": "log"}],
    "group": {"wait": "0s"},
    "reopen_window": "1h",
    "escalation": {
        level: [
            {"after": "0m", "notify": ["on-duty"]},
            {"after": f"{5 * level}m", "notify": ["role:team-lead"]},
            {"after": f"{15 * level}m", "notify": ["role:manager"]},
        ]
        for level in (1, 2, 3)
    },
    "duty": {
        "timezone": "Asia/Shanghai",
        "people": {"zhang": {"name": "Zhang"}, "li": {"name": "Li"}, "wang": {"name": "Wang"}},
        "roles": {"team-lead": ["li"], "manager": ["wang"]},
        "shifts": [{"name": "all", "start": "00:00", "end": "00:00", "rotation": ["zhang"]}],
    },
    "problems": {"occurrences": 3, "window": "7d"},
}


class Clock:
    def __init__(self) -> None:
        self.now = NOV

    def __call__(self) -> float:
        return self.now


def inventory() -> Inventory:
    return Inventory(
        sites={"dc1": Site("dc1", "Beijing DC")},
        devices={d: Device(d, d.upper(), kind, 2, site="dc1") for d, kind in DEVICES.items()},
    )


@dataclass
class Series:
    """One fault key and what happens to it (times in seconds from the start of November)."""

    rule: str
    device: str
    level: int
    tag: str
    suppressed: Suppression | None = None

    @property
    def key(self) -> str:
        return fault_key(self.rule, self.device, {"n": self.tag})

    def fault(self, now: float, firing: bool, level: int | None = None) -> Fault:
        return Fault(
            key=self.key,
            rule=self.rule,
            group="g",
            device=self.device,
            metric=METRICS[self.rule],
            level=level or self.level,
            state=FaultState.FIRING if firing else FaultState.RESOLVED,
            value=1,
            since=now,
            ts=now,
            labels={"n": self.tag},
            site="dc1",
            summary={"en": f"{self.rule} on {self.device}", "zh": f"{self.device} {self.rule}"},
            suppressed=self.suppressed if firing else None,
        )


@dataclass(order=True)
class Step:
    at: float
    order: int
    what: str = field(compare=False)
    series: Series | None = field(compare=False, default=None)
    arg: Any = field(compare=False, default=None)


def plan(rng: random.Random) -> list[Step]:
    """Flapping faults (many reopens inside the window), late and missing acknowledgements,
    hand-resolves with the fault still there, a level change, maintenance, people's tickets."""
    steps: list[Step] = []
    choices = [("device-unreachable", d) for d in DEVICES] + [
        ("cpu-high", "srv1"),
        ("cpu-high", "srv2"),
        ("http-down", "web1"),
    ]
    for n in range(26):
        rule, device = rng.choice(choices)
        series = Series(rule, device, rng.choice([1, 2, 2, 3, 3]), f"s{n}")
        if n == 3:
            series.suppressed = Suppression.MAINTENANCE
        t = NOV + rng.randrange(0, 27 * 24 * 60) * MIN
        for _ in range(rng.choice([1, 1, 2, 3, 4])):  # occurrences, most within the window
            steps.append(Step(t, 0, "fire", series))
            length = rng.choice([4, 8, 15, 25, 45, 90, 300]) * MIN
            if rng.random() < 0.75:
                steps.append(Step(t + rng.choice([1, 3, 6, 12, 20, 35]) * MIN, 1, "ack", series))
            if rng.random() < 0.2:
                steps.append(Step(t + length / 2, 2, "relevel", series, max(1, series.level - 1)))
            if rng.random() < 0.3:
                steps.append(Step(t + rng.choice([8, 14, 40]) * MIN, 1, "arrive", series))
            if rng.random() < 0.25:
                # resolved by hand while the fault holds: it reopens at the next evaluation
                steps.append(Step(t + length, 3, "hand-resolve", series))
                steps.append(Step(t + length + 2 * MIN, 4, "evaluate", series))
                steps.append(Step(t + length + 30 * MIN, 5, "clear", series))
                t += length + 30 * MIN
            else:
                steps.append(Step(t + length, 5, "clear", series))
            t += length + rng.choice([10, 20, 40, 90, 600]) * MIN
    accepted = Series("cpu-high", "srv2", 3, "accepted")
    t = NOV + 12 * 24 * HOUR
    steps += [
        Step(t, 0, "fire", accepted),
        Step(t + 10 * MIN, 3, "accept", accepted, t + 40 * MIN),
        Step(t + 20 * MIN, 4, "evaluate", accepted),  # accepted: stays resolved
        Step(t + 41 * MIN, 4, "evaluate", accepted),  # acceptance over: reopens
        Step(t + 3 * HOUR, 5, "clear", accepted),
    ]
    for n in range(8):
        t = NOV + rng.randrange(0, 28 * 24 * 60) * MIN
        steps.append(Step(t, 0, "ticket", None, (n, rng.choice([1, 2, 3]))))
        if rng.random() < 0.8:
            steps.append(Step(t + rng.choice([2, 9, 25]) * MIN, 1, "ack-ticket", None, n))
        if rng.random() < 0.9:
            fixed = t + rng.choice([30, 200, 900]) * MIN
            steps.append(Step(fixed, 3, "resolve-ticket", None, n))
            if n % 3 != 2:  # most reporters answer the satisfaction question, not all
                steps.append(
                    Step(fixed + HOUR, 4, "answer-survey", None, (n, rng.choice([3, 4, 5, 5, 2])))
                )
    return sorted(steps)


def checkpoints(steps: Sequence[Step]) -> list[float]:
    """When the daemon's tick runs: right after each step, and at the moments a clock or a
    tier can fall due after an opening (the real daemon ticks every second; in between
    nothing changes)."""
    out = set()
    for step in steps:
        out.add(step.at)
        if step.what in ("fire", "ticket", "evaluate"):
            for minutes in (5, 10, 15, 20, 30, 45, 60, 240, 480, 720):
                out.add(step.at + minutes * MIN + 1)
    return sorted(t for t in out if t < DEC + 2 * 24 * HOUR)


async def play(tmp_path: Path) -> tuple[AlertService, Clock, dict[str, int]]:
    clock = Clock()
    svc = await AlertService.open(
        AlertingConfig.model_validate(CONFIG),
        f"sqlite:///{tmp_path / 'tickets.db'}",
        inventory(),
        Credentials({}),
        clock,
        state_dir=tmp_path,
    )
    svc.delivery_budget = None
    rng = random.Random(20261116)
    steps = plan(rng)
    firing: dict[str, Fault] = {}
    tickets: dict[int, int] = {}
    counts = {"hand-resolves": 0, "reopened-by-recheck": 0}
    ticks = checkpoints(steps)
    pending = list(steps)
    for moment in sorted(set(ticks) | {s.at for s in steps}):
        clock.now = moment
        while pending and pending[0].at <= moment:
            step = pending.pop(0)
            series = step.series
            if step.what == "fire" and series is not None:
                firing[series.key] = series.fault(moment, True)
                await svc.handle([firing[series.key]])
            elif step.what == "relevel" and series is not None and series.key in firing:
                firing[series.key] = series.fault(moment, True, step.arg)
                await svc.handle([firing[series.key]])
            elif step.what == "clear" and series is not None:
                firing.pop(series.key, None)
                await svc.handle([series.fault(moment, False)])
            elif step.what in ("ack", "arrive", "hand-resolve", "accept") and series is not None:
                active = await svc.store.find_active(series.key)
                if active is None:
                    continue
                if step.what == "ack" and active.state == "open":
                    await svc.ack(active.id, "zhang")
                elif step.what == "arrive" and active.arrived_at is None:
                    await svc.arrive(active.id, "li")
                elif step.what == "hand-resolve":
                    await svc.resolve(active.id, "li")
                    counts["hand-resolves"] += 1
                elif step.what == "accept":
                    await svc.accept(active.id, "wang", step.arg, "known, parts ordered")
            elif step.what == "evaluate":
                changes = await svc.recheck(lambda: list(firing.values()))
                counts["reopened-by-recheck"] += len(changes)
            elif step.what == "ticket":
                n, level = step.arg
                ticket = await svc.open_ticket(
                    "desk", title=f"Reported problem {n}", level=level, reporter=f"user{n}"
                )
                tickets[n] = ticket.id
            elif step.what == "ack-ticket":
                ticket = await svc.store.get(tickets[step.arg])
                if ticket.state == "open":
                    await svc.ack(ticket.id, "zhang")
            elif step.what == "resolve-ticket":
                ticket = await svc.store.get(tickets[step.arg])
                if ticket.active:
                    await svc.resolve(ticket.id, "li")
            elif step.what == "answer-survey":
                n, score = step.arg
                ticket = await svc.store.get(tickets[n])
                async with svc.store.transaction():
                    await survey.answer(svc.store, ticket, score, "ok", "page", moment)
        await svc.tick()
    return svc, clock, counts


# ------------------------------------------------------------------ the audit log, replayed


@dataclass
class Replayed:
    incident: dict[str, Any]
    occurrences: list[dict[str, Any]] = field(default_factory=list)


def replay(entries: Sequence[AuditEntry]) -> MonthlyInput:
    """Incidents, occurrences, breaches, open spans and problems, from the audit log alone."""
    incidents: dict[int, Replayed] = {}
    breaches: list[Breach] = []
    problems: dict[int, dict[str, Any]] = {}
    problem_of_key: dict[str, int] = {}
    surveys: dict[tuple[int, int], dict[str, Any]] = {}
    by_incident: dict[int, list[AuditEntry]] = {}
    for e in sorted(entries, key=lambda e: e.id):
        if e.incident_id is not None:
            by_incident.setdefault(e.incident_id, []).append(e)
        d = e.detail
        if e.action == "problem-opened":
            assert e.problem_id is not None
            problems[e.problem_id] = {
                "id": e.problem_id,
                "key": d["key"],
                "state": "open",
                "opened_at": e.ts,
                "updated_at": e.ts,
                "occurrences": d["occurrences"],
                "root_cause": None,
                "workaround": None,
            }
            problem_of_key[d["key"]] = e.problem_id
            continue
        if e.action == "problem-updated":
            assert e.problem_id is not None
            problems[e.problem_id].update(d)
            continue
        if e.incident_id is None:
            continue
        if e.action == "opened":
            incidents[e.incident_id] = Replayed(
                {
                    "id": e.incident_id,
                    "key": d["key"],
                    "rule": d["rule"],
                    "device": d["device"],
                    "site": d["site"],
                    "metric": d["metric"],
                    "summary": d["summary"],
                    "source": d.get("source", "rules"),
                    "ticket": d["ticket"],
                    "opened_at": e.ts,
                    "problem_id": None,
                }
            )
        rec = incidents[e.incident_id]
        inc = rec.incident
        if e.action in ("opened", "reopened"):
            key = inc["key"]
            if key in problem_of_key:  # a known problem's key occurs again
                problem = problems[problem_of_key[key]]
                problem["occurrences"] += 1
                problem["state"] = "open"
            rec.occurrences.append(
                {
                    "n": d.get("occurrence", 1),
                    "ts": e.ts,
                    "level": d["level"],
                    "suppressed": d["suppressed"],
                    "active_since": e.ts,
                    "acknowledged_at": None,
                    "acknowledged_by": None,
                    "arrived_at": None,
                    "arrived_by": None,
                    "resolved_at": None,
                    "resolved_by": None,
                    "tier": 0,
                    "note": d.get("note"),
                }
            )
            inc["state"] = "open"
            continue
        occ = rec.occurrences[-1]
        if e.action == "acknowledged":
            occ["acknowledged_at"], occ["acknowledged_by"] = e.ts, e.actor
            inc["state"] = "acknowledged"
        elif e.action == "arrived":
            occ["arrived_at"], occ["arrived_by"] = e.ts, e.actor
        elif e.action == "resolved":
            occ["resolved_at"], occ["resolved_by"] = e.ts, e.actor
            inc["state"] = "resolved"
        elif e.action == "closed":
            inc["state"] = "closed"
        elif e.action == "level":
            occ["level"] = d["to"]
        elif e.action == "suppressed":
            occ["suppressed"] = d["why"]
        elif e.action == "unsuppressed":
            if "now" in d:  # a quiet spell ended: the clocks start again
                occ["active_since"] = e.ts
                occ["suppressed"] = d["now"]
            else:
                occ["suppressed"] = None
        elif e.action == "tier":
            assert d["occurrence"] == occ["n"]
            occ["tier"] = max(occ["tier"], d["tier"] + 1)
        elif e.action == "sla-breach":
            breaches.append(
                Breach(e.incident_id, d["clock"], d["level"], d["due"], e.ts, d["occurrence"])
            )
        elif e.action == "problem-linked":
            inc["problem_id"] = d["problem"]
        elif e.action == "survey-asked":
            surveys[(e.incident_id, d["occurrence"])] = {
                "incident_id": e.incident_id,
                "occurrence": d["occurrence"],
                "asked_at": e.ts,
                "answered_at": None,
                "score": None,
                "comment": None,
                "via": None,
            }
        elif e.action == "survey-answered":
            surveys[(e.incident_id, d["occurrence"])].update(
                answered_at=e.ts, score=d["score"], comment=d["comment"], via=d["via"]
            )
    found, occurrences = [], []
    for incident_id, rec in sorted(incidents.items()):
        last = rec.occurrences[-1]
        inc = rec.incident
        found.append(
            Incident(
                id=incident_id,
                key=inc["key"],
                rule=inc["rule"],
                grp="",
                device=inc["device"],
                metric=inc["metric"],
                site=inc["site"],
                labels={},
                level=last["level"],
                state=inc["state"],
                suppressed=last["suppressed"],
                stale=False,
                summary=inc["summary"],
                runbook=None,
                value=None,
                since=inc["opened_at"],
                opened_at=inc["opened_at"],
                active_since=last["active_since"],
                level_since=last["ts"],
                updated_at=last["ts"],
                acknowledged_at=last["acknowledged_at"],
                acknowledged_by=last["acknowledged_by"],
                arrived_at=last["arrived_at"],
                arrived_by=last["arrived_by"],
                resolved_at=last["resolved_at"],
                resolved_by=last["resolved_by"],
                closed_at=None,
                assignee=None,
                occurrences=len(rec.occurrences),
                problem_id=inc["problem_id"],
                tier=last["tier"],
                reminders=0,
                last_notified_at=None,
                ticket=inc["ticket"],
                source=inc["source"],
            )
        )
        occurrences += [
            Occurrence(incident_id=incident_id, key=inc["key"], **o) for o in rec.occurrences
        ]
    return MonthlyInput(
        incidents=found,
        spans={i: open_spans(entries) for i, entries in by_incident.items()},
        problems=[Problem(**p) for p in sorted(problems.values(), key=lambda p: p["id"])],
        windows=[],
        inventory=inventory(),
        sla=AlertingConfig.model_validate(CONFIG).sla_for,
        now=REPORT_TIME,
        occurrences=sorted(occurrences, key=lambda o: (o.ts, o.incident_id, o.n)),
        breaches=breaches,
        surveys=[Survey(**q) for q in surveys.values()],
    )


@dataclass
class Month:
    from_store: MonthlyReport
    from_audit: MonthlyReport
    audit: list[AuditEntry]
    occurrences: list[Occurrence]
    counts: dict[str, int]


async def _month(tmp_path: Path) -> Month:
    svc, clock, counts = await play(tmp_path)
    try:
        store: TicketStore = svc.store
        clock.now = REPORT_TIME
        period = parse_period("2026-11", TZ)
        from_store = await monthly_report(store, svc.config, inventory(), [], period, REPORT_TIME)
        audit = [audit_from(r) async for r in store.rows("audit", "id")]
        occurrences = await store.occurrences()
    finally:
        await svc.close()
    from_audit = build_monthly(replay(audit), period)
    return Month(from_store, from_audit, audit, occurrences, counts)


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Month:
    import asyncio

    return asyncio.run(_month(tmp_path_factory.mktemp("audit-month")))


def test_the_month_is_full_of_reopens_breaches_escalations_and_hand_resolves(month: Month) -> None:
    total = month.from_store.total
    assert total.reopened >= 10
    assert total.breaches >= 5 and total.escalated >= 5
    assert 0 < total.acknowledged < total.opened
    assert total.reported == 8
    assert 0 < total.surveys_answered < total.surveys_asked
    assert total.satisfaction is not None
    assert month.counts["hand-resolves"] >= 3
    assert month.counts["reopened-by-recheck"] >= 3
    notes = [o.note for o in month.occurrences if o.note]
    assert any("resolved by hand" in n for n in notes)
    assert any("acceptance" in n for n in notes)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_cell_recomputed_from_the_audit_log_alone_is_the_same(
    month: Month, lang: str
) -> None:
    mine = monthly_tables(month.from_store, lang)
    theirs = monthly_tables(month.from_audit, lang)
    assert [t.key for t in mine] == [t.key for t in theirs]
    for a, b in zip(mine, theirs, strict=True):
        assert a.headers == b.headers, a.key
        assert a.rows == b.rows, a.key
    assert any(t.key == "sla" and len(t.rows) > 10 for t in mine)


def _in_november(e: AuditEntry, opened_in_november: set[tuple[int, int]]) -> bool:
    return (e.incident_id, e.detail.get("occurrence", 0)) in opened_in_november


def test_the_audit_logs_own_counts_are_the_reports(month: Month) -> None:
    """Counted straight off the audit log: no acknowledgement, escalation or breach recorded
    for an alerted occurrence of November is missing from the report."""
    counted = {
        (o.incident_id, o.n) for o in month.occurrences if NOV <= o.ts < DEC and not o.suppressed
    }
    # which occurrence each entry belongs to: the latest opening of its incident before it
    current: dict[int, int] = {}
    acks = escalated = breaches = 0
    seen_escalation: set[tuple[int, int]] = set()
    for e in month.audit:
        if e.incident_id is None:
            continue
        if e.action == "opened":
            current[e.incident_id] = 1
        elif e.action == "reopened":
            current[e.incident_id] = e.detail["occurrence"]
        which = (e.incident_id, current.get(e.incident_id, 0))
        if which not in counted:
            continue
        if e.action == "acknowledged":
            acks += 1
        elif e.action == "tier" and e.detail["tier"] >= 1 and which not in seen_escalation:
            seen_escalation.add(which)
            escalated += 1
        elif e.action == "sla-breach":
            breaches += 1
    total = month.from_store.total
    assert (total.acknowledged, total.escalated, total.breaches) == (acks, escalated, breaches)
    assert total.opened == len(counted)


def test_a_recorded_breach_is_never_counted_within_target(month: Month) -> None:
    total = month.from_store.total
    respond_breaches = {
        (e.incident_id, e.detail["occurrence"])
        for e in month.audit
        if e.action == "sla-breach" and e.detail["clock"] == "respond"
    }
    counted = [o for o in month.occurrences if NOV <= o.ts < DEC and not o.suppressed]
    missed = sum(1 for o in counted if (o.incident_id, o.n) in respond_breaches)
    assert missed > 0
    assert total.responded_in_time <= total.opened - missed


def test_replay_would_notice_a_lost_acknowledgement(month: Month) -> None:
    """The comparison can fail: drop one acknowledgement of a reopened incident's first
    occurrence from the audit log and the figures differ."""
    first_acks = [
        e
        for e in month.audit
        if e.action == "acknowledged"
        and any(o.incident_id == e.incident_id and o.n > 1 for o in month.occurrences)
    ]
    assert first_acks
    dropped = [e for e in month.audit if e is not first_acks[0]]
    period = parse_period("2026-11", TZ)
    altered = build_monthly(replay(dropped), period)
    assert replace(altered.total) != replace(month.from_store.total)


DESK_SAMPLES = {
    ("md", "en"): "monthly-desk-2026-11.en.md",
    ("md", "zh"): "monthly-desk-2026-11.zh.md",
    ("html", "en"): "monthly-desk-2026-11.en.html",
    ("csv", "en"): "monthly-desk-2026-11.en.csv",
}


@pytest.mark.parametrize(("fmt", "lang"), sorted(DESK_SAMPLES))
def test_the_desk_sample_is_this_month_as_the_code_writes_it(
    month: Month, fmt: str, lang: str
) -> None:
    """docs/samples/monthly-desk-2026-11.*: this generated month (reopens, hand tickets,
    surveys), byte for byte; regenerate them in the commit that changes the report."""
    sample = Path(__file__).resolve().parents[2] / "docs" / "samples" / DESK_SAMPLES[(fmt, lang)]
    written = output.monthly(month.from_store, fmt, lang, REPORT_TIME)
    assert written == sample.read_text(encoding="utf-8-sig")
