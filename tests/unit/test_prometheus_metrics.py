"""/metrics and /metrics/devices as Prometheus reads them: the families are built pure and
written by prometheus_client, then read back with prometheus_client's own text parser (what a
scraper sees), not compared with strings we wrote ourselves."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from collector.api import self_metrics
from collector.api.metrics import exposition
from collector.api.reading_metrics import metric_name, reading_families
from collector.api.self_metrics import SelfFigures, daemon_families
from collector.pollstats import LagHistogram
from core.sample import Sample
from inventory.model import Device, Inventory

NOW = 1_800_000_000.0

Scraped = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scraped(families: list[Metric]) -> tuple[Scraped, dict[str, str]]:
    """Every sample by (name, sorted labels), and every family's type, as parsed."""
    text = exposition(families).decode()
    values: Scraped = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            values[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return values, types


def test_the_self_metrics_keep_the_names_users_scrape() -> None:
    figures = SelfFigures(
        own={
            "polls": 10,
            "poll_failures": 2,
            "reloads": 1,
            "rule_evaluations": 4,
            "rule_evaluation_seconds": 0.5,
            "fault_queue_depth": 3,
            "traps": {"received": 5, "unknown": 1, "refused": 2},
        },
        sinks=[("influx", {"written_total": 7.0, "spool_depth": 3.0})],
        alerts={"alert_outbox_pending": 1.0, "alert_notifications_sent": 5.0},
        devices=12,
        not_answering=1,
    )
    values, types = scraped(daemon_families(figures))
    assert values[("roomwatch_polls_total", ())] == 10
    assert values[("roomwatch_poll_failures_total", ())] == 2
    assert values[("roomwatch_reloads_total", ())] == 1
    assert values[("roomwatch_fault_queue_depth", ())] == 3
    assert values[("roomwatch_rule_evaluation_seconds_sum", ())] == 0.5
    assert values[("roomwatch_rule_evaluation_seconds_count", ())] == 4
    assert values[("roomwatch_traps_total", (("outcome", "refused"),))] == 2
    assert values[("roomwatch_sink_written_total", (("sink", "influx"),))] == 7
    assert values[("roomwatch_sink_spool_depth", (("sink", "influx"),))] == 3
    assert values[("roomwatch_alert_notifications_sent_total", ())] == 5
    assert values[("roomwatch_alert_outbox_pending", ())] == 1
    assert values[("roomwatch_devices", ())] == 12
    assert values[("roomwatch_devices_not_answering", ())] == 1
    assert types["roomwatch_polls"] == "counter"
    assert types["roomwatch_rule_evaluation_seconds"] == "summary"
    assert types["roomwatch_alert_outbox_pending"] == "gauge"
    # every level/state pair, zero included, so a dashboard never sees a gap
    incidents = [k for k in values if k[0] == "roomwatch_incidents_active"]
    assert len(incidents) == 6
    assert not [k for k in values if k[0].endswith("_created")]


def test_a_sink_name_with_quotes_survives_the_round_trip() -> None:
    figures = SelfFigures(own={}, sinks=[('a "b"\\c\nd', {"up": 1.0})])
    values, _ = scraped(daemon_families(figures))
    assert values[("roomwatch_sink_up", (("sink", 'a "b"\\c\nd'),))] == 1


def test_a_new_self_family_is_one_builder_appended(monkeypatch: pytest.MonkeyPatch) -> None:
    def queue_families(f: SelfFigures) -> Iterable[Metric]:
        yield GaugeMetricFamily("roomwatch_test_queue", "A queue.", value=f.own["queue"])

    monkeypatch.setattr(
        self_metrics, "FAMILY_BUILDERS", [*self_metrics.FAMILY_BUILDERS, queue_families]
    )
    values, _ = scraped(daemon_families(SelfFigures(own={"queue": 4})))
    assert values[("roomwatch_test_queue", ())] == 4
    assert values[("roomwatch_polls_total", ())] == 0


INVENTORY = Inventory(
    devices={
        "ups1": Device("ups1", "UPS 1", "ups", 1, site="bj-1", room="mr-1"),
        "sw1": Device("sw1", "Core switch", "switch", 1, site="bj-1"),
    }
)


def labels(**extra: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(extra.items()))


def ups(**extra: str) -> tuple[tuple[str, str], ...]:
    return labels(device="ups1", site="bj-1", room="mr-1", kind="ups", **extra)


def test_readings_are_named_with_prefix_and_unit_and_labelled_by_the_inventory() -> None:
    latest = [
        Sample("ups1", "battery.charge", 95, {"ups": "ups"}, "%", NOW),
        Sample("ups1", "ambient.temperature", 24.5, {"sensor": "inlet"}, "°C", NOW),
        Sample("ups1", "battery.runtime", 1800, {}, "s", NOW),
        Sample("ups1", "device.up", True, {}, None, NOW),
        Sample("sw1", "ifHCInOctets", 12345, {"ifName": "Gi1/0/1", "ifIndex": "1"}, None, NOW),
        Sample("sw1", "ifHighSpeed", 1000, {"ifName": "Gi1/0/1"}, "Mbit/s", NOW),
        Sample("web", "http.response_seconds", 0.25, {}, "s", NOW),
        Sample("roomwatch", "roomwatch.spool.depth", 3, {"sink": "vm"}, None, NOW),
    ]
    values, types = scraped(reading_families(latest, INVENTORY, NOW, 600))
    assert values[("roomwatch_battery_charge_percent", ups(ups="ups"))] == 95
    assert values[("roomwatch_ambient_temperature_celsius", ups(sensor="inlet"))] == 24.5
    assert values[("roomwatch_battery_runtime_seconds", ups())] == 1800
    assert values[("roomwatch_device_up", ups())] == 1
    switch = {"device": "sw1", "site": "bj-1", "room": "", "kind": "switch"}
    assert values[("roomwatch_if_hc_in_octets", labels(**switch, if_name="Gi1/0/1", if_index="1"))]
    assert (
        values[("roomwatch_if_high_speed_bits_per_second", labels(**switch, if_name="Gi1/0/1"))]
        == 1e9
    )
    # not in the inventory (a device just removed): still there, with empty inventory labels
    unknown = labels(device="web", site="", room="", kind="")
    assert values[("roomwatch_http_response_seconds", unknown)] == 0.25
    assert types["roomwatch_battery_charge_percent"] == "gauge"
    # roomwatch's own figures are on /metrics, under the names users scrape there
    assert not [name for name, _ in values if "spool" in name]


def test_a_state_is_an_info_metric_with_the_state_as_a_label() -> None:
    latest = [Sample("ups1", "ups.status", "OB DISCHRG", {"state": "x"}, None, NOW)]
    values, types = scraped(reading_families(latest, INVENTORY, NOW, 600))
    assert values == {("roomwatch_ups_status_info", ups(state="OB DISCHRG", label_state="x")): 1.0}
    # text format 0.0.4 has no info type: an info metric is a gauge named *_info, value 1
    assert types["roomwatch_ups_status_info"] == "gauge"


def test_readings_older_than_the_stale_time_are_left_out() -> None:
    latest = [
        Sample("ups1", "battery.charge", 95, {}, "%", NOW - 599),
        Sample("ups1", "input.voltage", 230, {}, "V", NOW - 601),
        Sample("ups1", "ups.status", "OL", {}, None, NOW - 3600),
    ]
    values, _ = scraped(reading_families(latest, INVENTORY, NOW, 600))
    assert [name for name, _ in values] == ["roomwatch_battery_charge_percent"]


def test_sample_labels_named_like_ours_are_renamed_not_lost() -> None:
    latest = [Sample("ups1", "x.y", 1, {"device": "d", "kind": "k", "__name__": "n"}, None, NOW)]
    values, _ = scraped(reading_families(latest, INVENTORY, NOW, 600))
    ((_, got),) = values
    assert dict(got) == dict(ups(label_device="d", label_kind="k", label___name__="n"))


def test_two_readings_landing_on_one_series_keep_the_newer_and_bad_values_are_skipped() -> None:
    latest = [
        Sample("ups1", "a.b", 1, {}, None, NOW - 10),
        Sample("ups1", "a_b", 2, {}, None, NOW),
        Sample("ups1", "odd", [1, 2], {}, None, NOW),  # type: ignore[arg-type]  # a probe bug
        Sample("ups1", "nan", float("nan"), {}, "%", NOW),
    ]
    families = reading_families(latest, INVENTORY, NOW, 600)
    (a_b,) = [f for f in families if f.name == "roomwatch_a_b"]
    assert [s.value for s in a_b.samples] == [2]  # one series, not two of the same name
    values, _ = scraped(families)
    assert ("roomwatch_odd", ups()) not in values
    assert ("roomwatch_nan_percent", ups()) in values  # NaN is a Prometheus value


@pytest.mark.parametrize(
    ("metric", "unit", "name"),
    [
        ("disk.free_bytes", "B", "roomwatch_disk_free_bytes"),
        ("memory.used_percent", "%", "roomwatch_memory_used_percent"),
        ("tls.cert_expiry_days", "d", "roomwatch_tls_cert_expiry_days"),
        ("ambient.humidity", "%RH", "roomwatch_ambient_humidity_percent"),
        ("load.1", None, "roomwatch_load_1"),
        ("upsEstimatedChargeRemaining", "furlongs", "roomwatch_ups_estimated_charge_remaining"),
    ],
)
def test_units_are_suffixed_once(metric: str, unit: str | None, name: str) -> None:
    assert metric_name(metric, unit)[0] == name


def test_poll_lag_is_a_histogram_and_skips_name_device_and_reason() -> None:
    lag = LagHistogram(bounds=(0.1, 1.0))
    for seconds in (0.05, 0.5, 0.5, 3.0):
        lag.observe(seconds)
    figures = SelfFigures(
        own={
            "poll_lag": lag,
            "poll_skipped": 3,
            "poll_skipped_by": {("sw1", "waiting_for_slot"): 2, ("ups1", "device_slow"): 1},
            "polls_waiting": 4,
            "poll_concurrency": 168,
            "poll_concurrency_ceiling": 225,
            "event_loop_lag_seconds": 0.4,
        }
    )
    values, types = scraped(daemon_families(figures))
    assert types["roomwatch_poll_lag_seconds"] == "histogram"
    assert values[("roomwatch_poll_lag_seconds_bucket", (("le", "0.1"),))] == 1
    assert values[("roomwatch_poll_lag_seconds_bucket", (("le", "1"),))] == 3
    assert values[("roomwatch_poll_lag_seconds_bucket", (("le", "+Inf"),))] == 4
    assert values[("roomwatch_poll_lag_seconds_count", ())] == 4
    assert values[("roomwatch_poll_lag_seconds_sum", ())] == pytest.approx(4.05)
    assert values[("roomwatch_poll_skipped_total", ())] == 3
    by_device = "roomwatch_device_poll_skipped_total"
    assert values[(by_device, (("device", "sw1"), ("reason", "waiting_for_slot")))] == 2
    assert values[(by_device, (("device", "ups1"), ("reason", "device_slow")))] == 1
    assert values[("roomwatch_polls_waiting", ())] == 4
    assert values[("roomwatch_poll_concurrency", ())] == 168
    assert values[("roomwatch_poll_concurrency_ceiling", ())] == 225
    assert values[("roomwatch_event_loop_lag_seconds", ())] == 0.4


def test_a_healthy_scheduler_shows_no_per_device_skips() -> None:
    values, _ = scraped(
        daemon_families(SelfFigures(own={"poll_skipped": 0, "poll_lag": LagHistogram()}))
    )
    assert not [key for key in values if key[0] == "roomwatch_device_poll_skipped_total"]
    assert values[("roomwatch_poll_lag_seconds_count", ())] == 0


def test_the_readings_history_has_its_figures_when_it_is_on() -> None:
    off, _ = scraped(daemon_families(SelfFigures(own={})))
    assert not [name for name, _ in off if name.startswith("roomwatch_history")]
    own = {"history_series": 12.0, "history_series_dropped": 3.0, "history_points_written": 900.0}
    on, _ = scraped(daemon_families(SelfFigures(own=own)))
    assert on[("roomwatch_history_series", ())] == 12.0
    assert on[("roomwatch_history_series_dropped_total", ())] == 3.0
    assert on[("roomwatch_history_points_written_total", ())] == 900.0
