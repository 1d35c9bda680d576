"""The fault state machine on virtual time: levels, for, hysteresis, staleness, absence,
rates, escalation, dependencies, maintenance, flapping, reload and restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.model import Selector
from rules.engine import Engine
from rules.fault import Fault, FaultState, Suppression
from rules.maintenance import MaintenanceWindow
from rules.statefile import load_state, save_state
from tests.unit.rules_cases.helpers import engine_for, feed, inventory, rules_from, s

TEMPERATURE = """
groups:
  - name: environment
    rules:
      - name: room-temperature
        select: {kind: sensor}
        metric: ambient.temperature
        levels: {1: "> 35", 2: "> 30", 3: "> 27"}
        for: 2m
        clear: "< 26"
        summary:
          zh: "{device.name} 温度 {value:.1f}°C"
          en: "{device.name} temperature {value:.1f} °C for {duration}"
        runbook: "Check the air conditioner."
"""


def temp(engine: Engine, t: float, value: float, device: str = "sensor1") -> list[Fault]:
    return feed(engine, t, s(device, "ambient.temperature", value))


def test_fault_fires_after_holding_for_its_duration(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    assert temp(engine, 0, 31) == []
    assert temp(engine, 60, 31) == []
    events = temp(engine, 120, 31.25)
    assert len(events) == 1
    fault = events[0]
    assert (fault.state, fault.level, fault.device, fault.site) == (
        FaultState.FIRING,
        2,
        "sensor1",
        "dc1",
    )
    assert fault.summary["zh"] == "Room sensor 1 温度 31.2°C"
    # the condition has held for two minutes (its `for`) when the fault opens
    assert fault.summary["en"] == "Room sensor 1 temperature 31.2 °C for 2m"
    assert fault.runbook == "Check the air conditioner."
    assert fault.key == "room-temperature|sensor1"


def test_for_timer_fires_on_tick_without_a_new_sample(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 31)
    assert engine.tick(119) == []
    assert [f.level for f in engine.tick(120)] == [2]


def test_pending_fault_that_clears_is_never_notified(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 33)
    assert temp(engine, 60, 25) == []
    assert temp(engine, 120, 25) == []
    assert engine.tick(600) == []
    assert engine.faults(600) == []


def test_most_severe_matching_level_wins(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 40)
    assert [f.level for f in temp(engine, 120, 40)] == [1]


def test_worsening_fault_moves_up_without_a_second_fault(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 28)
    first = temp(engine, 120, 28)
    worse = temp(engine, 180, 36)
    assert [(f.level, f.state) for f in first] == [(3, FaultState.FIRING)]
    assert [(f.level, f.state) for f in worse] == [(1, FaultState.FIRING)]
    assert worse[0].key == first[0].key
    assert worse[0].since == first[0].since == 120


def test_level_moves_down_only_after_the_milder_condition_holds(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 36)
    temp(engine, 120, 36)
    assert temp(engine, 180, 31) == []  # milder since 180; `hold` defaults to `for` (2m)
    assert temp(engine, 240, 36) == []  # back to level 1: the hold starts over
    assert temp(engine, 300, 31) == []
    assert temp(engine, 360, 31) == []
    assert [f.level for f in temp(engine, 420, 31)] == [2]


def test_hysteresis_keeps_fault_open_until_below_clear_threshold(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 31)
    temp(engine, 120, 31)
    assert temp(engine, 180, 26.5) == []  # below every level, above `clear`
    assert temp(engine, 240, 26.5) == []
    # Held for `hold` (= `for`, 2m): it moves down to the mildest level, still open.
    assert [(f.state, f.level) for f in temp(engine, 300, 26.5)] == [(FaultState.FIRING, 3)]
    assert temp(engine, 360, 26.5) == []
    [fault] = engine.faults(360)
    assert fault.phase == "firing"
    resolved = temp(engine, 420, 25)
    assert [(f.state, f.level) for f in resolved] == [(FaultState.RESOLVED, 3)]


def test_clear_for_requires_recovery_to_hold(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
        groups:
          - name: web
            rules:
              - name: website-down
                select: {kind: website}
                metric: http.up
                levels: {2: "== 0"}
                clear_for: 3m
        """,
    )
    assert [f.state for f in feed(engine, 0, s("web1", "http.up", 0))] == [FaultState.FIRING]
    assert feed(engine, 60, s("web1", "http.up", 1)) == []
    assert feed(engine, 120, s("web1", "http.up", 0)) == []  # relapse: timer restarts
    assert feed(engine, 180, s("web1", "http.up", 1)) == []
    assert engine.tick(359) == []
    assert [f.state for f in engine.tick(360)] == [FaultState.RESOLVED]


