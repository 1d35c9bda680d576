"""Turning what an agent answered into Samples, as the profiles say (pure: values in,
Samples out; the only state is the counter memory passed in for rates)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from core.sample import Sample, Value
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.profiles import MetricSpec, Profile, TableSpec
from probes.snmp.rates import CounterRates
from probes.snmp.walk import Column

SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)

UTILISATION_CEILING = 110.0
GAUGE_MAX = (1 << 32) - 1  # above this a "utilisation" is a bad speed or counter, not data

# Device → ifIndex → the labels its interface samples carried in the last poll. The trap
# receiver labels a linkDown/linkUp with them, so the trap updates the very series the poll
# writes (and a fault opened by the trap is cleared by the poll, or the other way round).
_INTERFACE_LABELS: dict[str, dict[str, dict[str, str]]] = {}


def interface_labels(device: str, if_index: str) -> dict[str, str] | None:
    """The labels of interface `if_index` of `device` as last polled, or None."""
    found = _INTERFACE_LABELS.get(device, {}).get(if_index)
    return dict(found) if found is not None else None


_CONTROL = frozenset(range(32)) - {9, 10, 13}  # bytes no text has (tab, CR, LF are fine)


def text(value: ber.VarValue) -> str:
    """An OCTET STRING (or any value) as text for a label or a string metric: UTF-8, else
    Latin-1 (older agents), with the NUL padding of C agents dropped (a C string ends at its
    first NUL); bytes that are no text (a MAC address, a binary id) as 0x-prefixed hex, as
    snmp_exporter shows them, rather than mangled characters."""
    if isinstance(value, bytes):
        data = value.rstrip(b"\x00")
        if b"\x00" in data and data.index(b"\x00") > 0:
            data = data[: data.index(b"\x00")]
        if _CONTROL.isdisjoint(data):
            try:
                return data.decode("utf-8").strip()
            except UnicodeDecodeError:
                if not any(0x7F <= b < 0xA0 for b in data):  # printable as Latin-1
                    return data.decode("latin-1").strip()
        return "0x" + value.hex().upper()
    if isinstance(value, tuple):
        return ber.format_oid(value)
    return "" if value is None else str(value)


def _number(text_value: str) -> float | None:
    try:
        return float(text_value.strip().replace(",", "."))
    except ValueError:
        return None


def _numeric(spec: MetricSpec) -> bool:
    """Whether the profile treats this metric as a number (it has a unit, a scale, a valid
    range, a rate or a factor from another column)."""
    return (
        spec.unit is not None
        or spec.scale != 1.0
        or spec.rate
        or spec.valid is not None
        or spec.bounds is not None
        or bool(spec.sentinels)
        or spec.scale_by is not None
        or spec.multiply_by is not None
        or spec.precision_from is not None
    )


def convert(
    spec: MetricSpec, tag: int, value: ber.VarValue, row: dict[Oid, Varbind]
) -> Value | None:
    """The sample value of one reading, or None when it is no reading (a sentinel, an
    unparsable string, a value outside `valid`)."""
    if tag in ber.EXCEPTION_TAGS or tag == ber.NULL:
        return None
    if isinstance(value, int) and spec.map is not None:
        return spec.map.get(value, str(value))
    number: float | int
    if isinstance(value, int):
        number = value
    elif spec.parse == "number" or _numeric(spec):
        # A reading the profile treats as a number that the agent sent as a string (some
        # cards answer "87" or "23.5" in an OCTET STRING): the number, or no reading; a
        # string would break every threshold rule on the metric.
        parsed = _number(text(value))
        if parsed is None:
            return None
        number = parsed
    else:
        return text(value)
    if spec.sentinels and number in spec.sentinels:
        return None  # the agent's "unknown" (65535, 2147483647, -1 …), as sent
    factor = spec.scale
    if spec.scale_by is not None:
        found = row.get(spec.scale_by.oid)
        if found is None or not isinstance(found[2], int) or found[2] not in spec.scale_by.map:
            return None
        factor *= spec.scale_by.map[found[2]]
    if spec.multiply_by is not None:
        found = row.get(spec.multiply_by)
        if found is None or not isinstance(found[2], int):
            return None
        factor *= found[2]
    if spec.precision_from is not None:
        found = row.get(spec.precision_from)
        if found is not None and isinstance(found[2], int) and 0 <= found[2] <= 9:
            factor /= 10 ** found[2]
    if factor == 1.0 and not spec.offset and isinstance(number, int):
        value_in_unit: float | int = number
    else:
        value_in_unit = round(number * factor + spec.offset, 6)
    # `valid` is in the metric's unit: 65535 minutes of "unknown" runtime is caught as the
    # 3,932,100 s it would become.
    if spec.valid is not None and not spec.valid[0] <= value_in_unit <= spec.valid[1]:
        return None
    return value_in_unit


class SampleBuilder:
    """Collects the samples of one poll, first-answer-wins per (metric, labels).

    The labels dict given to `add` is kept, not copied: the samples of one table row (an
    interface's twenty) share the row's dict, which nobody changes afterwards. Copies cost
    200 bytes a sample held in the daemon's latest readings, 120 MB at 1,000 switches."""

    def __init__(self, device: str, now: float, rates: CounterRates, uptime: float | None) -> None:
        self.device = device
        self.now = now
        self.rates = rates
        self.uptime = uptime
        self.samples: list[Sample] = []
        self.out_of_bounds: list[str] = []  # metrics whose reading was outside its bounds
        self.last_value: Value | None = None  # of the last reading added (for table totals)
        # Metric names seen per label key; the last row's set is kept at hand, as a row's
        # samples come one after the other (no tuple hashed per sample).
        self._seen: dict[tuple[tuple[str, str], ...], set[str]] = {}
        self._row_key: tuple[tuple[str, str], ...] | None = None
        self._row_names: set[str] = set()

    def add(
        self,
        metric: str,
        value: Value,
        labels: dict[str, str],
        unit: str | None,
        label_key: tuple[tuple[str, str], ...] | None = None,
    ) -> bool:
        """Add a sample unless this series already has one in this poll. `label_key` is
        `labels` as sorted items, when the caller has it already (one per table row)."""
        if label_key is None:
            label_key = tuple(sorted(labels.items()))
        if label_key is not self._row_key:
            self._row_key = label_key
            self._row_names = self._seen.setdefault(label_key, set())
        if metric in self._row_names:
            return False
        self._row_names.add(metric)
        self.samples.append(Sample(self.device, metric, value, labels, unit, self.now))
        return True

    def add_reading(
        self,
        spec: MetricSpec,
        tag: int,
        value: ber.VarValue,
        labels: dict[str, str],
        row: dict[Oid, Varbind],
        label_key: tuple[tuple[str, str], ...] | None = None,
    ) -> float | None:
        """Add one reading (and its rate when asked); returns the rate if one was made."""
        converted = convert(spec, tag, value, row)
        if converted is None:
            return None
        if (
            spec.bounds is not None
            and isinstance(converted, int | float)
            and not spec.bounds[0] <= converted <= spec.bounds[1]
        ):
            self.out_of_bounds.append(spec.name)  # not a reading: counted and logged once
            return None
        if spec.bare:
            labels, label_key = {}, ()
        if spec.labels:
            labels = {**spec.labels, **labels}
            label_key = None
        if label_key is None:
            label_key = tuple(sorted(labels.items()))
        if not self.add(spec.name, converted, labels, spec.unit, label_key):
            return None
        self.last_value = converted
        if not spec.rate or not isinstance(value, int):
            return None
        bits = 64 if tag == ber.COUNTER64 else 32
        per_s = self.rates.rate((spec.name, label_key), value, bits, self.now, self.uptime)
        if per_s is None:
            return None
        per_s *= spec.scale
        name, unit = _rate_names(spec)
        self.add(name, round(per_s, 6), labels, unit, label_key)
        return per_s


_RATE_NAMES: dict[tuple[str, str | None], tuple[str, str]] = {}


def _rate_names(spec: MetricSpec) -> tuple[str, str]:
    """The rate sample's metric and unit (one string each, not one per sample and poll)."""
    key = (spec.name, spec.unit)
    found = _RATE_NAMES.get(key)
    if found is None:
        found = _RATE_NAMES[key] = (
            f"{spec.name}.rate",
            f"{spec.unit}/s" if spec.unit else "1/s",
        )
    return found


def add_scalars(builder: SampleBuilder, profile: Profile, scalars: dict[Oid, Varbind]) -> None:
    for spec in profile.scalars:
        found = scalars.get(spec.oid)
        if found is not None:
            builder.add_reading(spec, found[1], found[2], {}, scalars)
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
            builder.add(status.metric, " ".join(dict.fromkeys(flags)), {}, None)


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
    totals: dict[str, list[float]] = {t.of: [] for t in table.totals}
    interfaces: dict[str, dict[str, str]] | None = None
    if table.index == "ifIndex":
        interfaces = _INTERFACE_LABELS[builder.device] = {}
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
        label_key = tuple(sorted(labels.items()))
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


def add_totals(builder: SampleBuilder, table: TableSpec, totals: dict[str, list[float]]) -> None:
    by_name = {m.name: m for m in table.metrics}
    for total in table.totals:
        values = totals.get(total.of)
        if not values:
            continue
        if total.op == "sum":
            value: float = sum(values)
        elif total.op == "max":
            value = max(values)
        else:
            value = values[0]
        if isinstance(value, float):
            value = round(value, 6)
        builder.add(total.name, value, {}, by_name[total.of].unit)


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
) -> list[Sample]:
    """Every sample of one poll, profiles in order (the first to yield a series wins). The
    metrics of readings dropped as outside their bounds are appended to `out_of_bounds`."""
    builder = SampleBuilder(device, now, rates, uptime_seconds(scalars))
    rates.begin_poll()
    table_data = list(tables)
    for profile in profiles:
        add_scalars(builder, profile, scalars)
        for table, columns in table_data:
            if any(table is t for t in profile.tables):
                add_table(builder, table, columns, scalars)
    rates.forget_unseen()
    if out_of_bounds is not None:
        out_of_bounds += builder.out_of_bounds
    return builder.samples
