"""A poll's values packed for the latest readings (`collector/packed_values.py`) read back
equal and of the same type, whatever they are."""

from __future__ import annotations

import math
from collections.abc import Iterable

from collector.latest import ColumnStore
from collector.packed_values import PackedValues, pack
from core.sample import Sample, Value


def _as_read(values: Iterable[Value]) -> list[tuple[type, str]]:
    return [(type(v), repr(v)) for v in values]


def test_every_kind_of_value_reads_back_as_it_was() -> None:
    values: list[Value] = [
        1, 1.0, True, False, "up", "", -0.0, math.inf, -math.inf, math.nan, 0.1 + 0.2,
        -(2**63), 2**63 - 1, 0, 255, 256, 2**40, -7, 1e308, 5e-324,
    ]  # fmt: skip
    packed = pack(values)
    assert isinstance(packed, PackedValues)
    assert len(packed) == len(values)
    assert _as_read(packed) == _as_read(values)
    assert _as_read(packed) == _as_read(values)  # read twice: the same


def test_a_counter_beyond_int64_keeps_the_poll_as_a_tuple() -> None:
    values: list[Value] = [2**63, 1.5, "x", 3]
    packed = pack(values)
    assert packed == (2**63, 1.5, "x", 3)


def test_polls_of_one_shape_share_their_kinds() -> None:
    store = ColumnStore()

    def values_of(*values: Value) -> PackedValues:
        samples = [Sample("d", "m", v, {}, None, 1.0) for v in values]
        columns = store.columns("d", samples)
        assert columns is not None and isinstance(columns.values, PackedValues)
        return columns.values

    a, b, c = values_of(1, 2.5, "up"), values_of(7, 0.5, "down"), values_of(7.0, 0, "down")
    assert b.kinds is a.kinds
    assert c.kinds != a.kinds
    assert list(b) == [7, 0.5, "down"] and list(c) == [7.0, 0, "down"]
    assert [type(v) for v in c] == [float, int, str]


def test_an_empty_poll() -> None:
    packed = pack([])
    assert len(packed) == 0 and list(packed) == []
