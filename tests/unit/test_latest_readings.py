"""The daemon's latest readings: each probe's last poll kept as it came, the last answered
readings kept through a failed poll, forgotten with the device; other samples per series."""

from __future__ import annotations

from collector.latest import LatestReadings
from core.sample import Sample


def poll(device: str, ts: float, ports: int, up: bool = True) -> list[Sample]:
    labels = {"probe": "snmp"}
    out = [Sample(device, "ifOperStatus", 1, {"ifIndex": str(i)}, None, ts) for i in range(ports)]
    if not up:
        out = []
    out.append(Sample(device, "device.up", int(up), labels, None, ts, None if up else "timeout"))
    out.append(Sample(device, "device.poll_seconds", 0.1, labels, "s", ts))
    return out


def by_series(latest: LatestReadings) -> dict[tuple[str, str, str], tuple[object, float]]:
    return {
        (s.device, s.metric, s.labels.get("ifIndex", "")): (s.value, s.ts) for s in latest.values()
    }


def test_the_next_answered_poll_replaces_the_last_one_port_removed_included() -> None:
    latest = LatestReadings()
    latest.record_poll("sw1", 0, poll("sw1", 100.0, ports=3), up=True)
    latest.record_poll("sw1", 0, poll("sw1", 160.0, ports=2), up=True)
    seen = by_series(latest)
    assert ("sw1", "ifOperStatus", "2") not in seen  # the port is gone from the device
    assert seen[("sw1", "ifOperStatus", "1")] == (1, 160.0)
    assert len(latest) == 4


def test_a_failed_poll_keeps_the_last_known_readings_and_takes_the_new_up() -> None:
    latest = LatestReadings()
    latest.record_poll("sw1", 0, poll("sw1", 100.0, ports=2), up=True)
    latest.record_poll("sw1", 0, poll("sw1", 160.0, ports=0, up=False), up=False)
    seen = by_series(latest)
    assert seen[("sw1", "ifOperStatus", "0")] == (1, 100.0)  # last known, with its time
    assert seen[("sw1", "device.up", "")] == (0, 160.0)
    assert len(latest) == 4  # no duplicate device.* series


def test_two_probe_entries_of_one_device_are_kept_apart() -> None:
    latest = LatestReadings()
    latest.record_poll("srv", 0, [Sample("srv", "cpu.load1", 0.5, {}, None, 10.0)], up=True)
    latest.record_poll("srv", 1, [Sample("srv", "http.up", 1, {}, None, 11.0)], up=True)
    assert {s.metric for s in latest.values()} == {"cpu.load1", "http.up"}


def test_samples_on_their_own_are_kept_per_series_and_the_newest_wins() -> None:
    latest = LatestReadings()
    latest.record([Sample("sw1", "snmp.trap", "linkDown", {}, None, 5.0)])
    latest.record([Sample("sw1", "snmp.trap", "linkUp", {}, None, 6.0)])
    latest.record_poll("sw1", 0, [Sample("sw1", "snmp.trap", "old", {}, None, 1.0)], up=True)
    assert [s.value for s in latest.values()] == ["linkUp"]


def test_devices_removed_from_the_inventory_are_forgotten() -> None:
    latest = LatestReadings()
    latest.record_poll("sw1", 0, poll("sw1", 1.0, ports=1), up=True)
    latest.record_poll("sw2", 0, poll("sw2", 1.0, ports=1), up=True)
    latest.record([Sample("sw2", "snmp.trap", "x", {}, None, 1.0)])
    latest.keep_devices(["sw1"])
    assert {s.device for s in latest.values()} == {"sw1"}
    assert set(latest.mapping()) == {s.series_key() for s in poll("sw1", 1.0, ports=1)}
