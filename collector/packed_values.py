"""One poll's sample values, packed for the latest readings (`collector.latest`).

A switch poll's values are mostly counters (ints, 32 bytes each beyond 2^30), rates and
percentages (floats, 24 bytes): with the tuple's reference, 35-40 bytes a value, 15 KB a
31-port switch, kept for every device between its polls. Packed, a float is 8 bytes in an
array of doubles and an int 8 bytes in an array of int64; anything else (text, booleans, an
int beyond int64) stays an object. Which value is which is one byte each (`kinds`), the same
bytes poll after poll and for every switch of a model, so the store shares them as it shares
the metric names. Reading back gives values equal and of the same type as those packed
(a double holds a float exactly).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, repeat
from operator import call
from typing import cast

from core.sample import Value

FLOAT, INT, OTHER = 0, 1, 2
_KIND: dict[type, int] = {float: FLOAT, int: INT}  # exact types: a bool is OTHER
_FLOATS = bytes.maketrans(bytes([FLOAT, INT, OTHER]), bytes([1, 0, 0]))
_INTS = bytes.maketrans(bytes([FLOAT, INT, OTHER]), bytes([0, 1, 0]))
_OTHERS = bytes.maketrans(bytes([FLOAT, INT, OTHER]), bytes([0, 0, 1]))


class PackedValues:
    """A poll's values: floats, ints and the rest apart, `kinds` saying whose each is."""

    __slots__ = ("floats", "ints", "kinds", "others")

    def __init__(
        self, kinds: bytes, floats: array[float], ints: array[int], others: tuple[Value, ...]
    ) -> None:
        self.kinds = kinds
        self.floats = floats
        self.ints = ints
        self.others = others

    def __len__(self) -> int:
        return len(self.kinds)

    def __iter__(self) -> Iterator[Value]:
        nexts = (iter(self.floats).__next__, iter(self.ints).__next__, iter(self.others).__next__)
        return map(call, map(nexts.__getitem__, self.kinds))


def kinds_of(types: Iterable[type]) -> bytes:
    """The kinds column of values of these types."""
    return bytes(map(_KIND.get, types, repeat(OTHER)))


def pack(
    values: Sequence[Value], kinds_for: Callable[[Sequence[Value]], bytes] | None = None
) -> PackedValues | tuple[Value, ...]:
    """`values` packed, or as a tuple when an int does not fit int64 (a Counter64 past
    2^63: rare enough to keep as it is). `kinds_for` gives their kinds column (the store's
    shares and remembers them); by default it is made afresh."""
    kinds = kinds_of(map(type, values)) if kinds_for is None else kinds_for(values)
    try:
        # (from lists: an array made from an iterator keeps spare room for growing)
        ints = array("q", cast(list[int], list(compress(values, kinds.translate(_INTS)))))
    except OverflowError:
        return tuple(values)
    floats = array("d", cast(list[float], list(compress(values, kinds.translate(_FLOATS)))))
    others = tuple(compress(values, kinds.translate(_OTHERS)))
    return PackedValues(kinds, floats, ints, others)
