"""The daily inspection sheet (巡检记录) as data: every device grouped by site and room, its key
readings, each marked normal / warning / fault by the loaded rules, evaluated on the latest
readings alone — the rules' levels without their timers (`for`, `clear`, `hold`): an inspector
writes down what the room shows now. Level 1–2 is a fault, level 3 a warning. Pure.

A `rate(x)` rule is evaluated only when a `x.rate` reading is at hand (one reading has no
rate); counters such as interface errors are shown as read. Each row also says why it is
marked: the readings that met a rule's level (with the rule and its condition as written), and
a device that does not answer with the probe's reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.sample import Sample, Value
from inventory.model import Device, Inventory
from rules.conditions import as_number
from rules.maintenance import MaintenanceWindow
from rules.model import CRITICALITY, Rule

NORMAL, WARNING, FAULT, UNKNOWN = "normal", "warning", "fault", "unknown"
UNGRADED = ""  # no rule watches this reading: shown, not judged
_RANK = {UNGRADED: -1, UNKNOWN: 0, NORMAL: 1, WARNING: 2, FAULT: 3}


@dataclass(frozen=True)
class Column:
    key: str  # i18n key and CSV column
    metrics: tuple[str, ...]
    pick: str  # max | min | sum | first: how several series become one cell


COLUMNS: tuple[Column, ...] = (
    Column("temperature", ("ambient.temperature", "ups.temperature"), "max"),
    Column("humidity", ("ambient.humidity",), "max"),
    Column("ups_status", ("ups.status",), "first"),
    Column("battery", ("battery.charge",), "min"),
    Column("ups_load", ("ups.load",), "max"),
    Column("cpu", ("cpu.usage",), "max"),
    Column("if_errors", ("ifInErrors", "ifOutErrors"), "sum"),
    Column("disk", ("disk.used_percent",), "max"),
    Column("cert_days", ("tls.cert_expiry_days",), "min"),
)


@dataclass(frozen=True)
class Reading:
    value: Value
    status: str
    labels: dict[str, str]  # of the series shown (the fullest disk's mount); {} for a sum
    level: int | None  # the rule level that matched (None: none)


@dataclass(frozen=True)
class Finding:
    """Why a device is marked: a reading that meets a rule's level (`rule`, `condition` as
    written), or the device not answering (`rule` None, `condition` the probe's reason)."""

    metric: str
    labels: dict[str, str]
    value: Value
    rule: str | None
    level: int | None
    condition: str
    status: str


@dataclass(frozen=True)
class DeviceRow:
    device: str
    name: str
    kind: str
    site: str | None
    room: str | None
    reachable: bool | None  # device.up; None: never polled
    readings: dict[str, Reading]  # column key → reading (absent: the device has none)
    status: str
    maintenance: bool
    read_at: float | None  # the newest reading's time
    findings: tuple[Finding, ...] = ()  # why it is not normal, worst first


@dataclass(frozen=True)
class RoomGroup:
    site: str | None
    site_name: str | None
    room: str | None
    rows: tuple[DeviceRow, ...]


@dataclass(frozen=True)
class InspectionSheet:
    at: float
    site: str | None
    groups: tuple[RoomGroup, ...]

    @property
    def rows(self) -> list[DeviceRow]:
        return [row for group in self.groups for row in group.rows]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys((NORMAL, WARNING, FAULT, UNKNOWN), 0)
        for row in self.rows:
            out[row.status] += 1
        return out


def status_of_level(level: int | None) -> str:
    if level is None:
        return NORMAL
    return FAULT if level <= 2 else WARNING


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=UNKNOWN)


def rule_level(rule: Rule, device: Device, value: Value) -> int | None:
    """The most severe level of `rule` whose condition `value` meets (None: none)."""
    best: int | None = None
    for level, condition in rule.levels:
        if condition.test(value):
            actual = device.criticality if level == CRITICALITY else level
            best = actual if best is None else min(best, actual)
    return best


def _watching(sample: Sample, device: Device, rules: Sequence[Rule]) -> list[Rule]:
    wanted = []
    for rule in rules:
        metric = f"{rule.metric}.rate" if rule.rate else rule.metric
        if metric == sample.metric and rule.selects(device) and rule.wants_labels(sample.labels):
            wanted.append(rule)
    return wanted


def findings_of(sample: Sample, device: Device, rules: Sequence[Rule]) -> list[Finding]:
    """Each rule whose level this reading meets now, with the condition it met."""
    out = []
    for rule in _watching(sample, device, rules):
        matched: tuple[int, str] | None = None
        for level, condition in rule.levels:
            if condition.test(sample.value):
                actual = device.criticality if level == CRITICALITY else level
                if matched is None or actual < matched[0]:
                    matched = (actual, condition.text)
        if matched is not None:
            out.append(
                Finding(
                    sample.metric,
                    dict(sample.labels),
                    sample.value,
                    rule.name,
                    matched[0],
                    matched[1],
                    status_of_level(matched[0]),
                )
            )
    return out


