"""What one SNMP reading is worth as a sample value, as its profile entry says (pure)."""

from __future__ import annotations

from core.sample import Value
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.profiles import MetricSpec

UTILISATION_CEILING = 110.0
GAUGE_MAX = (1 << 32) - 1  # above this a "utilisation" is a bad speed or counter, not data

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