def test_missing_data_never_clears_a_fault_it_marks_it_stale(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 36)
    temp(engine, 120, 36)
    assert engine.tick(300) == []
    [stale] = engine.tick(420)  # default `stale` 5m after the last sample
    assert (stale.state, stale.stale, stale.level) == (FaultState.FIRING, True, 1)
    assert engine.tick(86400) == []
    [fresh] = temp(engine, 86460, 36)
    assert (fresh.state, fresh.stale) == (FaultState.FIRING, False)


def test_stale_fault_with_a_recovery_value_resolves_when_data_returns(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 36)
    temp(engine, 120, 36)
    engine.tick(1000)
    events = temp(engine, 1060, 20)
    assert [f.state for f in events] == [FaultState.RESOLVED]


def test_text_states_match_flags_and_enumerations(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
        groups:
          - name: power
            rules:
              - name: ups-battery
                select: {kind: ups}
                metric: ups.status
                levels: {1: "contains LB", 2: "contains OB and not contains LB"}
                summary: {en: "{device.name} status {value:.1f}"}
        """,
    )
    assert feed(engine, 0, s("ups1", "ups.status", "OL CHRG")) == []
    [on_battery] = feed(engine, 10, s("ups1", "ups.status", "OB DISCHRG"))
    assert on_battery.level == 2
    assert on_battery.summary == {"en": "UPS 1 status OB DISCHRG", "zh": "UPS 1 status OB DISCHRG"}
    [low] = feed(engine, 20, s("ups1", "ups.status", "OB LB"))
    assert low.level == 1
    [back] = feed(engine, 30, s("ups1", "ups.status", "OL CHRG"))
    assert back.state is FaultState.RESOLVED


def test_level_taken_from_device_criticality(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
        groups:
          - name: reachability
            rules:
              - name: device-unreachable
                metric: device.up
                levels: {device.criticality: "== 0"}
        """,
    )
    events = feed(engine, 0, s("core-sw1", "device.up", 0), s("web1", "device.up", 0))
    assert sorted((f.device, f.level) for f in events) == [("core-sw1", 1), ("web1", 2)]


def test_absent_metric_is_a_fault_and_a_sample_resolves_it(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
        groups:
          - name: environment
            rules:
              - name: sensor-silent
                select: {id: sensor1}
                metric: ambient.temperature
                absent: 5m
                absent_level: 3
        """,
    )
    assert engine.tick(0) == []
    assert engine.tick(299) == []
    [absent] = engine.tick(300)
    assert (absent.device, absent.level, absent.state, absent.stale) == (
        "sensor1",
        3,
        FaultState.FIRING,
        False,
    )
    [back] = feed(engine, 400, s("sensor1", "ambient.temperature", 22))
    assert back.state is FaultState.RESOLVED
    assert engine.tick(650) == []
    assert [f.state for f in engine.tick(700)] == [FaultState.FIRING]


def test_absence_of_labelled_series_is_tracked_per_device(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
        groups:
          - name: environment
            rules:
              - name: sensor-silent
                select: {id: sensor1}
                metric: ambient.temperature
                absent: 1m
        """,
    )
    engine.tick(0)
    [absent] = engine.tick(60)
    assert absent.level == 2  # the device's criticality by default
    [back] = feed(engine, 70, s("sensor1", "ambient.temperature", 21, sensor="probe-a"))
    assert (back.state, back.labels) == (FaultState.RESOLVED, {})


