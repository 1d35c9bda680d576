"""The availability table of the monthly report: per device, the period observed, planned
maintenance, unplanned downtime and outages. Pure: no store, no clock.

Availability: 100 × (observed − unplanned downtime) / observed, where observed is the period
minus planned maintenance of that device, and downtime the union of the spans during which a
`device.up` (websites: `device.up` or `http.up`) incident of that device was open."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alerting.reports import intervals
from alerting.reports.intervals import Span
from alerting.reports.monthly_input import MonthlyInput
from alerting.reports.period import Period
from alerting.store import Incident
from inventory.model import Device

DEVICE_METRICS = frozenset({"device.up"})
WEBSITE_METRICS = frozenset({"device.up", "http.up"})


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


def _spans_of(data: MonthlyInput, incident: Incident, as_of: float) -> list[Span]:
    return [
        (start, as_of if end is None else end) for start, end in data.spans.get(incident.id, ())
    ]


def availability_rows(
    data: MonthlyInput, devices: Sequence[Device], period: Period, as_of: float
) -> list[AvailabilityRow]:
    """One row per device of `devices`: websites after devices, then by site and id."""
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
