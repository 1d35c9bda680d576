"""The SLA figures of the monthly report for one level (or all levels): how many faults were
opened, answered and repaired in time, MTTA and MTTR, escalations, reopens, breaches and the
reporters' satisfaction, each computed beside its definition below (the README's "Reports"
section repeats them for readers). Pure: no store, no clock.

Definitions:
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
  response rate is answers ÷ questions asked."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alerting import sla
from alerting.config import SlaTargets
from alerting.reports.monthly_input import Case


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
