"""The line protocol mapping (README "Sending samples to InfluxDB")."""

from __future__ import annotations

import math

import pytest

from collector.sinks.lineproto import LineEncoder, encode_sample, encode_samples, split_metric
from core.sample import Sample

TS = 1763800000.25


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("battery.charge", ("battery", "charge")),
        ("device.up", ("device", "up")),
        ("roomwatch.spool.depth", ("roomwatch", "spool_depth")),
        ("load.1", ("load", "1")),
        ("ifHCInOctets", ("ifHCInOctets", "value")),
        (".odd", (".odd", "value")),
        ("odd.", ("odd.", "value")),
    ],
)
def test_metric_splits_at_first_dot_into_measurement_and_field(
    metric: str, expected: tuple[str, str]
) -> None:
    assert split_metric(metric) == expected


def test_sample_becomes_one_line_with_sorted_tags_float_field_and_ms_timestamp() -> None:
    sample = Sample("ups-1", "battery.charge", 95, {"sensor": "main"}, unit="%", ts=TS)
    line = encode_sample(sample, {"site": "bj-1", "kind": "ups"})
    assert line == "battery,device=ups-1,kind=ups,sensor=main,site=bj-1 charge=95.0 1763800000250"


def test_string_state_is_a_quoted_string_field_with_escapes() -> None:
    sample = Sample("ups-1", "ups.status", 'OL "CHRG" \\ x\ny', ts=TS)
    assert encode_sample(sample) == (
        'ups,device=ups-1 status="OL \\"CHRG\\" \\\\ x y" 1763800000250'
    )


def test_booleans_and_ints_are_floats_so_field_types_never_conflict() -> None:
    assert " up=1.0 " in str(encode_sample(Sample("d", "device.up", True, ts=TS)))
    assert " up=0.0 " in str(encode_sample(Sample("d", "device.up", False, ts=TS)))
    assert " up=1.0 " in str(encode_sample(Sample("d", "device.up", 1, ts=TS)))


def test_special_characters_in_names_tags_and_keys_are_escaped() -> None:
    sample = Sample("rack 1,a=b", "odd name.f=x,y", 1.5, {"if name": "Gi1/0/1, uplink"}, ts=TS)
    line = encode_sample(sample)
    assert line == (
        "odd\\ name,device=rack\\ 1\\,a\\=b,if\\ name=Gi1/0/1\\,\\ uplink f\\=x\\,y=1.5 "
        "1763800000250"
    )


def test_label_named_like_a_reserved_tag_is_kept_under_label_prefix() -> None:
    sample = Sample("sw1", "ifOperStatus", 1, {"device": "eth0", "site": "x"}, ts=TS)
    line = encode_sample(sample, {"site": "bj-1"})
    assert line == (
        "ifOperStatus,device=sw1,label_device=eth0,label_site=x,site=bj-1 value=1.0 1763800000250"
    )


@pytest.mark.parametrize(
    ("sample", "line"),
    [
        # InfluxDB discards a point with a tag or field key `time`, `_field`, `_measurement`
        (Sample("ups1", "ups.time", "12:00:05", ts=TS), 'ups,device=ups1 field_time="12:00:05"'),
        (Sample("d", "x.y", 1, {"time": "t"}, ts=TS), "x,device=d,label_time=t y=1.0"),
        (Sample("d", "x.y", 1, {"_field": "f"}, ts=TS), "x,device=d,label__field=f y=1.0"),
        (Sample("d", "x._measurement", 1, ts=TS), "x,device=d field__measurement=1.0"),
        # `_` names are InfluxDB's own; VictoriaMetrics reads a tag __name__ as the metric name
        (Sample("d", "x.y", 1, {"__name__": "z"}, ts=TS), "x,device=d,label___name__=z y=1.0"),
        (Sample("d", "_x.y", 1, ts=TS), "metric__x,device=d y=1.0"),
        # a line starting with # is a comment: the store would skip it without a word
        (Sample("d", "#x.y", 1, ts=TS), "metric_#x,device=d y=1.0"),
    ],
)
def test_names_influxdb_would_discard_are_renamed_not_lost(sample: Sample, line: str) -> None:
    assert encode_sample(sample) == f"{line} 1763800000250"
    assert encode_samples([sample])[0] == [f"{line} 1763800000250"]


def test_empty_tag_values_are_left_out() -> None:
    sample = Sample("sw1", "ifOperStatus", 1, {"ifAlias": ""}, ts=TS)
    assert encode_sample(sample, {"kind": ""}) == "ifOperStatus,device=sw1 value=1.0 1763800000250"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_cannot_be_written_and_are_counted(value: float) -> None:
    lines, skipped = encode_samples(
        [Sample("d", "a.b", value, ts=TS), Sample("d", "a.b", 2.0, ts=TS)]
    )
    assert (lines, skipped) == (["a,device=d b=2.0 1763800000250"], 1)


def test_unstamped_sample_takes_the_default_time() -> None:
    assert encode_sample(Sample("d", "a.b", 1), default_ts=10.0) == "a,device=d b=1.0 10000"


def test_device_tag_lookup_is_called_once_per_device_and_its_failure_costs_no_sample() -> None:
    calls: list[str] = []

    def tags_for(device: str) -> dict[str, str]:
        calls.append(device)
        if device == "broken":
            raise LookupError(device)
        return {"site": "s"}

    samples = [Sample(d, "a.b", 1, ts=TS) for d in ("x", "x", "broken", "broken")]
    lines, skipped = encode_samples(samples, tags_for)
    assert calls == ["x", "broken"]
    assert skipped == 0
    assert lines[0].startswith("a,device=x,site=s ")
    assert lines[2].startswith("a,device=broken ")


