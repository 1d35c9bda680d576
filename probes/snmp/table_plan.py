"""The compiled path for a table's samples: what `mapping.add_table` does, worked out once per
table instead of per row and poll.

A poll of a 31-port switch turns ~530 varbinds into ~750 samples; done row by row through the
general code (a dict of varbinds per row, the labels decoded and sorted, a tuple key hashed
per counter and a new record per counter reading) that was most of the probe's CPU. Here a
`TablePlan` resolves each metric's column position, conversion, rate names and utilisation
inputs once; a row's cells are the walk's own tuples, by position; and what follows from a
row's raw label values (its labels dict and sorted key) is made once and shared by every
device with such a row, and its counters' last readings are kept in the device's
`CounterRates.rows` (`row_memory`); the labels dict is then shared by the samples of every
poll and device, read-only as always.

Only tables that need nothing row-dependent beyond that take this path (`plan_for` returns
None otherwise: `where`, `exclude`, `skip`, `totals`, and metrics with `scale_by`,
`multiply_by`, `precision_from`, constant `labels` or `bare`); the output is the same sample
for sample, in the same order, as the general path's (tests/unit/test_snmp_table_plan.py
compares both on every recording).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from core.sample import Value, new_sample
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.builder import SampleBuilder
from probes.snmp.profiles import MetricSpec, TableSpec
from probes.snmp.rates import rate_between
from probes.snmp.row_memory import U64_MAX, SharedRows, TableMemory
from probes.snmp.values import GAUGE_MAX, UTILISATION_CEILING, convert, text
from probes.snmp.walk import Column

_NO_ROW: dict[Oid, Varbind] = {}  # convert() reads the row only for row-dependent factors


@dataclass(frozen=True, slots=True)
class MetricPlan:
    spec: MetricSpec
    pos: int  # the column's position in the plan's cells
    name: str
    unit: str | None
    simple: bool  # an integer reading is the value as sent, scaled (no map, sentinels, valid)
    as_sent: bool  # simple and unscaled: the integer itself
    scale: float
    offset: float
    bounds: tuple[float, float] | None
    rate: bool
    rate_name: str
    rate_unit: str
    slot: int  # where the row memory keeps this metric's counter (one per rated name; -1: none)


@dataclass(frozen=True, slots=True)
class LabelPlan:
    name: str
    pos: int | None  # column position; None for a template or scalar label
    scalar: Oid | None
    map: dict[int, str] | None
    template: str | None


@dataclass(frozen=True, slots=True)
class UtilisationPlan:
    name: str
    counter: str
    speed_pos: int
    bits: float
    speed_scale: float


@dataclass(frozen=True, slots=True)
class TablePlan:
    table: TableSpec  # kept, so the id the plan is cached under stays this table's
    columns: tuple[Oid, ...]
    metrics: tuple[MetricPlan, ...]
    # per metric: (plan, pos, name, unit, simple, as_sent, scale, offset, bounds, rate)
    steps: tuple[
        tuple[
            MetricPlan, int, str, str | None, bool, bool, float, float,
            tuple[float, float] | None, bool,
        ],
        ...,
    ]  # fmt: skip
    slot_names: tuple[str, ...]  # a row's counter slots: the table's names with a rate
    # what a row's memory depends on: a plan made afresh (a changed profile) with another
    # layout makes the rows again, carrying their counters over by labels and name
    layout: tuple[str, tuple[LabelPlan, ...], tuple[str, ...]]
    metric_positions: tuple[int, ...]
    labels: tuple[LabelPlan, ...]
    utilisation: tuple[UtilisationPlan, ...]
    interfaces: bool  # an ifIndex table: its labels are kept for the trap receiver
    shared: SharedRows  # the rows' labels by raw key, for every device polling this table


def _planned(table: TableSpec) -> bool:
    if table.where or table.exclude or table.skip or table.totals:
        return False
    return not any(
        m.scale_by is not None
        or m.multiply_by is not None
        or m.precision_from is not None
        or m.labels
        or m.bare
        for m in table.metrics
    )


def _compile(table: TableSpec) -> TablePlan:
    columns = tuple(table.columns())
    pos = {oid: i for i, oid in enumerate(columns)}
    metrics = []
    # counter slots for the names a rate is made of (the others keep no reading between polls)
    rated = dict.fromkeys(m.name for m in table.metrics if m.rate)
    slots = {name: i for i, name in enumerate(rated)}
    for spec in table.metrics:
        simple = spec.map is None and not spec.sentinels and spec.valid is None
        metrics.append(
            MetricPlan(
                spec=spec,
                pos=pos[spec.oid],
                name=spec.name,
                unit=spec.unit,
                simple=simple,
                as_sent=simple and spec.scale == 1.0 and not spec.offset,
                scale=spec.scale,
                offset=spec.offset,
                bounds=spec.bounds,
                rate=spec.rate,
                rate_name=f"{spec.name}.rate",
                rate_unit=f"{spec.unit}/s" if spec.unit else "1/s",
                slot=slots.get(spec.name, -1),
            )
        )
    labels = tuple(
        LabelPlan(
            name=name,
            pos=pos[spec.oid]
            if spec.template is None and spec.scalar is None and spec.oid
            else None,
            scalar=spec.scalar if spec.template is None else None,
            map=spec.map,
            template=spec.template,
        )
        for name, spec in table.labels.items()
    )
    by_name = {m.name: m for m in table.metrics}  # the last of a name, as add_table has it
    utilisation = tuple(
        UtilisationPlan(u.name, u.counter, pos[by_name[u.speed].oid], u.bits, u.speed_scale)
        for u in table.utilisation
        if u.speed in by_name
    )
    return TablePlan(
        table=table,
        columns=columns,
        metrics=tuple(metrics),
        steps=tuple(
            (m, m.pos, m.name, m.unit, m.simple, m.as_sent, m.scale, m.offset, m.bounds, m.rate)
            for m in metrics
        ),
        slot_names=tuple(slots),
        layout=(table.index, labels, tuple(slots)),
        metric_positions=tuple(dict.fromkeys(m.pos for m in metrics)),
        labels=labels,
        utilisation=utilisation,
        interfaces=table.index == "ifIndex",
        shared=SharedRows(),
    )


# id(table) → (the table, its plan or None for the general path); the table is kept so its
# id is not reused while cached. A profile's tables live as long as the loaded profiles; a
# vendor override makes a copy per probe and sysObjectID, a changed profile file new ones:
# hence the bound.
_PLANS: dict[int, tuple[TableSpec, TablePlan | None]] = {}
_PLANS_MAX = 4096


def plan_for(table: TableSpec) -> TablePlan | None:
    """The compiled plan of `table`, or None when the table needs the general path."""
    found = _PLANS.get(id(table))
    if found is not None and found[0] is table:
        return found[1]
    if len(_PLANS) >= _PLANS_MAX:
        _PLANS.clear()
    plan = _compile(table) if _planned(table) else None
    _PLANS[id(table)] = (table, plan)
    return plan


def add_planned_table(
    builder: SampleBuilder,
    plan: TablePlan,
    memory_key: Hashable,
    columns: dict[Oid, Column],
    scalars: dict[Oid, Varbind],
) -> TableMemory:
    """The samples of one walked table, as `mapping.add_table` makes them. `memory_key`
    names the table in the device's row memory (stable from poll to poll: a vendor
    override's copy of a table is still the same table), which is returned: after the
    poll, its rows are those the poll read."""
    width = len(plan.columns)
    cells: dict[Oid, list[tuple[Oid, int, ber.VarValue] | None]] = {}
    for pos, column in enumerate(plan.columns):
        for cell in columns.get(column, ()):
            row = cells.get(cell[0])
            if row is None:
                row = cells[cell[0]] = [None] * width
            row[pos] = cell
    rates = builder.rates
    poll = rates.poll
    memory = rates.rows.get(memory_key)
    if memory is None:
        memory = rates.rows[memory_key] = TableMemory(plan.layout, plan.slot_names)
    elif memory.layout is not plan.layout:
        if memory.layout != plan.layout:  # every row made again (see TablePlan.layout)
            memory = rates.rows[memory_key] = memory.replaced_by(plan.layout, plan.slot_names)
        memory.layout = plan.layout
    device, now, uptime = builder.device, builder.now, builder.uptime
    memory.start(poll, now, uptime)
    # A counter's previous reading is usable only if it was read in the last poll, at the
    # table's time and sysUpTime of then (see row_memory).
    last_poll, before_now, before_uptime = poll - 1, memory.before_now, memory.before_uptime
    by_raw, rows, row_seen = memory.by_raw, memory.rows, memory.row_seen
    values, seen = memory.values, memory.seen
    width = len(plan.slot_names)
    samples = builder.samples
    metric_positions = plan.metric_positions
    make = new_sample
    for index in sorted(cells):
        row = cells[index]
        for p in metric_positions:
            if row[p] is not None:
                break
        else:
            continue  # no metric column answered for this row
        key = _row_key(plan, index, row, scalars)
        number = by_raw.get(key)
        if number is None:
            shared = plan.shared.get(key)
            if shared is None:
                shared = plan.shared.add(key, _labels(plan, index, row, scalars))
            number = memory.add_row(shared, poll)  # (the arrays grow in place)
        else:
            shared = rows[number]
            row_seen[number] = poll
        labels = shared.labels
        names = builder.row_names(shared.label_key)
        base = number * width
        per_s_by_name: dict[str, float] = {}
        # the metric's fields as locals (one unpacking instead of an attribute load each)
        for metric, pos, name, unit, simple, as_sent, scale, offset, bounds, rate in plan.steps:
            entry = row[pos]
            if entry is None:
                continue
            tag, value = entry[1], entry[2]
            converted: Value | None
            if simple and type(value) is int:
                converted = value if as_sent else round(value * scale + offset, 6)
            else:
                converted = convert(metric.spec, tag, value, _NO_ROW)
                if converted is None:
                    continue
            if (
                bounds is not None
                and isinstance(converted, int | float)
                and not bounds[0] <= converted <= bounds[1]
            ):
                builder.out_of_bounds.append(name)
                continue
            if name in names:
                continue
            names.add(name)
            samples.append(make(device, name, converted, labels, unit, now))
            if not rate or not isinstance(value, int):
                continue
            at = base + metric.slot
            fresh = seen[at] != last_poll  # none, or not read in the last poll: forgotten
            before = values[at] if memory.odd is None else memory.odd.pop(at, values[at])
            seen[at] = poll
            if 0 <= value <= U64_MAX:
                values[at] = value
            else:
                memory.set_odd(at, value)
            if fresh:
                continue
            bits = 64 if tag == ber.COUNTER64 else 32
            per_s = rate_between(before, before_now, before_uptime, value, bits, now, uptime)
            if per_s is None:
                continue
            per_s *= scale
            if metric.rate_name not in names:
                names.add(metric.rate_name)
                rounded = round(per_s, 6)
                samples.append(
                    make(device, metric.rate_name, rounded, labels, metric.rate_unit, now)
                )
            per_s_by_name[name] = per_s
        for util in plan.utilisation:
            per_s = per_s_by_name.get(util.counter)
            if per_s is None:
                continue
            speed = row[util.speed_pos]
            # 0 is "unknown" (ifHighSpeed of a virtual port); a Gauge32 stuck at its maximum
            # (ifSpeed of a link above 4.29 Gbit/s) is not the port's speed either.
            if speed is None or type(speed[2]) is not int or not 0 < speed[2] < GAUGE_MAX:
                continue
            percent = per_s * util.bits * 100.0 / (speed[2] * util.speed_scale)
            if 0.0 <= percent <= UTILISATION_CEILING and util.name not in names:
                names.add(util.name)
                percent = round(min(percent, 100.0), 4)
                samples.append(make(device, util.name, percent, labels, "%", now))

    return memory


def _row_key(
    plan: TablePlan,
    index: Oid,
    row: list[tuple[Oid, int, ber.VarValue] | None],
    scalars: dict[Oid, Varbind],
) -> Hashable:
    """What a row's labels follow from: its index and the raw values of its label sources
    (a missing value and a NULL one give the same labels: no such label)."""
    raw: list[object] = [index]
    for label in plan.labels:
        if label.pos is not None:
            entry = row[label.pos]
            raw.append(None if entry is None else entry[2])
        elif label.scalar is not None:
            found = scalars.get(label.scalar)
            raw.append(None if found is None else found[2])
    return tuple(raw)


def _labels(
    plan: TablePlan,
    index: Oid,
    row: list[tuple[Oid, int, ber.VarValue] | None],
    scalars: dict[Oid, Varbind],
) -> dict[str, str]:
    """A row's labels, made as `mapping.add_table` makes them."""
    index_text = ".".join(map(str, index))
    labels = {plan.table.index: index_text}
    for label in plan.labels:
        if label.template is not None:
            labels[label.name] = label.template.replace("{index}", index_text)
            continue
        value: ber.VarValue
        if label.pos is not None:
            entry = row[label.pos]
            if entry is None:
                continue
            value = entry[2]
        elif label.scalar is not None:
            found = scalars.get(label.scalar)
            if found is None:
                continue
            value = found[2]
        else:
            continue
        if label.map is not None and isinstance(value, int):
            text_value = label.map.get(value, str(value))
        else:
            text_value = text(value)
        if text_value:
            labels[label.name] = text_value
    return labels
