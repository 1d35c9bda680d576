"""The monthly SLA report against a generated month of incidents with known answers.

A month (November 2026, Asia/Shanghai) of incidents is played into a real in-memory ticket
store through the incident lifecycle (faults open, reopen and resolve incidents; people
acknowledge and resolve; problems are tracked and annotated) on virtual time. The test keeps
its own record of what it did and recomputes every figure from that record — by different
means (availability by counting minutes) — then checks the report field by field, and every
cell of every format (HTML, Markdown, CSV) read back."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
import random
import re
import zoneinfo
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest

from alerting import incidents, problems
from alerting.config import AlertingConfig, ProblemsConfig
from alerting.reports import output
from alerting.reports.monthly import MonthlyInput, MonthlyReport, build_monthly
from alerting.reports.period import parse_period
from alerting.reports.source import read_history, read_incidents
from alerting.store import TicketStore, open_store
from inventory.model import Device, Inventory, Selector, Site
from rules.fault import Fault, FaultState, Suppression, fault_key
from rules.maintenance import MaintenanceWindow

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
MIN = 60.0
REOPEN_WINDOW = 3600.0
TARGETS = {1: (5 * MIN, 4 * 3600.0), 2: (10 * MIN, 8 * 3600.0), 3: (20 * MIN, 12 * 3600.0)}


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> float:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ).timestamp()


NOV_START, NOV_END = at(1), dt.datetime(2026, 12, 1, tzinfo=TZ).timestamp()
REPORT_TIME = at(2, 9, 0, month=12)

DEVICES = {
    "core-sw1": ("switch", "dc1", "Core switch"),
    "srv1": ("server", "dc1", "App server"),
    "ups1": ("ups", "dc1", "UPS A"),
    "th1": ("sensor", "dc1", "Room sensor"),
    "srv2": ("server", "dc2", "Backup server"),
    "web1": ("website", "dc2", "Portal"),
}
RULES = {  # rule → metric
    "device-unreachable": "device.up",
    "website-down": "http.up",
    "room-temperature": "ambient.temperature",
    "disk-full": "disk.used_percent",
    "ups-on-battery": "ups.status",
}


def inventory() -> Inventory:
    return Inventory(
        sites={"dc1": Site("dc1", "Beijing DC"), "dc2": Site("dc2", "Shanghai DC")},
        devices={
            d: Device(d, name, kind, 2, site=site, room="A")
            for d, (kind, site, name) in DEVICES.items()
        },
    )


WINDOWS = [
    # one-off: core switch firmware, 10 Nov 01:00–05:00
    MaintenanceWindow("mw-1", Selector(id=("core-sw1",)), at(10, 1), at(10, 5), reason="firmware"),
    # weekly UPS self-test, Sundays 02:00–02:30 (1 Nov 2026 is a Sunday)
    MaintenanceWindow(
        "mw-2", Selector(kind=("ups",)), at(1, 2), at(1, 2, 30), every="weekly", reason="self-test"
    ),
]


@dataclass
class Occ:
    start: float
    ack: float | None = None
    resolve: float | None = None
    by_person: bool = False  # resolved by hand (else the fault cleared)


@dataclass
class Spec:
    rule: str
    device: str
    level: int
    occs: list[Occ]
    tag: str
    tier: int = 0
    suppressed: Suppression | None = None
    relevel: tuple[float, int] | None = None  # (when, new level) during the last occurrence
    problem_note: str | None = None
    id: int = 0

    @property
    def labels(self) -> dict[str, str]:
        return {"n": self.tag}

    @property
    def key(self) -> str:
        return fault_key(self.rule, self.device, self.labels)

    @property
    def metric(self) -> str:
        return RULES[self.rule]

    @property
    def site(self) -> str:
        return DEVICES[self.device][1]

    @property
    def final_level(self) -> int:
        return self.relevel[1] if self.relevel else self.level

    @property
    def last(self) -> Occ:
        return self.occs[-1]


def generate() -> list[Spec]:
    """Hand-made edge cases plus a seeded random bulk; every time on a whole minute."""
    specs = [
        # reopened within the window, second occurrence acknowledged late
        Spec(
            "device-unreachable",
            "srv1",
            1,
            [Occ(at(3, 10), at(3, 10, 2), at(3, 10, 30)), Occ(at(3, 11), at(3, 11, 9), at(3, 12))],
            "reopen",
            tier=2,
        ),
        # opened during the switch firmware window (suppressed), outlasts it by an hour
        Spec(
            "device-unreachable",
            "core-sw1",
            2,
            [Occ(at(10, 2), None, at(10, 6))],
            "mw",
            suppressed=Suppression.MAINTENANCE,
        ),
        # the UPS self-test drops the UPS off the network, partly inside the window
        Spec("device-unreachable", "ups1", 3, [Occ(at(8, 2, 10), None, at(8, 2, 50))], "ups-test"),
        # still open at the end of the month, acknowledged
        Spec("disk-full", "srv2", 3, [Occ(at(29, 8), at(29, 8, 15), None)], "open-acked"),
        # opened in the last hour, repaired in time but after the month ended
        Spec(
            "website-down",
            "web1",
            1,
            [Occ(at(30, 23), at(30, 23, 3), at(1, 2, month=12), by_person=True)],
            "late-fix",
        ),
        # from October, still open through November (counts in October, open at month end)
        Spec("room-temperature", "th1", 2, [Occ(at(28, 9, month=10), None, None)], "october"),
        # October, resolved in October: only the trend sees it
        Spec(
            "ups-on-battery",
            "ups1",
            1,
            [Occ(at(5, 9, month=10), at(5, 9, 1), at(5, 9, 40))],
            "oct2",
        ),
        # level moved from 3 to 1 while open; counted at level 1
        Spec(
            "room-temperature",
            "th1",
            3,
            [Occ(at(12, 14), at(12, 14, 4), at(12, 16))],
            "relevel",
            relevel=(at(12, 14, 30), 1),
        ),
        # never acknowledged, cleared by itself quickly (responded in time by resolution)
        Spec("disk-full", "srv1", 2, [Occ(at(14, 3), None, at(14, 3, 6))], "self-cleared"),
        # never acknowledged, cleared late: both clocks missed
        Spec("disk-full", "srv1", 2, [Occ(at(15, 3), None, at(15, 12))], "slow-clear"),
    ]
    # a recurring problem: the same key four times within five days (new incidents, > 1 h apart)
    recurring = [at(17, 1), at(18, 1), at(19, 1), at(21, 1)]
    for index, start in enumerate(recurring):
        specs.append(
            Spec(
                "ups-on-battery",
                "ups1",
                2,
                [Occ(start, start + 4 * MIN, start + 30 * MIN)],
                "mains",
                problem_note="mains breaker trips when the chiller starts" if index == 3 else None,
            )
        )
    rng = random.Random(20261101)
    choices = [
        ("device-unreachable", "srv2"),
        ("device-unreachable", "th1"),
        ("website-down", "web1"),
        ("room-temperature", "th1"),
        ("disk-full", "srv2"),
        ("ups-on-battery", "ups1"),
    ]
    for n in range(48):
        rule, device = rng.choice(choices)
        start = NOV_START + rng.randrange(0, 29 * 24 * 60 - 24 * 60) * MIN
        ack = (
            start + rng.choice([1, 2, 4, 6, 9, 12, 18, 25, 40]) * MIN
            if rng.random() < 0.8
            else None
        )
        resolve: float | None = start + rng.randrange(45, 16 * 60) * MIN
        if rng.random() < 0.08:
            resolve = None  # still open
        specs.append(
            Spec(
                rule,
                device,
                rng.choice([1, 2, 2, 3, 3, 3]),
                [Occ(start, ack, resolve)],
                f"r{n}",
                tier=rng.choice([0, 1, 1, 2, 3]),
            )
        )
    return specs


# ------------------------------------------------------------------ playing it into the store


def fault(spec: Spec, when: float, firing: bool, level: int) -> Fault:
    return Fault(
        key=spec.key,
        rule=spec.rule,
        group="g",
        device=spec.device,
        metric=spec.metric,
        level=level,
        state=FaultState.FIRING if firing else FaultState.RESOLVED,
        value=0,
        since=when - MIN,
        ts=when,
        labels=spec.labels,
        site=spec.site,
        summary={"en": f"{spec.rule} on {spec.device}", "zh": f"{spec.device} {spec.rule}"},
        suppressed=spec.suppressed if firing else None,
    )


async def play(store: TicketStore, specs: list[Spec]) -> None:
    actions: list[tuple[float, int, Spec, str, Any]] = []
    for spec in specs:
        for occ in spec.occs:
            actions.append((occ.start, 0, spec, "fire", occ))
            if occ.ack is not None:
                actions.append((occ.ack, 1, spec, "ack", occ))
            if occ.resolve is not None:
                actions.append((occ.resolve, 3, spec, "resolve", occ))
        if spec.relevel:
            actions.append((spec.relevel[0], 2, spec, "relevel", spec.relevel[1]))
    pcfg = ProblemsConfig(occurrences=3, window=7 * 86400.0)
    for when, _, spec, what, arg in sorted(actions, key=lambda a: (a[0], a[1], a[2].tag)):
        async with store.transaction():
            if what == "fire":
                change = await incidents.apply_fault(
                    store, fault(spec, when, True, spec.level), when, REOPEN_WINDOW
                )
                assert change is not None and change.kind in ("opened", "reopened")
                spec.id = change.incident.id
                await problems.track(store, change.incident, pcfg, when)
                if spec.tier:
                    await store.update_incident(spec.id, {"tier": spec.tier})
                if spec.problem_note:
                    linked = await store.get(spec.id)
                    assert linked.problem_id is not None
                    await problems.annotate(
                        store, linked.problem_id, "li", when, root_cause=spec.problem_note
                    )
            elif what == "ack":
                await incidents.acknowledge(store, spec.id, "zhang", when)
            elif what == "relevel":
                await incidents.apply_fault(
                    store, fault(spec, when, True, arg), when, REOPEN_WINDOW
                )
            elif arg.by_person:
                await incidents.resolve(store, spec.id, "li", when)
            else:
                await incidents.apply_fault(
                    store, fault(spec, when, False, spec.level), when, REOPEN_WINDOW
                )


# ------------------------------------------------------------------ the answers, recomputed


def nearest_rank(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(len(ordered) * pct / 100) - 1]


def middle(values: list[float]) -> float | None:
    if not values:
        return None
    ordered, n = sorted(values), len(values)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def counted_occurrences(specs: list[Spec], level: int | None) -> list[tuple[Spec, Occ, int, int]]:
    """(spec, occurrence, its level, its number) of every alerted occurrence opened in
    November: each time an incident opened or reopened is one fault, at the level it ended
    with (a relevel happens during the last occurrence)."""
    out = []
    for s in specs:
        if s.suppressed:
            continue
        for index, occ in enumerate(s.occs):
            lv = s.final_level if index == len(s.occs) - 1 else s.level
            if NOV_START <= occ.start < NOV_END and (level is None or lv == level):
                out.append((s, occ, lv, index + 1))
    return out


def expected_level(specs: list[Spec], level: int | None) -> dict[str, Any]:
    mine = counted_occurrences(specs, level)
    out: dict[str, Any] = {"opened": len(mine)}
    acks = [o.ack - o.start for _, o, _, _ in mine if o.ack is not None]
    fixes = [
        o.resolve - o.start for _, o, _, _ in mine if o.resolve is not None and o.resolve < NOV_END
    ]
    responded = repaired = 0
    for _, o, lv, _ in mine:
        respond, repair = TARGETS[lv]
        met = o.ack if o.ack is not None else o.resolve
        responded += met is not None and met - o.start <= respond
        repaired += o.resolve is not None and o.resolve - o.start <= repair
    out.update(
        acknowledged=len(acks),
        responded_in_time=responded,
        repaired_in_time=repaired,
        resolved=len(fixes),
        # the tier is set at each opening, so every occurrence of the spec ran it
        escalated=sum(1 for s, _, _, _ in mine if s.tier >= 2),
        reopened=sum(1 for _, _, _, n in mine if n > 1),
        breaches=0,
        reported=0,
        surveys_asked=0,
        surveys_answered=0,
        satisfaction=None,
        mtta_median=middle(acks),
        mtta_p90=nearest_rank(acks, 90),
        mttr_median=middle(fixes),
        mttr_p90=nearest_rank(fixes, 90),
    )
    return out


def minute_set(start: float, end: float) -> set[int]:
    lo, hi = max(start, NOV_START), min(end, NOV_END)
    return (
        set(range(int((lo - NOV_START) // MIN), int((hi - NOV_START) // MIN))) if hi > lo else set()
    )


def planned_minutes(device: str) -> set[int]:
    kind = DEVICES[device][0]
    out: set[int] = set()
    if device == "core-sw1":
        out |= minute_set(at(10, 1), at(10, 5))
    if kind == "ups":
        for day in (1, 8, 15, 22, 29):
            out |= minute_set(at(day, 2), at(day, 2, 30))
    return out


def expected_availability(specs: list[Spec], device: str) -> dict[str, Any]:
    website = DEVICES[device][0] == "website"
    metrics = {"device.up", "http.up"} if website else {"device.up"}
    down: set[int] = set()
    for s in specs:
        if s.device == device and s.metric in metrics:
            for occ in s.occs:
                down |= minute_set(occ.start, occ.resolve if occ.resolve is not None else NOV_END)
    planned = planned_minutes(device)
    unplanned = down - planned
    total = int((NOV_END - NOV_START) // MIN)
    observed = total - len(planned)
    runs = sum(1 for m in unplanned if m - 1 not in unplanned)
    return {
        "availability": 100.0 * (observed - len(unplanned)) / observed,
        "downtime": len(unplanned) * MIN,
        "planned": len(planned) * MIN,
        "downtime_in_maintenance": len(down & planned) * MIN,
        "outages": runs,
    }


# ------------------------------------------------------------------ fixtures


@dataclass
class Month:
    specs: list[Spec]
    report: MonthlyReport
    data: MonthlyInput
    extra: dict[str, Any] = field(default_factory=dict)


async def build_month(site: str | None = None) -> Month:
    specs = generate()
    store = await open_store("sqlite://:memory:")
    try:
        await play(store, specs)
        found, spans = await read_incidents(store)
        occurrences, breaches = await read_history(store)
        data = MonthlyInput(
            occurrences=occurrences,
            breaches=breaches,
            incidents=found,
            spans=spans,
            problems=await store.problems(),
            windows=WINDOWS,
            inventory=inventory(),
            sla=AlertingConfig().sla_for,
            now=REPORT_TIME,
        )
    finally:
        await store.close()
    report = build_monthly(data, parse_period("2026-11", TZ), site=site)
    return Month(specs, report, data)


@pytest.fixture(scope="module")
def month() -> Month:
    import asyncio

    return asyncio.run(build_month())


# ------------------------------------------------------------------ the figures


SLA_FIELDS = (
    "opened",
    "acknowledged",
    "responded_in_time",
    "repaired_in_time",
    "resolved",
    "escalated",
    "reopened",
    "breaches",
    "reported",
    "surveys_asked",
    "surveys_answered",
    "satisfaction",
    "mtta_median",
    "mtta_p90",
    "mttr_median",
    "mttr_p90",
)


@pytest.mark.parametrize("level", [1, 2, 3, None])
def test_sla_figures_per_level_match_the_recomputed_answers(
    month: Month, level: int | None
) -> None:
    stats = month.report.total if level is None else month.report.levels[level - 1]
    expected = expected_level(month.specs, level)
    assert expected["opened"] > 0
    for name in SLA_FIELDS:
        assert getattr(stats, name) == expected[name], name


def test_generated_month_exercises_every_case(month: Month) -> None:
    total = month.report.total
    # the data must actually contain late, reopened, escalated, unresolved incidents
    assert 0 < total.responded_in_time < total.opened
    assert 0 < total.repaired_in_time < total.opened
    assert 0 < total.resolved < total.opened
    assert total.reopened >= 1 and total.escalated >= 1
    assert all(s.opened > 0 for s in month.report.levels)


def test_each_occurrence_of_a_reopened_incident_keeps_its_own_clocks(month: Month) -> None:
    spec = next(s for s in month.specs if s.tag == "reopen")
    row = next(i for i in month.data.incidents if i.id == spec.id)
    assert row.occurrences == 2
    assert row.acknowledged_at == at(3, 11, 9)  # the incident row: its latest occurrence
    history = [o for o in month.data.occurrences if o.incident_id == spec.id]
    # the reopen did not wipe the first occurrence's acknowledgement or resolution
    assert [(o.n, o.ts, o.acknowledged_at, o.resolved_at) for o in history] == [
        (1, at(3, 10), at(3, 10, 2), at(3, 10, 30)),
        (2, at(3, 11), at(3, 11, 9), at(3, 12)),
    ]
    assert month.data.spans[spec.id] == [(at(3, 10), at(3, 10, 30)), (at(3, 11), at(3, 12))]


def test_incident_whose_level_changed_counts_at_its_current_level(month: Month) -> None:
    spec = next(s for s in month.specs if s.tag == "relevel")
    row = next(i for i in month.data.incidents if i.id == spec.id)
    assert row.level == 1


def test_suppressed_incidents_are_counted_apart(month: Month) -> None:
    assert month.report.suppressed == {"maintenance": 1}
    assert [r.device for r in month.report.maintenance_incidents] == ["core-sw1"]


def test_still_open_at_month_end_lists_unresolved_and_late_resolved_incidents(month: Month) -> None:
    expected = sorted(
        (s.final_level, s.id)
        for s in month.specs
        if s.occs[0].start < NOV_END and (s.last.resolve is None or s.last.resolve >= NOV_END)
    )
    assert [(r.level, r.id) for r in month.report.still_open] == expected
    tags = {s.id: s.tag for s in month.specs}
    shown = {tags[r.id] for r in month.report.still_open}
    assert {"open-acked", "late-fix", "october"} <= shown


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_availability_excludes_planned_maintenance(month: Month, device: str) -> None:
    row = next(r for r in month.report.availability if r.device == device)
    expected = expected_availability(month.specs, device)
    assert row.availability == pytest.approx(expected["availability"], abs=1e-9)
    assert row.downtime == expected["downtime"]
    assert row.planned == expected["planned"]
    assert row.downtime_in_maintenance == expected["downtime_in_maintenance"]
    assert row.outages == expected["outages"]
    assert row.website == (device == "web1")


def test_maintenance_outage_counts_only_outside_the_window(month: Month) -> None:
    sw = next(r for r in month.report.availability if r.device == "core-sw1")
    assert sw.downtime_in_maintenance == 3 * 3600.0  # 02:00–05:00 inside the window
    assert sw.downtime == 3600.0  # 05:00–06:00 after it
    assert [(m.id, m.seconds) for m in month.report.maintenance] == [
        ("mw-1", 4 * 3600.0),
        ("mw-2", 5 * 1800.0),
    ]


def test_recurring_problem_shows_occurrences_in_the_month_and_its_root_cause(month: Month) -> None:
    assert len(month.report.problems) >= 1
    top = month.report.problems[0]
    assert top.key == fault_key("ups-on-battery", "ups1", {"n": "mains"})
    assert top.occurrences == 4
    assert top.root_cause == "mains breaker trips when the chiller starts"
    assert top.state == "open"


def test_trend_counts_alerted_incidents_per_level_per_month(month: Month) -> None:
    trend = dict(month.report.trend)
    assert list(trend) == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert trend["2026-10"] == {1: 1, 2: 1, 3: 0}
    for level in (1, 2, 3):
        assert trend["2026-11"][level] == expected_level(month.specs, level)["opened"]


def test_response_buckets_sort_acknowledgements_against_the_level_target(month: Month) -> None:
    for level in (1, 2, 3):
        respond = TARGETS[level][0]
        counts = [0] * 6
        for _, occ, _, _ in counted_occurrences(month.specs, level):
            if occ.ack is None:
                counts[5] += 1
                continue
            share = (occ.ack - occ.start) / respond
            counts[
                next(i for i, b in enumerate((0.25, 0.5, 1.0, 2.0, math.inf)) if share <= b)
            ] += 1
        assert month.report.response_buckets[level] == counts


async def test_site_filter_keeps_only_that_sites_incidents_and_devices() -> None:
    month = await build_month(site="dc2")
    expected = sum(
        1
        for s in month.specs
        if NOV_START <= s.occs[0].start < NOV_END and not s.suppressed and s.site == "dc2"
    )
    assert month.report.total.opened == expected
    assert {r.device for r in month.report.availability} == {"srv2", "web1"}


def test_quarter_covers_three_months() -> None:
    quarter = parse_period("2026Q4", TZ)
    assert quarter.start == at(1, month=10)
    assert quarter.end == NOV_END + 31 * 86400
    assert quarter.months == ((2026, 10), (2026, 11), (2026, 12))


# ------------------------------------------------------------------ every format, cell by cell


def fmt_min(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def fmt_pct(part: int, whole: int) -> str:
    return "-" if whole == 0 else f"{100 * part / whole:.2f}"


def expected_sla_rows(specs: list[Spec]) -> list[list[str]]:
    cols = [expected_level(specs, lv) for lv in (1, 2, 3, None)]
    targets = [TARGETS[1], TARGETS[2], TARGETS[3], None]
    rows = [
        ["Response target (min)", *(fmt_min(t[0]) if t else "-" for t in targets)],
        ["Repair target (h)", *(f"{t[1] / 3600:g}" if t else "-" for t in targets)],
    ]
    for label, key in (
        ("Faults opened (occurrences)", "opened"),
        ("Acknowledged", "acknowledged"),
        ("Responded within target", "responded_in_time"),
    ):
        rows.append([label, *(str(c[key]) for c in cols)])
    rows.append(
        [
            "Responded within target (%)",
            *(fmt_pct(c["responded_in_time"], c["opened"]) for c in cols),
        ]
    )
    rows.append(["Repaired within target", *(str(c["repaired_in_time"]) for c in cols)])
    rows.append(
        ["Repaired within target (%)", *(fmt_pct(c["repaired_in_time"], c["opened"]) for c in cols)]
    )
    for label, key in (
        ("MTTA median (min)", "mtta_median"),
        ("MTTA 90th percentile (min)", "mtta_p90"),
        ("MTTR median (min)", "mttr_median"),
        ("MTTR 90th percentile (min)", "mttr_p90"),
    ):
        rows.append([label, *(fmt_min(c[key]) for c in cols)])
    rows.append(["Escalated", *(str(c["escalated"]) for c in cols)])
    rows.append(["SLA breaches recorded", *(str(c["breaches"]) for c in cols)])
    rows.append(["Reopened", *(str(c["reopened"]) for c in cols)])
    rows.append(["Reopen rate (%)", *(fmt_pct(c["reopened"], c["opened"]) for c in cols)])
    rows.append(["Reported by people", *(str(c["reported"]) for c in cols)])
    rows.append(["Satisfaction surveys asked", *(str(c["surveys_asked"]) for c in cols)])
    rows.append(
        [
            "Survey response rate (%)",
            *(fmt_pct(c["surveys_answered"], c["surveys_asked"]) for c in cols),
        ]
    )
    rows.append(["Satisfaction (mean of 1–5)", *("-" for c in cols)])
    rows.append(["Resolved", *(str(c["resolved"]) for c in cols)])
    rows.append(["Resolution rate (%)", *(fmt_pct(c["resolved"], c["opened"]) for c in cols)])
    return rows


def expected_availability_rows(specs: list[Spec], website: bool) -> list[list[str]]:
    rows = []
    for device in sorted(d for d in DEVICES if (DEVICES[d][0] == "website") == website):
        _kind, site, name = DEVICES[device]
        e = expected_availability(specs, device)
        rows.append(
            [
                device,
                name,
                site,
                f"{e['availability']:.3f}",
                fmt_min(e["downtime"]),
                str(e["outages"]),
                fmt_min(e["planned"]),
                fmt_min(e["downtime_in_maintenance"]),
            ]
        )
    rows.sort(key=lambda r: (r[2], r[0]))
    return rows


class TableReader(HTMLParser):
    """Reads every <section id=…><table> of the HTML report back into rows of cell text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.section: str | None = None
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name in ("src", "href"):
            if attributes.get(name):
                self.external.append(f"{tag} {name}={attributes[name]}")
        section = attributes.get("id")
        if tag == "section" and section:
            self.section = section
            self.tables[section] = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag in ("script", "link", "img", "iframe"):
            self.external.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append("".join(self.cell))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.section is not None:
            self.tables[self.section].append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def read_html(doc: str) -> TableReader:
    reader = TableReader()
    reader.feed(doc)
    return reader


