"""The Sample keeps its contract with its hand-written constructor: the same fields, defaults,
keywords and order as the dataclass it is, equal by value, frozen, and `replace` works."""

from __future__ import annotations

import dataclasses

import pytest

from core.sample import Sample, new_sample


def test_positional_and_keyword_construction_give_the_same_sample() -> None:
    by_position = Sample("ups-1", "battery.charge", 95, {"phase": "1"}, "%", 10.0, "ok")
    by_keyword = Sample(
        device="ups-1", metric="battery.charge", value=95, labels={"phase": "1"},
        unit="%", ts=10.0, note="ok",
    )  # fmt: skip
    assert by_position == by_keyword
    assert [f.name for f in dataclasses.fields(Sample)] == [
        "device", "metric", "value", "labels", "unit", "ts", "note",
    ]  # fmt: skip


def test_defaults_are_those_of_the_contract_and_each_sample_has_its_own_labels() -> None:
    a, b = Sample("d", "m", 1), Sample("d", "m", 1)
    assert (a.labels, a.unit, a.ts, a.note) == ({}, None, 0.0, None)
    assert a.labels is not b.labels
    assert Sample("d", "m", 1, None).labels == {}


def test_a_sample_is_frozen_and_replace_makes_a_new_one() -> None:
    sample = Sample("sw1", "ifOperStatus", 1, {"ifIndex": "3"}, None, 5.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.value = 2  # type: ignore[misc]
    later = dataclasses.replace(sample, value=2, ts=6.0)
    assert (later.value, later.ts, later.labels) == (2, 6.0, {"ifIndex": "3"})
    assert sample.value == 1
    assert Sample.from_json(later.to_json()) == later


def test_the_hot_path_constructor_makes_the_same_frozen_sample() -> None:
    labels = {"ifIndex": "3"}
    fast = new_sample("sw1", "ifInOctets", 12, labels, "B", 5.0)
    assert type(fast) is Sample
    assert fast == Sample("sw1", "ifInOctets", 12, labels, "B", 5.0)
    assert fast.note is None
    assert fast.labels is labels  # kept, as the constructor keeps it
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.value = 2  # type: ignore[misc]
    assert dataclasses.replace(fast, value=13).value == 13
    assert repr(fast) == repr(Sample("sw1", "ifInOctets", 12, labels, "B", 5.0))
