"""The monthly (or quarterly) SLA report as data, computed from values: incidents, the spans
during which each was open (from its audit log), problems, maintenance windows, the inventory
and the SLA targets. Pure: no store, no clock. (Over 400 lines on purpose: every figure of the
report beside its definition below, so what a manager reads and what the code counts are
checked together; laying out and rendering live in tables.py and the templates.)

Definitions (the README's "Reports" section repeats them for readers):
- The report counts **occurrences**: each time an incident opened or reopened is one fault,
  counted in the period in which that occurrence opened, at the level it ended with, with its
  own acknowledgement, arrival, escalation, breaches and resolution (a reopen never hides what
  the earlier occurrence went through). Occurrences suppressed (planned maintenance, a parent
  down, flapping) were not alerted and are counted apart, not against the SLA.
- Responded in time: acknowledged — or resolved, which stops every clock — no later than the
  respond target after it became active (`active_since`), exactly as the SLA clocks judge it,
  and no respond breach recorded for that occurrence. Repaired in time: likewise with the
  repair target and repair breaches.
- MTTA: acknowledged_at − active_since over acknowledged occurrences; MTTR: resolved_at −
  active_since over resolved ones. Median as usual (mean of the middle two); 90th percentile
  by nearest rank (the smallest value with at least 90 % of values at or below it).
- Escalated: the chain went past its first tier in that occurrence. Reopened: the occurrence
  is a reopen (the second or later of its incident). Breaches: SLA breaches recorded for the
  occurrences (respond, arrive and repair each count). Reported: occurrences of tickets that
  people reported (phone, mail, API) rather than the monitoring. Resolved: resolved before the
  end of the period (or before the report, if earlier).
- Satisfaction: the reporters' answers (1–5) to the question asked when their ticket was
  resolved, for the occurrences counted, answered before the end of the period; the survey
  response rate is answers ÷ questions asked.
- Availability: 100 × (observed − unplanned downtime) / observed, where observed is the period
  minus planned maintenance of that device, and downtime the union of the spans during which a
  `device.up` (websites: `device.up` or `http.up`) incident of that device was open."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from alerting import sla
from alerting.config import SlaTargets
from alerting.reports import intervals
from alerting.reports.intervals import Span
from alerting.reports.period import Period, month_start, trailing_months
from alerting.store import Breach, Incident, Occurrence, Problem, Survey
from inventory.model import Device, Inventory
from rules.maintenance import MaintenanceWindow

LEVELS = (1, 2, 3)
DEVICE_METRICS = frozenset({"device.up"})
WEBSITE_METRICS = frozenset({"device.up", "http.up"})
# response-time buckets, as fractions of the level's respond target (upper bounds)
RESPONSE_BUCKETS = (0.25, 0.5, 1.0, 2.0, math.inf)
TREND_MONTHS = 6
TOP_PROBLEMS = 10


@dataclass(frozen=True)
class MonthlyInput:
    incidents: Sequence[Incident]
    spans: Mapping[int, Sequence[tuple[float, float | None]]]  # incident id → open spans
    problems: Sequence[Problem]
    windows: Sequence[MaintenanceWindow]
    inventory: Inventory
    sla: Callable[[int], SlaTargets]
    now: float  # when the report is built
    #: every occurrence of the incidents; empty: one per incident, from its row (older callers)
    occurrences: Sequence[Occurrence] = ()
    breaches: Sequence[Breach] = ()
    surveys: Sequence[Survey] = ()


@dataclass(frozen=True)
class Case:
    """One occurrence of an incident: what the SLA figures count."""

    incident: Incident
    occurrence: Occurrence
    breaches: tuple[Breach, ...]  # recorded in this occurrence (a clock may breach at two levels)
    survey: Survey | None = None  # the satisfaction question of this occurrence, if asked

    @property
    def breached(self) -> frozenset[str]:
        """The clocks with a recorded breach in this occurrence."""
        return frozenset(b.clock for b in self.breaches)

    @property
    def level(self) -> int:
        return self.occurrence.level

    @property
    def suppressed(self) -> str | None:
        return self.occurrence.suppressed


def current_occurrence(incident: Incident) -> Occurrence:
    """The incident row read as its latest occurrence."""
    return Occurrence(
        incident_id=incident.id,
        n=incident.occurrences,
        key=incident.key,
        ts=incident.active_since if incident.occurrences > 1 else incident.opened_at,
        level=incident.level,
        suppressed=incident.suppressed,
        active_since=incident.active_since,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        arrived_at=incident.arrived_at,
        arrived_by=incident.arrived_by,
        resolved_at=incident.resolved_at,
        resolved_by=incident.resolved_by,
        tier=incident.tier,
        note=None,
    )


def cases_of(data: MonthlyInput, incidents: Sequence[Incident]) -> list[Case]:
    by_id = {i.id: i for i in incidents}
    breached: dict[tuple[int, int], list[Breach]] = {}
    for b in data.breaches:
        breached.setdefault((b.incident_id, b.occurrence), []).append(b)
    asked = {(q.incident_id, q.occurrence): q for q in data.surveys}
    occurrences = data.occurrences or [current_occurrence(i) for i in incidents]
    return [
        Case(
            by_id[o.incident_id],
            o,
            tuple(breached.get((o.incident_id, o.n), ())),
            asked.get((o.incident_id, o.n)),
        )
        for o in occurrences
        if o.incident_id in by_id
    ]


@dataclass(frozen=True)
class LevelStats:
    level: int | None  # None: all levels
    opened: int
    acknowledged: int
    responded_in_time: int
    repaired_in_time: int
    resolved: int
    escalated: int
    reopened: int
    breaches: int
    reported: int
    surveys_asked: int
    surveys_answered: int
    satisfaction: float | None  # mean score of the answers, 1–5
    mtta_median: float | None  # seconds
    mtta_p90: float | None
    mttr_median: float | None
    mttr_p90: float | None
    respond_target: float | None
    repair_target: float | None

    @property
    def response_rate(self) -> float | None:
        return ratio(self.responded_in_time, self.opened)

    @property
    def repair_rate(self) -> float | None:
        return ratio(self.repaired_in_time, self.opened)

    @property
    def resolution_rate(self) -> float | None:
        return ratio(self.resolved, self.opened)

    @property
    def reopen_rate(self) -> float | None:
        return ratio(self.reopened, self.opened)

    @property
    def survey_rate(self) -> float | None:
        return ratio(self.surveys_answered, self.surveys_asked)


@dataclass(frozen=True)
class AvailabilityRow:
    device: str
    name: str
    site: str | None
    website: bool
    observed: float  # seconds of the period outside planned maintenance
    planned: float  # seconds of planned maintenance
    downtime: float  # unplanned
    downtime_in_maintenance: float
    outages: int  # unplanned down spans

    @property
    def availability(self) -> float | None:
        if self.observed <= 0:
            return None
        return 100.0 * (self.observed - self.downtime) / self.observed


@dataclass(frozen=True)
class ProblemRow:
    id: int
    key: str
    state: str
    occurrences: int  # in the period
    total: int  # since the problem opened
    root_cause: str | None
    workaround: str | None


@dataclass(frozen=True)
class OpenRow:
    id: int
    level: int
    device: str
    rule: str
    state: str
    opened_at: float
    suppressed: str | None
    summary: dict[str, str]
    ticket: str = ""


@dataclass(frozen=True)
class MaintenanceRow:
    id: str
    reason: str
    devices: tuple[str, ...]
    seconds: float  # time in the period


@dataclass(frozen=True)
class MonthlyReport:
    period: Period
    site: str | None
    as_of: float  # the end of the period, or the time of the report if earlier
    levels: tuple[LevelStats, ...]  # 1, 2, 3
    total: LevelStats
    suppressed: dict[str, int]  # reason → incidents opened in the period
    availability: tuple[AvailabilityRow, ...]
    problems: tuple[ProblemRow, ...]
    still_open: tuple[OpenRow, ...]
    maintenance: tuple[MaintenanceRow, ...]
    maintenance_incidents: tuple[OpenRow, ...]
    trend: tuple[tuple[str, dict[int, int]], ...]  # "2026-11" → level → incidents opened
    response_buckets: dict[int, list[int]]  # level → counts per RESPONSE_BUCKETS + unacked
    sla_targets: dict[int, tuple[float, float]] = field(default_factory=dict)


def ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest rank: the smallest value with at least `pct` % of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _in_site(site: str | None, inventory: Inventory, incident: Incident) -> bool:
    if site is None:
        return True
    if incident.site is not None:
        return incident.site == site
    device = inventory.devices.get(incident.device)
    return device is not None and device.site == site


def _met_in_time(clock: sla.Clock, breached: frozenset[str]) -> int:
    return int(
        clock.met_at is not None and clock.met_at <= clock.due and clock.clock not in breached
    )


def _level_key(level: int) -> int:
    return min(max(level, 1), 3)


def level_stats(
    level: int | None,
    cases: Sequence[Case],
    targets: Mapping[int, SlaTargets],
    as_of: float,
) -> LevelStats:
    """The figures of `cases` (all of `level`, or of any level when `level` is None: each is
    then judged against its own level's targets)."""
    occurrences = [c.occurrence for c in cases]
    ack_delays = [
        o.acknowledged_at - o.active_since for o in occurrences if o.acknowledged_at is not None
    ]
    repair_times = [
        o.resolved_at - o.active_since
        for o in occurrences
        if o.resolved_at is not None and o.resolved_at < as_of
    ]
    scores = [
        c.survey.score
        for c in cases
        if c.survey is not None
        and c.survey.score is not None
        and c.survey.answered_at is not None
        and c.survey.answered_at < as_of
    ]
    responded = repaired = 0
    for case in cases:
        # the SLA clocks' own judgement, and never in time where a breach was recorded, so
        # the report never disagrees with the breach records
        by_clock = {
            c.clock: c for c in sla.clocks(case.occurrence, targets[_level_key(case.level)])
        }
        responded += _met_in_time(by_clock["respond"], case.breached)
        repaired += _met_in_time(by_clock["repair"], case.breached)
    return LevelStats(
        level=level,
        opened=len(cases),
        acknowledged=len(ack_delays),
        responded_in_time=responded,
        repaired_in_time=repaired,
        resolved=len(repair_times),
        escalated=sum(1 for o in occurrences if o.tier >= 2),
        reopened=sum(1 for o in occurrences if o.n > 1),
        breaches=sum(len(c.breaches) for c in cases),
        reported=sum(1 for c in cases if c.incident.from_people),
        surveys_asked=sum(1 for c in cases if c.survey is not None and c.survey.asked_at < as_of),
        surveys_answered=len(scores),
        satisfaction=statistics.fmean(scores) if scores else None,
        mtta_median=median(ack_delays),
        mtta_p90=percentile(ack_delays, 90),
        mttr_median=median(repair_times),
        mttr_p90=percentile(repair_times, 90),
        respond_target=targets[level].respond if level is not None else None,
        repair_target=targets[level].repair if level is not None else None,
    )


def _spans_of(data: MonthlyInput, incident: Incident, as_of: float) -> list[Span]:
    return [
        (start, as_of if end is None else end) for start, end in data.spans.get(incident.id, ())
    ]


def _availability(
    data: MonthlyInput, devices: Sequence[Device], period: Period, as_of: float
) -> list[AvailabilityRow]:
    by_device: dict[str, list[Incident]] = {}
    for incident in data.incidents:
        by_device.setdefault(incident.device, []).append(incident)
    rows = []
    for device in devices:
        website = device.kind == "website"
        metrics = WEBSITE_METRICS if website else DEVICE_METRICS
        down = intervals.clip(
            (
                span
                for incident in by_device.get(device.id, ())
                if incident.metric in metrics
                for span in _spans_of(data, incident, as_of)
            ),
            period.start,
            as_of,
        )
        planned = intervals.merge(
            span
            for window in data.windows
            if window.selects(device)
            for span in intervals.window_spans(window, period.start, as_of)
        )
        unplanned = intervals.subtract(down, planned)
        planned_s = intervals.total(planned)
        unplanned_s = intervals.total(unplanned)
        rows.append(
            AvailabilityRow(
                device=device.id,
                name=device.name,
                site=device.site,
                website=website,
                observed=(as_of - period.start) - planned_s,
                planned=planned_s,
                downtime=unplanned_s,
                downtime_in_maintenance=intervals.total(down) - unplanned_s,
                outages=len(unplanned),
            )
        )
    rows.sort(key=lambda r: (r.website, r.site or "", r.device))
    return rows


def _open_at(data: MonthlyInput, incident: Incident, at: float) -> bool:
    """Was `incident` open at `at`? Its audit-log spans say so where they were read (a
    reopened incident: its current resolved_at is that of its latest occurrence, so an
    occurrence resolved within the period and reopened after it would look open then)."""
    spans = data.spans.get(incident.id)
    if spans:
        return any(start < at and (end is None or end >= at) for start, end in spans)
    return incident.opened_at < at and (incident.resolved_at is None or incident.resolved_at >= at)


def _open_row(incident: Incident) -> OpenRow:
    return OpenRow(
        id=incident.id,
        level=incident.level,
        device=incident.device,
        rule=incident.rule,
        state=incident.state,
        opened_at=incident.opened_at,
        suppressed=incident.suppressed,
        summary=dict(incident.summary),
        ticket=incident.ticket,
    )


def _month_of(ts: float, months: Sequence[tuple[int, int]], period: Period) -> str | None:
    for year, number in months:
        if month_start(year, number, period.tz) <= ts < month_start(year, number + 1, period.tz):
            return f"{year:04d}-{number:02d}"
    return None


def _bucket(delay: float, target: float) -> int:
    share = delay / target
    for index, bound in enumerate(RESPONSE_BUCKETS):
        if share <= bound:
            return index
    return len(RESPONSE_BUCKETS) - 1


def build_monthly(data: MonthlyInput, period: Period, site: str | None = None) -> MonthlyReport:
    as_of = min(period.end, data.now)
    targets = {level: data.sla(level) for level in LEVELS}
    mine = [i for i in data.incidents if _in_site(site, data.inventory, i)]
    cases = cases_of(data, mine)
    opened = [c for c in cases if period.start <= c.occurrence.ts < as_of]
    counted = [c for c in opened if not c.suppressed]

    levels = tuple(
        level_stats(level, [c for c in counted if c.level == level], targets, as_of)
        for level in LEVELS
    )
    suppressed: dict[str, int] = {}
    for case in opened:
        if case.suppressed:
            suppressed[case.suppressed] = suppressed.get(case.suppressed, 0) + 1

    still_open = [_open_row(i) for i in mine if _open_at(data, i, as_of)]

    devices = [d for d in data.inventory.devices.values() if site is None or d.site == site]
    availability = _availability(data, devices, period, as_of)

    occurrence_starts: dict[int, list[float]] = {}
    for incident in mine:
        if incident.problem_id is not None:
            occurrence_starts.setdefault(incident.problem_id, []).extend(
                start for start, _ in data.spans.get(incident.id, ())
            )
    problems = []
    for problem in data.problems:
        count = sum(1 for ts in occurrence_starts.get(problem.id, ()) if period.start <= ts < as_of)
        if count:
            problems.append(
                ProblemRow(
                    problem.id,
                    problem.key,
                    problem.state,
                    count,
                    problem.occurrences,
                    problem.root_cause,
                    problem.workaround,
                )
            )
    problems.sort(key=lambda p: (-p.occurrences, p.id))

    maintenance = []
    for window in data.windows:
        spans = intervals.window_spans(window, period.start, as_of)
        if spans:
            chosen = tuple(sorted(d.id for d in devices if window.selects(d)))
            if site is not None and not chosen:
                continue
            maintenance.append(
                MaintenanceRow(window.id, window.reason, chosen, intervals.total(spans))
            )

    months = trailing_months(period, max(TREND_MONTHS, len(period.months)))
    trend_counts: dict[str, dict[int, int]] = {
        f"{y:04d}-{m:02d}": dict.fromkeys(LEVELS, 0) for y, m in months
    }
    for case in cases:
        if case.suppressed or case.occurrence.ts >= as_of:
            continue
        label = _month_of(case.occurrence.ts, months, period)
        if label is not None and case.level in LEVELS:
            trend_counts[label][case.level] += 1

    buckets = {level: [0] * (len(RESPONSE_BUCKETS) + 1) for level in LEVELS}
    for case in counted:
        occurrence = case.occurrence
        if case.level not in LEVELS:
            continue
        if occurrence.acknowledged_at is None:
            buckets[case.level][-1] += 1
        else:
            delay = occurrence.acknowledged_at - occurrence.active_since
            buckets[case.level][_bucket(delay, targets[case.level].respond)] += 1

    return MonthlyReport(
        period=period,
        site=site,
        as_of=as_of,
        levels=levels,
        total=level_stats(None, counted, targets, as_of),
        suppressed=suppressed,
        availability=tuple(availability),
        problems=tuple(problems[:TOP_PROBLEMS]),
        still_open=tuple(sorted(still_open, key=lambda r: (r.level, r.id))),
        maintenance=tuple(maintenance),
        maintenance_incidents=tuple(
            _open_row(i)
            for i in {
                c.incident.id: c.incident for c in opened if c.suppressed == "maintenance"
            }.values()
        ),
        trend=tuple(trend_counts.items()),
        response_buckets=buckets,
        sla_targets={lv: (t.respond, t.repair) for lv, t in targets.items()},
    )