def grade(sample: Sample, device: Device, rules: Sequence[Rule]) -> tuple[int | None, str]:
    """The most severe level any rule gives this reading right now, and the status it means
    (UNGRADED when no rule watches the reading)."""
    watching = _watching(sample, device, rules)
    best: int | None = None
    for rule in watching:
        level = rule_level(rule, device, sample.value)
        if level is not None:
            best = level if best is None else min(best, level)
    return best, status_of_level(best) if watching else UNGRADED


def latest(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    """Newest sample per series, grouped by device."""
    newest: dict[tuple[str, str, tuple[tuple[str, str], ...]], Sample] = {}
    for sample in samples:
        key = sample.series_key()
        held = newest.get(key)
        if held is None or sample.ts >= held.ts:
            newest[key] = sample
    out: dict[str, list[Sample]] = {}
    for sample in newest.values():
        out.setdefault(sample.device, []).append(sample)
    return out


def _cell(column: Column, graded: list[tuple[Sample, int | None, str]]) -> Reading | None:
    if not graded:
        return None
    status = worst(st for _, _, st in graded)
    levels = [level for _, level, _ in graded if level is not None]
    level = min(levels) if levels else None
    if column.pick == "sum":
        numbers = [as_number(s.value) for s, _, _ in graded]
        value: Value = sum(n for n in numbers if n is not None)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return Reading(value, status, {}, level)
    # show the series that decided the status; among equals, the extreme one
    candidates = [(s, lv) for s, lv, st in graded if st == status]
    if column.pick in ("max", "min"):
        numeric = [(s, lv) for s, lv in candidates if as_number(s.value) is not None]
        if numeric:
            chooser = max if column.pick == "max" else min
            sample, _ = chooser(numeric, key=lambda pair: as_number(pair[0].value) or 0.0)
            return Reading(sample.value, status, dict(sample.labels), level)
    sample = sorted(candidates, key=lambda pair: (pair[0].metric, sorted(pair[0].labels.items())))[
        0
    ][0]
    return Reading(sample.value, status, dict(sample.labels), level)


def device_row(
    device: Device,
    samples: Sequence[Sample],
    rules: Sequence[Rule],
    in_maintenance: bool,
) -> DeviceRow:
    ups = [s for s in samples if s.metric == "device.up"]
    reachable = None if not ups else all(bool(as_number(s.value)) for s in ups)
    readings: dict[str, Reading] = {}
    for column in COLUMNS:
        order = {metric: index for index, metric in enumerate(column.metrics)}
        chosen = [s for s in samples if s.metric in order]
        if column.pick != "sum" and chosen:
            # the first metric of the column that the device has (ambient before ups.temperature)
            first = min(order[s.metric] for s in chosen)
            chosen = [s for s in chosen if order[s.metric] == first]
        cell = _cell(column, [(s, *grade(s, device, rules)) for s in chosen])
        if cell is not None:
            readings[column.key] = cell
    statuses = [r.status for r in readings.values() if r.status != UNGRADED]
    if reachable is not None:
        statuses.append(NORMAL if reachable else FAULT)
    other = [s for s in samples if s.metric not in {m for c in COLUMNS for m in c.metrics}]
    for sample in other:
        if sample.metric != "device.up":
            _, judged = grade(sample, device, rules)
            if judged != UNGRADED:
                statuses.append(judged)
    status = (worst(statuses) if statuses else NORMAL) if samples else UNKNOWN
    found: list[Finding] = [
        Finding("device.up", dict(s.labels), s.value, None, None, s.note or "", FAULT)
        for s in ups
        if not as_number(s.value)
    ]
    for sample in samples:
        if sample.metric != "device.up":
            found.extend(findings_of(sample, device, rules))
    found.sort(key=lambda f: (-_RANK[f.status], f.metric, sorted(f.labels.items())))
    return DeviceRow(
        device=device.id,
        name=device.name,
        kind=device.kind,
        site=device.site,
        room=device.room,
        reachable=reachable,
        readings=readings,
        status=status,
        maintenance=in_maintenance,
        read_at=max((s.ts for s in samples), default=None),
        findings=tuple(found),
    )


def build_inspection(
    inventory: Inventory,
    rules: Sequence[Rule],
    samples: Iterable[Sample],
    at: float,
    windows: Sequence[MaintenanceWindow] = (),
    site: str | None = None,
) -> InspectionSheet:
    by_device = latest(samples)
    groups: dict[tuple[str, str], list[DeviceRow]] = {}
    for device in inventory.devices.values():
        if site is not None and device.site != site:
            continue
        in_maintenance = any(w.active(at) and w.selects(device) for w in windows)
        row = device_row(device, by_device.get(device.id, []), rules, in_maintenance)
        groups.setdefault((device.site or "", device.room or ""), []).append(row)
    out = []
    for (site_id, room), rows in sorted(groups.items()):
        known = inventory.sites.get(site_id)
        out.append(
            RoomGroup(
                site=site_id or None,
                site_name=known.name if known else None,
                room=room or None,
                rows=tuple(sorted(rows, key=lambda r: r.device)),
            )
        )
    return InspectionSheet(at=at, site=site, groups=tuple(out))