def read_md(doc: str) -> dict[str, list[list[str]]]:
    tables: dict[str, list[list[str]]] = {}
    current: str | None = None
    for line in doc.splitlines():
        if line.startswith("## "):
            current = line[3:]
            tables[current] = []
        elif line.startswith("| ") and current is not None:
            cells = [c.strip().replace("\\|", "|") for c in _split_md(line)]
            tables[current].append(cells)
    return tables


def _split_md(line: str) -> list[str]:
    cells, buf, escaped = [], [], False
    for ch in line.strip()[1:-1]:
        if escaped:
            buf.append("\\" + ch if ch not in "|\\" else ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            cells.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    cells.append("".join(buf))
    return cells


def read_csv(doc: str) -> dict[str, list[list[str]]]:
    tables: dict[str, list[list[str]]] = {}
    for row in csv.reader(io.StringIO(doc)):
        tables.setdefault(row[0], []).append(row[1:])
    return tables


TITLES = {
    "sla": "Incidents and SLA by level",
    "availability-devices": "Availability of devices",
    "availability-websites": "Availability of websites",
    "problems": "Top recurring problems",
    "still-open": "Incidents still open at the end of the period",
}


def tables_of(fmt: str, doc: str) -> dict[str, list[list[str]]]:
    """key → rows including the header row, whatever the format."""
    if fmt == "html":
        return read_html(doc).tables
    if fmt == "csv":
        return read_csv(doc)
    by_title = read_md(doc)
    out = {}
    for key, title in TITLES.items():
        out[key] = by_title[title]  # the |---| line does not start with "| "
    return out


@pytest.mark.parametrize("fmt", ["html", "md", "csv"])
def test_every_format_carries_the_same_figures_cell_by_cell(month: Month, fmt: str) -> None:
    doc = output.monthly(month.report, fmt, "en", REPORT_TIME)
    tables = tables_of(fmt, doc)
    assert tables["sla"][0] == ["Measure", "Level 1", "Level 2", "Level 3", "All levels"]
    assert tables["sla"][1:] == expected_sla_rows(month.specs)
    assert tables["availability-devices"][1:] == expected_availability_rows(month.specs, False)
    assert tables["availability-websites"][1:] == expected_availability_rows(month.specs, True)
    problem = tables["problems"][1]
    assert problem[1:5] == [fault_key("ups-on-battery", "ups1", {"n": "mains"}), "open", "4", "4"]
    assert problem[5] == "mains breaker trips when the chiller starts"
    still_open_ids = [row[0] for row in tables["still-open"][1:]]
    assert still_open_ids == [r.ticket for r in month.report.still_open]
    assert all(re.fullmatch(r"RW-\d{4}-\d{6}", t) for t in still_open_ids)


def test_html_report_is_self_contained_with_charts(month: Month) -> None:
    doc = output.monthly(month.report, "html", "en", REPORT_TIME)
    reader = read_html(doc)
    assert reader.external == []
    assert "Content-Security-Policy" in doc and "default-src 'none'" in doc
    assert doc.count("<svg") == 2
    assert "@page { size: A4" in doc


def test_chinese_report_has_chinese_headings_and_the_same_numbers(month: Month) -> None:
    zh = output.monthly(month.report, "csv", "zh", REPORT_TIME)
    en = output.monthly(month.report, "csv", "en", REPORT_TIME)
    zh_sla, en_sla = read_csv(zh)["sla"], read_csv(en)["sla"]
    assert zh_sla[0] == ["指标", "一级", "二级", "三级", "合计"]
    assert [row[1:] for row in zh_sla][1:] == [row[1:] for row in en_sla][1:]
    assert "运维服务月度报告 2026-11" in zh


def test_an_incident_resolved_in_the_month_and_reopened_after_it_was_not_open_at_month_end(
    month: Month,
) -> None:
    # Resolved on 30 Nov at 23:30, reopened on 1 Dec at 00:10 (within the reopen window): the
    # store now holds it open with resolved_at None, but at the end of November it was not.
    template = month.data.incidents[0]
    reopened = dataclasses.replace(
        template,
        id=9001,
        opened_at=at(30, 23),
        active_since=NOV_END + 10 * MIN,
        resolved_at=None,
        acknowledged_at=None,
        state="open",
        suppressed=None,
        occurrences=2,
    )
    across = dataclasses.replace(reopened, id=9002, occurrences=1)  # open across the boundary
    data = dataclasses.replace(
        month.data,
        incidents=[reopened, across],
        spans={
            9001: [(at(30, 23), at(30, 23, 30)), (NOV_END + 10 * MIN, None)],
            9002: [(at(30, 23), None)],
        },
    )
    report = build_monthly(data, parse_period("2026-11", TZ))
    assert [r.id for r in report.still_open] == [9002]


def test_a_repair_target_under_an_hour_is_shown_in_minutes() -> None:
    from alerting.reports.monthly import LevelStats
    from alerting.reports.tables import repair_in_minutes, sla_cell

    def stats(level: int | None, repair: float | None) -> LevelStats:
        return LevelStats(
            level, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, None, None, None, None, 300.0, repair
        )

    usual = [stats(1, 4 * 3600.0), stats(2, 8 * 3600.0), stats(None, None)]
    assert not repair_in_minutes(usual)
    assert [sla_cell(s, "repair_target") for s in usual] == ["4", "8", "-"]
    fast = [stats(1, 1800.0), stats(2, 4 * 3600.0), stats(None, None)]
    assert repair_in_minutes(fast)  # "0.5" h would be read as a typo
    assert [sla_cell(s, "repair_target", True) for s in fast] == ["30.0", "240.0", "-"]
