"""What holds a fault from alerting, alone: a parent down (or back but its child not yet
re-polled) and maintenance windows; parents before windows."""

from __future__ import annotations

from inventory.model import Selector
from rules.fault import Suppression
from rules.maintenance import MaintenanceWindow
from rules.suppression import Suppressor
from tests.unit.rules_cases.helpers import inventory, s

STALE = 300.0


def test_a_parent_down_on_every_probe_holds_its_children() -> None:
    held = Suppressor(inventory())
    assert held.note_up(s("core-sw1", "device.up", 1, probe="snmp"), 0)
    assert held.note_up(s("core-sw1", "device.up", 1, probe="ssh"), 0) is False
    assert held.note_up(s("core-sw1", "device.up", 0, probe="snmp"), 10) is False  # ssh answers
    assert held.held("sensor1", 10, 10, STALE) is None
    assert held.note_up(s("core-sw1", "device.up", 0, probe="ssh"), 20)  # now none answers
    assert held.held("sensor1", 20, 20, STALE) is Suppression.DEPENDENCY
    assert held.held("core-sw1", 20, 20, STALE) is None  # the parent itself is alerted
    assert held.held("web1", 20, 20, STALE) is None  # not its child


def test_a_child_not_polled_since_its_parent_came_back_stays_held_for_stale() -> None:
    held = Suppressor(inventory())
    held.note_up(s("core-sw1", "device.up", 0), 0)
    assert held.note_up(s("core-sw1", "device.up", 1), 100)
    assert held.held("sensor1", 50, 200, STALE) is Suppression.DEPENDENCY  # last read before
    assert held.held("sensor1", 150, 200, STALE) is None  # polled since the parent returned
    assert held.held("sensor1", 50, 400, STALE) is None  # or `stale` has passed


def test_maintenance_windows_hold_the_devices_they_select_while_active() -> None:
    window = MaintenanceWindow(id="mw", selector=Selector(kind=("sensor",)), start=100, end=200)
    held = Suppressor(inventory(), [window])
    assert held.held("sensor2", 150, 150, STALE) is Suppression.MAINTENANCE
    assert held.held("sensor2", 200, 200, STALE) is None
    assert held.held("web1", 150, 150, STALE) is None
    held.note_up(s("core-sw1", "device.up", 0), 150)
    assert held.held("sensor2", 150, 150, STALE) is Suppression.DEPENDENCY  # parents first
    held.set_windows([])
    held.note_up(s("core-sw1", "device.up", 1), 160)
    assert held.held("sensor2", 170, 170, STALE) is None


def test_reachability_survives_a_round_trip() -> None:
    first = Suppressor(inventory())
    first.note_up(s("core-sw1", "device.up", 0, probe="snmp"), 0)
    first.note_up(s("ups1", "device.up", 0), 0)
    first.note_up(s("ups1", "device.up", 1), 50)
    second = Suppressor(inventory())
    second.restore(first.reachability())
    assert second.reachability() == first.reachability()
    assert second.held("sensor1", 60, 60, STALE) is Suppression.DEPENDENCY