def test_rate_of_a_counter_ignores_wraps_and_reboots(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
        groups:
          - name: network
            rules:
              - name: uplink-errors
                select: {kind: switch}
                metric: rate(ifInErrors)
                where: {ifName: "Gi1/0/4[89]"}
                levels: {2: "> 10"}
                summary: {en: "{labels.ifName} {value:.0f} errors/s"}
        """,
    )

    def errors(t: float, count: int, name: str = "Gi1/0/48") -> list[Fault]:
        return feed(engine, t, s("core-sw1", "ifInErrors", count, ifName=name))

    assert errors(0, 1000) == []
    assert errors(10, 1050) == []  # 5/s
    [fault] = errors(20, 1250)  # 20/s
    assert (fault.level, fault.metric, fault.summary["en"]) == (
        2,
        "rate(ifInErrors)",
        "Gi1/0/48 20 errors/s",
    )
    assert errors(30, 3) == []  # counter went back (reboot): no rate, no change
    [resolved] = errors(40, 13)
    assert resolved.state is FaultState.RESOLVED
    assert errors(0, 0, "Gi1/0/1") + errors(10, 10**6, "Gi1/0/1") == []  # not an uplink


def test_open_fault_escalates_after_duration(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
        groups:
          - name: storage
            rules:
              - name: disk-full
                metric: disk.used_percent
                levels: {3: "> 90"}
                escalate: 4h
        """,
    )
    [opened] = feed(engine, 0, s("web1", "disk.used_percent", 95, mount="/"))
    assert opened.level == 3
    assert feed(engine, 4 * 3600 - 1, s("web1", "disk.used_percent", 95, mount="/")) == []
    [up1] = feed(engine, 4 * 3600, s("web1", "disk.used_percent", 95, mount="/"))
    assert up1.level == 2
    [up2] = feed(engine, 8 * 3600, s("web1", "disk.used_percent", 95, mount="/"))
    assert up2.level == 1
    assert feed(engine, 12 * 3600, s("web1", "disk.used_percent", 95, mount="/")) == []


UNREACHABLE_AND_TEMP = (
    TEMPERATURE
    + """
  - name: reachability
    rules:
      - name: device-unreachable
        metric: device.up
        levels: {device.criticality: "== 0"}
"""
)


def test_children_of_an_unreachable_parent_are_suppressed_and_recorded(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, UNREACHABLE_AND_TEMP)
    events = feed(engine, 0, s("core-sw1", "device.up", 0), s("sensor1", "device.up", 0))
    by_device = {f.device: f for f in events}
    assert by_device["core-sw1"].suppressed is None
    assert by_device["sensor1"].suppressed is Suppression.DEPENDENCY
    assert by_device["sensor1"].state is FaultState.FIRING


def test_child_fault_becomes_suppressed_when_parent_goes_down(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, UNREACHABLE_AND_TEMP)
    temp(engine, 0, 36)
    [hot] = temp(engine, 120, 36)
    assert hot.suppressed is None
    events = feed(engine, 130, s("core-sw1", "device.up", 0))
    assert sorted((f.device, f.suppressed) for f in events) == [
        ("core-sw1", None),
        ("sensor1", Suppression.DEPENDENCY),
    ]


def test_children_are_reevaluated_when_the_parent_returns(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, UNREACHABLE_AND_TEMP)
    feed(engine, 0, s("core-sw1", "device.up", 0), s("sensor1", "device.up", 0))
    # The parent is back; the child's outage fault stays suppressed until it is polled.
    events = feed(engine, 60, s("core-sw1", "device.up", 1))
    assert [(f.device, f.state) for f in events] == [("core-sw1", FaultState.RESOLVED)]
    [child] = feed(engine, 70, s("sensor1", "device.up", 1))
    assert (child.device, child.state, child.suppressed) == (
        "sensor1",
        FaultState.RESOLVED,
        Suppression.DEPENDENCY,
    )


def test_child_still_down_after_parent_returns_is_alerted(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, UNREACHABLE_AND_TEMP)
    feed(engine, 0, s("core-sw1", "device.up", 0), s("sensor1", "device.up", 0))
    feed(engine, 60, s("core-sw1", "device.up", 1))
    [child] = feed(engine, 70, s("sensor1", "device.up", 0))
    assert (child.device, child.state, child.suppressed) == ("sensor1", FaultState.FIRING, None)


def window(start: float, end: float, kind: str = "", id: str = "") -> MaintenanceWindow:
    return MaintenanceWindow(
        id="mw-1",
        selector=Selector(kind=(kind,) if kind else (), id=(id,) if id else ()),
        start=start,
        end=end,
        reason="test",
    )


