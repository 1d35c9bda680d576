"""Turning what an agent answered into Samples, as the profiles say (pure: values in,
Samples out; the only state is the counter memory passed in for rates). Scalars and the
tables `table_plan` cannot compile go through the general code here; the others through
their compiled plan, which yields the same samples."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence

from core.sample import NO_LABELS, Sample
from probes.snmp.ber import Oid, Varbind
from probes.snmp.builder import SampleBuilder
from probes.snmp.profiles import Profile, TableSpec
from probes.snmp.rates import CounterRates
from probes.snmp.row_memory import TableMemory, label_key_of
from probes.snmp.table_plan import add_planned_table, plan_for
from probes.snmp.values import GAUGE_MAX, UTILISATION_CEILING, text
from probes.snmp.walk import Column

SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)

# Device → the labels its interface samples carried in the last poll, by ifIndex: a dict
# from the general path, or the compiled path's row memory of the table (whose rows are
# those of the last poll; a trap is rare enough to look for its port among them, instead
# of a dict per switch kept alongside). The trap receiver labels a linkDown/linkUp with
# them, so the trap updates the very series the poll writes (and a fault opened by the trap
# is cleared by the poll, or the other way round).
# Weak: a device's entry is the counter memory of the probe that polls it, so it goes with
# that probe (a device removed at a reload), and a reload's new probe replaces it at its
# first poll.
_INTERFACE_LABELS: weakref.WeakValueDictionary[str, CounterRates] = weakref.WeakValueDictionary()


def interface_labels(device: str, if_index: str) -> dict[str, str] | None:
    """The labels of interface `if_index` of `device` as last polled, or None."""
    rates = _INTERFACE_LABELS.get(device)
    held = rates.interfaces if rates is not None else None
    if isinstance(held, TableMemory):
        found = next((r.labels for r in held.rows if r.labels.get("ifIndex") == if_index), None)
    else:
        found = None if held is None else held.get(if_index)
    return dict(found) if found is not None else None


def add_scalars(builder: SampleBuilder, profile: Profile, scalars: dict[Oid, Varbind]) -> None:
    for spec in profile.scalars:
        found = scalars.get(spec.oid)
        if found is not None:
            builder.add_reading(spec, found[1], found[2], NO_LABELS, scalars)
    for status in profile.status:
        flags: list[str] = []
        answered = False
        for source in status.sources:
            found = scalars.get(source.oid)
            if found is None or not isinstance(found[2], int):
                continue
            answered = True
            if source.map is not None and found[2] in source.map:
                flags += source.map[found[2]].split()
            if source.above is not None and source.flag and found[2] > source.above:
                flags.append(source.flag)
        if answered and flags:
            builder.add(status.metric, " ".join(dict.fromkeys(flags)), NO_LABELS, None)


def add_table(
    builder: SampleBuilder,
    table: TableSpec,
    columns: dict[Oid, Column],
    scalars: dict[Oid, Varbind] | None = None,
) -> None:
    # Row index → column OID → varbind (the OID in the varbind is the column's).
    rows: dict[Oid, dict[Oid, Varbind]] = {}
    for column in table.columns():
        for index, tag, value in columns.get(column, ()):
            rows.setdefault(index, {})[column] = (column, tag, value)
    metric_columns = {m.oid for m in table.metrics}
    where = table.where_oids()
    exclude = table.exclude_oids()
    by_name = {m.name: m for m in table.metrics}
    # int | float, not float: compiled (core/compiled.py), a float-typed value is a C double,
    # and an int reading would come out as a float (233.0, not 233)
    totals: dict[str, list[int | float]] = {t.of: [] for t in table.totals}
    interfaces: dict[str, dict[str, str]] | None = None
    if table.index == "ifIndex":
        interfaces = builder.rates.interfaces = {}
        _INTERFACE_LABELS[builder.device] = builder.rates
    for index in sorted(rows):
        row = rows[index]
        if not metric_columns & row.keys():
            continue
        if not _row_selected(row, where) or (exclude and _row_excluded(row, exclude)):
            continue
        if table.skip and _row_skipped(row, table):
            continue
        labels = {table.index: ".".join(map(str, index))}
        for name, label_spec in table.labels.items():
            if label_spec.template is not None:
                labels[name] = label_spec.template.replace("{index}", labels[table.index])
                continue
            if label_spec.scalar is not None:
                found = (scalars or {}).get(label_spec.scalar)
            else:
                found = row.get(label_spec.oid) if label_spec.oid is not None else None
            if found is None:
                continue
            if label_spec.map is not None and isinstance(found[2], int):
                label = label_spec.map.get(found[2], str(found[2]))
            else:
                label = text(found[2])
            if label:
                labels[name] = label
        if interfaces is not None:
            interfaces[labels["ifIndex"]] = labels
        rates: dict[str, float] = {}
        label_key = label_key_of(labels)
        for spec in table.metrics:
            found = row.get(spec.oid)
            if found is None:
                continue
            if totals:
                builder.last_value = None
            per_s = builder.add_reading(spec, found[1], found[2], labels, row, label_key)
            if per_s is not None:
                rates[spec.name] = per_s
            if totals and spec.name in totals and isinstance(builder.last_value, int | float):
                totals[spec.name].append(builder.last_value)
        for util in table.utilisation:
            speed_spec = by_name.get(util.speed)
            if util.counter not in rates or speed_spec is None:
                continue
            speed = row.get(speed_spec.oid)
            # 0 is "unknown" (ifHighSpeed of a virtual port); a Gauge32 stuck at its maximum
            # (ifSpeed of a link above 4.29 Gbit/s) is not the port's speed either.
            if speed is None or not isinstance(speed[2], int) or not 0 < speed[2] < GAUGE_MAX:
                continue
            percent = rates[util.counter] * util.bits * 100.0 / (speed[2] * util.speed_scale)
            if 0.0 <= percent <= UTILISATION_CEILING:
                builder.add(util.name, round(min(percent, 100.0), 4), labels, "%", label_key)
    if totals:
        add_totals(builder, table, totals)


def add_totals(
    builder: SampleBuilder, table: TableSpec, totals: dict[str, list[int | float]]
) -> None:
    by_name = {m.name: m for m in table.metrics}
    for total in table.totals:
        values = totals.get(total.of)
        if not values:
            continue
        if total.op == "sum":
            value: int | float = sum(values)
        elif total.op == "max":
            value = max(values)
        else:
            value = values[0]
        if isinstance(value, float):
            value = round(value, 6)
        builder.add(total.name, value, NO_LABELS, by_name[total.of].unit)


def _row_excluded(row: dict[Oid, Varbind], exclude: dict[Oid, set[int | str]]) -> bool:
    for column, dropped in exclude.items():
        found = row.get(column)
        if (
            found is not None
            and (found[2] if isinstance(found[2], int) else text(found[2])) in dropped
        ):
            return True
    return False


def _row_skipped(row: dict[Oid, Varbind], table: TableSpec) -> bool:
    for rule in table.skip:
        found = row.get(rule.oid)
        if found is None:
            continue
        value = found[2] if isinstance(found[2], int) else text(found[2])
        if rule.holds(value):
            return True
    return False


def _row_selected(row: dict[Oid, Varbind], where: dict[Oid, set[int | str]]) -> bool:
    for column, allowed in where.items():
        found = row.get(column)
        if found is None:
            return False
        value = found[2] if isinstance(found[2], int) else text(found[2])
        if value not in allowed:
            return False
    return True


def uptime_seconds(scalars: dict[Oid, Varbind]) -> float | None:
    found = scalars.get(SYS_UPTIME)
    if found is None or not isinstance(found[2], int):
        return None
    return found[2] / 100.0


def build_samples(
    device: str,
    profiles: Sequence[Profile],
    scalars: dict[Oid, Varbind],
    tables: Iterable[tuple[TableSpec, dict[Oid, Column]]],
    now: float,
    rates: CounterRates,
    out_of_bounds: list[str] | None = None,
    *,
    compiled: bool = True,
) -> list[Sample]:
    """Every sample of one poll, profiles in order (the first to yield a series wins). The
    metrics of readings dropped as outside their bounds are appended to `out_of_bounds`.
    `compiled=False` sends every table through the general `add_table` (the reference the
    compiled plans are tested against)."""
    builder = SampleBuilder(device, now, rates, uptime_seconds(scalars))
    rates.begin_poll()
    table_data = list(tables)
    for profile in profiles:
        add_scalars(builder, profile, scalars)
        for table, columns in table_data:
            position = next((i for i, t in enumerate(profile.tables) if t is table), None)
            if position is None:
                continue
            plan = plan_for(table) if compiled else None
            if plan is None:
                add_table(builder, table, columns, scalars)
                continue
            memory = add_planned_table(builder, plan, (profile.name, position), columns, scalars)
            if plan.interfaces:
                rates.interfaces = memory
                _INTERFACE_LABELS[device] = rates
    rates.forget_unseen()
    if out_of_bounds is not None:
        out_of_bounds += builder.out_of_bounds
    return builder.samples