def test_large_counter_keeps_float_precision_up_to_2_53() -> None:
    line = str(encode_sample(Sample("sw", "ifHCInOctets", 2**53, ts=TS)))
    assert float(line.split(" ")[1].split("=")[1]) == 2**53


def test_encoder_caches_series_but_picks_up_inventory_changes_after_a_refresh() -> None:
    sites = {"ups-1": "bj-1"}
    encoder = LineEncoder(lambda device: {"site": sites[device]})
    sample = Sample("ups-1", "battery.charge", 90, ts=TS)
    first, _ = encoder.encode([sample, sample])
    assert first == ["battery,device=ups-1,site=bj-1 charge=90.0 1763800000250"] * 2
    sites["ups-1"] = "sh-2"  # the device moved (inventory reloaded)
    assert encoder.encode([sample])[0][0].startswith("battery,device=ups-1,site=bj-1 ")
    encoder.refresh_tags()
    assert encoder.encode([sample])[0][0].startswith("battery,device=ups-1,site=sh-2 ")


def test_encoder_cache_is_bounded() -> None:
    encoder = LineEncoder(max_series=10)
    lines, _ = encoder.encode(Sample(f"d{i}", "a.b", i, ts=TS) for i in range(25))
    assert len(lines) == 25
    assert encoder.cache_size() <= 10 + 1  # tag sets, plus the one metric name
    assert lines[24] == "a,device=d24 b=24.0 1763800000250"


def test_encoder_with_a_cache_matches_encoding_each_sample_alone() -> None:
    """The cached path (tag sets remembered, a row's shared labels dict found by identity)
    writes exactly the lines of the plain one, also for a labels dict shared across devices
    and across metrics, and for a cache smaller than the series it sees."""
    shared = {"ifName": "Gi1/0/1", "ifIndex": "1"}
    samples = [Sample(d, m, 1.5, shared, ts=TS) for d in ("sw1", "sw2") for m in ("a", "b.c")]
    samples += [Sample("sw1", "a", 2, {"ifName": f"p {i}"}, ts=TS) for i in range(30)]
    samples += [Sample("sw2", "x.y", "OL", {}, ts=TS), Sample("sw2", "x.y", 3, {}, ts=TS)]
    # the cache's key is the names then the values, flat: label sets that share names and
    # values in other places must not meet there
    for other in ({"ifName": "1", "ifIndex": "Gi1/0/1"}, {"ifIndex": "1", "ifName": "Gi1/0/1"},
                  {"ifName": "Gi1/0/1"}, {"ifName": "Gi1/0/1", "1": "ifIndex"}):  # fmt: skip
        samples += [Sample("sw1", "a", 1.5, dict(other), ts=TS)]
    tags = {"sw1": {"site": "s,1"}, "sw2": {"kind": "switch"}}
    for bound in (4, 1000):
        encoder = LineEncoder(tags.__getitem__, max_series=bound)
        for _ in range(2):  # cold cache, then warm
            lines, skipped = encoder.encode(samples)
            assert skipped == 0
            assert lines == [encode_sample(s, tags[s.device]) for s in samples]


def test_encoder_fast_paths_match_the_plain_one_for_every_kind_of_value_and_time() -> None:
    """Floats are written inline and a poll's time text is made once: neither may change a
    line, skip a writable value, or keep a non-finite one; a change of time within a batch
    (samples stamped 0 take the batch's) is honoured."""
    values: list[object] = [0.0, -0.0, 1e-300, -2.5, 1e22, 2**53 + 1, -7, True, False, "OL CHRG"]
    values += [math.nan, math.inf, -math.inf]
    stamps = [TS, TS, TS + 0.0004, 0.0, TS + 60]
    samples = [
        Sample("ups1", f"m.v{i}", v, {"n": str(i)}, ts=stamps[i % len(stamps)])  # type: ignore[arg-type]
        for i, v in enumerate(values)
    ]
    lines, skipped = LineEncoder().encode(samples, default_ts=TS - 5)
    plain = [encode_sample(s, {}, default_ts=TS - 5) for s in samples]
    assert lines == [line for line in plain if line is not None]
    assert skipped == 3 == plain.count(None)


def test_a_refresh_picks_up_moved_devices_and_keeps_the_rest_of_the_cache() -> None:
    sites = {"ups-1": "bj-1", "sw-1": "bj-1"}
    asked: list[str] = []

    def tags_for(device: str) -> dict[str, str]:
        asked.append(device)
        return {"site": sites[device]}

    encoder = LineEncoder(tags_for)
    ups = Sample("ups-1", "battery.charge", 90, ts=TS)
    ports = [Sample("sw-1", "ifInOctets", 5, {"ifIndex": str(i)}, ts=TS) for i in range(3)]
    encoder.encode([ups, *ports])
    size = encoder.cache_size()
    sites["ups-1"] = "sh-2"  # the UPS moved (inventory reloaded); the switch did not
    assert encoder.refresh_tags() == 1
    asked.clear()
    lines, _ = encoder.encode([ups, *ports])
    assert lines[0].startswith("battery,device=ups-1,site=sh-2 ")
    assert all(",site=bj-1 " in line for line in lines[1:])
    assert asked == ["ups-1"]  # the switch's tag texts were kept, not made again
    assert encoder.cache_size() == size
    # A device not encoded for two refresh periods (removed from the inventory) is forgotten.
    for _ in range(2):
        encoder.refresh_tags()
        assert encoder.cache_size() == size  # one period without it: kept
        encoder.encode([ups])
    encoder.refresh_tags()
    assert encoder.cache_size() == size - 3