def test_fault_inside_maintenance_is_recorded_and_alerted_when_window_ends(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    engine.set_maintenance([window(0, 600, id="sensor*")])
    temp(engine, 0, 36)
    [inside] = temp(engine, 120, 36)
    assert inside.suppressed is Suppression.MAINTENANCE
    assert temp(engine, 540, 36) == []
    [after] = engine.tick(600)
    assert (after.state, after.suppressed) == (FaultState.FIRING, None)


def test_fault_that_ends_inside_maintenance_is_never_alerted(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    engine.set_maintenance([window(0, 600, kind="sensor")])
    temp(engine, 0, 36)
    temp(engine, 120, 36)
    [resolved] = temp(engine, 300, 20)
    assert (resolved.state, resolved.suppressed) == (FaultState.RESOLVED, Suppression.MAINTENANCE)
    assert engine.tick(600) == []


def test_recurring_window_is_active_each_period() -> None:
    w = MaintenanceWindow(id="x", selector=Selector(), start=1000, end=1600, every="daily")
    assert not w.active(999)
    assert w.active(1000) and w.active(1599)
    assert not w.active(1600)
    assert w.active(1000 + 86400 + 10)
    assert w.current_end(1000 + 86400 + 10) == 1600 + 86400


FLAPPY = """
groups:
  - name: web
    rules:
      - name: website-down
        select: {kind: website}
        metric: http.up
        levels: {2: "== 0"}
        flapping: {opens: 3, window: 1h, settle: 10m}
"""


def test_flapping_fault_is_held_open_with_one_notification_until_it_settles(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, FLAPPY)
    events: list[Fault] = []
    for t in range(0, 600, 60):  # down, up, down, up, …
        events += feed(engine, t, s("web1", "http.up", 0 if (t // 60) % 2 == 0 else 1))
    notified = [(f.state, f.suppressed) for f in events]
    assert notified == [
        (FaultState.FIRING, None),
        (FaultState.RESOLVED, None),
        (FaultState.FIRING, None),
        (FaultState.RESOLVED, None),
        (FaultState.FIRING, Suppression.FLAPPING),
    ]
    assert feed(engine, 600, s("web1", "http.up", 1)) == []
    assert feed(engine, 1139, s("web1", "http.up", 1)) == []  # clear since 540; settle 10m
    [settled] = feed(engine, 1140, s("web1", "http.up", 1))
    assert (settled.state, settled.suppressed) == (FaultState.RESOLVED, Suppression.FLAPPING)


def test_reload_keeps_state_of_rules_that_still_exist(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 31)
    edited = TEMPERATURE.replace("for: 2m", "for: 3m")
    engine.replace(rules_from(tmp_path, edited, "edited.yaml"), inventory())
    assert temp(engine, 120, 31) == []  # the pending timer survived, with the new `for`
    assert [f.level for f in temp(engine, 180, 31)] == [2]


def test_reload_resolves_faults_of_removed_rules(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, UNREACHABLE_AND_TEMP)
    feed(engine, 0, s("web1", "device.up", 0))
    engine.replace(rules_from(tmp_path, TEMPERATURE, "only-temp.yaml"), inventory())
    [gone] = engine.tick(10)
    assert (gone.rule, gone.state) == ("device-unreachable", FaultState.RESOLVED)


def test_for_timer_survives_a_restart(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 31)
    save_state(tmp_path / "state.json", engine)
    fresh = engine_for(tmp_path, TEMPERATURE)
    assert load_state(tmp_path / "state.json", fresh)
    assert [f.level for f in fresh.tick(120)] == [2]


def test_restored_firing_fault_is_not_announced_again(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 31)
    temp(engine, 120, 31)
    fresh = engine_for(tmp_path, TEMPERATURE)
    fresh.restore(engine.snapshot())
    assert temp(fresh, 180, 31) == []
    assert [f.state for f in temp(fresh, 240, 20)] == [FaultState.RESOLVED]


def test_missing_state_file_is_not_an_error(tmp_path: Path) -> None:
    assert load_state(tmp_path / "none.json", engine_for(tmp_path, TEMPERATURE)) is False


def test_samples_of_unselected_devices_are_ignored(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    assert (
        feed(engine, 0, s("web1", "ambient.temperature", 99), s("ghost", "ambient.temperature", 99))
        == []
    )
    assert engine.tick(1000) == []


def test_a_reading_that_is_no_number_does_not_clear_a_fault(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 36)
    temp(engine, 120, 36)
    assert temp(engine, 180, float("nan")) == []
    assert feed(engine, 240, s("sensor1", "ambient.temperature", "n/a")) == []
    [stale] = engine.tick(420)  # the NaN and the text did not count as readings
    assert (stale.state, stale.stale) == (FaultState.FIRING, True)


def test_corrupt_state_file_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "rules-state.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"rules-state\.json: cannot restore rule engine state"):
        load_state(path, engine_for(tmp_path, TEMPERATURE))


def test_reload_resolves_faults_of_devices_removed_from_the_inventory(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 36, "sensor2")
    temp(engine, 120, 36, "sensor2")
    smaller = inventory()
    del smaller.devices["sensor2"]
    engine.replace(rules_from(tmp_path, TEMPERATURE, "same.yaml"), smaller)
    [gone] = engine.tick(130)
    assert (gone.device, gone.state) == ("sensor2", FaultState.RESOLVED)
    assert temp(engine, 140, 36, "sensor2") == []


def test_absence_clock_survives_a_restart(tmp_path: Path) -> None:
    text = """
    groups:
      - name: environment
        rules:
          - {name: sensor-silent, select: {id: sensor1}, metric: ambient.temperature, absent: 5m}
    """
    engine = engine_for(tmp_path, text)
    feed(engine, 0, s("sensor1", "ambient.temperature", 22))
    engine.tick(200)
    fresh = engine_for(tmp_path, text)
    fresh.restore(engine.snapshot())
    assert fresh.tick(299) == []
    assert [f.rule for f in fresh.tick(300)] == ["sensor-silent"]


def test_parent_with_one_probe_still_answering_does_not_suppress_children(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, UNREACHABLE_AND_TEMP)
    temp(engine, 0, 36)
    feed(
        engine,
        60,
        s("core-sw1", "device.up", 0, probe="ssh"),
        s("core-sw1", "device.up", 1, probe="snmp"),
    )
    [hot] = temp(engine, 120, 36)
    assert hot.suppressed is None
    events = feed(engine, 130, s("core-sw1", "device.up", 0, probe="snmp"))  # now none answers
    assert ("sensor1", Suppression.DEPENDENCY) in [(f.device, f.suppressed) for f in events]


def test_a_parent_known_down_stays_down_across_a_restart(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, UNREACHABLE_AND_TEMP)
    feed(engine, 0, s("core-sw1", "device.up", 0, probe="snmp"))
    fresh = engine_for(tmp_path, UNREACHABLE_AND_TEMP)
    fresh.restore(engine.snapshot())
    temp(fresh, 10, 36)
    [hot] = temp(fresh, 130, 36)
    assert hot.suppressed is Suppression.DEPENDENCY
    # The parent answers again: the child's fault is re-evaluated at its next reading.
    [back] = feed(fresh, 140, s("core-sw1", "device.up", 1, probe="snmp"))
    assert (back.device, back.state) == ("core-sw1", FaultState.RESOLVED)
    [alerted] = temp(fresh, 150, 36)
    assert alerted.suppressed is None


def test_pending_fault_without_readings_starts_over(tmp_path: Path) -> None:
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 0, 31)
    assert engine.tick(300) == []  # 5m without a reading: the pending fault is dropped
    assert engine.faults(300) == []
    assert temp(engine, 3600, 31) == []  # `for` counts again from here
    assert [f.level for f in temp(engine, 3720, 31)] == [2]


def test_pending_fault_summary_says_how_long_it_has_held(tmp_path: Path) -> None:
    # `rules test` and the status page show pending faults with their summary
    engine = engine_for(tmp_path, TEMPERATURE)
    temp(engine, 1_763_800_000, 31)
    [view] = engine.faults(1_763_800_060)
    assert view.phase == "pending"
    assert view.summary["en"] == "Room sensor 1 temperature 31.0 °C for 1m"


def test_absence_fault_of_a_rate_rule_shows_the_last_rate(tmp_path: Path) -> None:
    engine = engine_for(
        tmp_path,
        """
        groups:
          - name: network
            rules:
              - name: uplink-traffic
                select: {id: core-sw1}
                metric: rate(ifInOctets)
                levels: {2: "> 1000"}
                absent: 2m
                summary: {en: "{device.name} {value} octets/s"}
        """,
    )
    engine.tick(0)
    for t in (0, 10, 20):
        feed(engine, t, s("core-sw1", "ifInOctets", t * 5))
    assert engine.tick(139) == []
    [silent] = engine.tick(140)
    assert (silent.state, silent.value, silent.summary["en"]) == (
        FaultState.FIRING,
        5.0,
        "Core switch 1 5.0 octets/s",
    )
