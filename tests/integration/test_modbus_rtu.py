"""The modbus-rtu probe over real pseudo-terminal pairs (socat): against a pymodbus RTU server
with three devices on one bus, and against a misbehaving bus emulator for the failure cases."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest

from core.sample import Sample
from probes.base import ProbeProtocolError, ProbeTimeout, ProbeUnreachable
from probes.modbus import ModbusRtuProbe, ModbusRtuSettings
from tests.fixtures.modbus_peers import start_rtu
from tests.fixtures.modbus_rtu_emulator import RtuBusEmulator, Unit
from tests.fixtures.peers import stop_process
from tests.fixtures.serial_pty import PtyPair

pytestmark = pytest.mark.integration

OPEN: list[ModbusRtuProbe] = []


@pytest.fixture(autouse=True)
async def close_probes() -> AsyncIterator[None]:
    """Probes share their port or connection; each test releases what it used."""
    yield
    while OPEN:
        await OPEN.pop().close()


def probe(port: Path, unit: int, profile: str, **extra: object) -> ModbusRtuProbe:
    settings = ModbusRtuSettings.model_validate(
        {"type": "modbus-rtu", "port": str(port), "unit": unit, "profile": profile, **extra}
    )
    made = ModbusRtuProbe(f"dev-{unit}", settings)
    OPEN.append(made)
    return made


def values(samples: Sequence[Sample]) -> dict[str, object]:
    """The device's readings (the bus-health counters every poll adds are tested on their own)."""
    return {s.metric: s.value for s in samples if not s.metric.startswith("modbus.")}


def health(samples: Sequence[Sample]) -> dict[str, object]:
    return {s.metric: s.value for s in samples if s.metric.startswith("modbus.")}


@pytest.fixture(scope="module")
def pymodbus_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    pair = PtyPair(tmp_path_factory.mktemp("rtu"), "bus").start()
    server: subprocess.Popen[bytes] = start_rtu(pair.device_end, 9600)
    yield pair.host_end
    stop_process(server)
    pair.stop()


async def test_sensor_on_the_bus_is_read(pymodbus_bus: Path) -> None:
    got = values(await probe(pymodbus_bus, 1, "xy-md02").poll(1.0))
    assert got == {"ambient.temperature": 30.5, "ambient.humidity": 54.6}


async def test_three_devices_polled_at_once_share_the_bus_one_at_a_time(
    pymodbus_bus: Path,
) -> None:
    sensors = [probe(pymodbus_bus, 1, "xy-md02"), probe(pymodbus_bus, 2, "renke-rs-ws-n01-8")]
    ups = probe(pymodbus_bus, 3, "huawei-ups2000")
    results = await asyncio.gather(*(p.poll(1.0) for p in [*sensors, ups, *sensors]))
    temps = [values(r)["ambient.temperature"] for r in (results[0], results[1], results[3])]
    assert temps == [30.5, -10.1, 30.5]
    assert values(results[2])["ups.status"] == "OL CHRG"
    assert values(results[2])["battery.runtime"] == 69136


async def test_unknown_unit_id_is_a_clear_error(pymodbus_bus: Path) -> None:
    # pymodbus answers an unknown unit with an exception (a real device would stay silent)
    with pytest.raises((ProbeProtocolError, ProbeTimeout), match="unit 7"):
        await probe(pymodbus_bus, 7, "xy-md02", timeout=1.0).poll(1.0)
    # and the bus still works for the others afterwards
    assert values(await probe(pymodbus_bus, 1, "xy-md02").poll(2.0))["ambient.humidity"] == 54.6


@pytest.fixture
def bad_bus(tmp_path: Path) -> Iterator[tuple[Path, RtuBusEmulator]]:
    pair = PtyPair(tmp_path, "bad").start()
    emulator = RtuBusEmulator(pair.device_end).start()
    yield pair.host_end, emulator
    emulator.stop()
    pair.stop()


SENSOR = {1: 0x0131, 2: 0x0222}


@pytest.mark.parametrize(
    ("behaviour", "error", "match"),
    [
        # silent: the link's read times out, or, on a loaded machine, the poll's own deadline
        # (the same 0.5 s) a moment before it: either way a timeout naming unit 1
        ("silent", ProbeTimeout, "no valid answer from unit 1|unit 1 on .* did not answer"),
        # a unit that talks but arrives garbled is a bad line, not a dead sensor: `protocol`
        ("bad-crc", ProbeProtocolError, "garbled answer from unit 1"),
        ("half", ProbeProtocolError, "garbled answer from unit 1"),
        ("exception", ProbeProtocolError, "exception 2 \\(illegal data address\\)"),
    ],
)
async def test_broken_answers_are_clear_errors_within_the_timeout(
    bad_bus: tuple[Path, RtuBusEmulator],
    behaviour: str,
    error: type[Exception],
    match: str,
) -> None:
    port, emulator = bad_bus
    emulator.units[1] = Unit(behaviour, registers=SENSOR)
    with pytest.raises(error, match=match):
        await probe(port, 1, "xy-md02", timeout=0.5).poll(1.0)
    emulator.units[1] = Unit("ok", registers=SENSOR)
    assert (
        values(await probe(port, 1, "xy-md02", timeout=0.5).poll(2.0))["ambient.humidity"] == 54.6
    )


async def test_contiguous_registers_go_out_as_one_request(
    bad_bus: tuple[Path, RtuBusEmulator],
) -> None:
    port, emulator = bad_bus
    emulator.units[1] = Unit("ok", registers=SENSOR)
    await probe(port, 1, "xy-md02").poll(1.0)
    assert emulator.requests == [(1, 4, 1, 2)]  # unit 1, function 4, registers 1-2


async def test_late_answer_of_one_unit_is_not_taken_for_the_next_units_answer(
    bad_bus: tuple[Path, RtuBusEmulator],
) -> None:
    port, emulator = bad_bus
    # unit 5 answers 0.6 s late with a different reading; unit 1 is asked right after
    emulator.units[5] = Unit("late", delay_s=0.6, registers={1: 0x0064, 2: 0x0064})
    emulator.units[1] = Unit("ok", registers=SENSOR)
    slow, sensor = probe(port, 5, "xy-md02", timeout=0.5), probe(port, 1, "xy-md02", timeout=1.0)
    with pytest.raises(ProbeTimeout):
        await slow.poll(1.0)
    # unit 1's transaction runs while unit 5's stale reply arrives on the wire
    emulator.units[1] = Unit("late", delay_s=0.3, registers=SENSOR)
    got = values(await sensor.poll(2.0))
    assert got == {"ambient.temperature": 30.5, "ambient.humidity": 54.6}


async def test_port_that_disappears_and_comes_back_is_reconnected(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path, "usb").start()
    emulator = RtuBusEmulator(pair.device_end).start()
    emulator.units[1] = Unit("ok", registers=SENSOR)
    sensor = probe(pair.host_end, 1, "xy-md02", timeout=0.5)
    try:
        assert values(await sensor.poll(1.0))["ambient.temperature"] == 30.5
        emulator.stop()
        pair.stop()  # USB adapter unplugged
        for now in (2.0, 3.0):
            with pytest.raises((ProbeUnreachable, ProbeTimeout)):
                await sensor.poll(now)
        pair.start()  # and plugged in again
        emulator = RtuBusEmulator(pair.device_end).start()
        emulator.units[1] = Unit("ok", registers={1: 0x00FA, 2: 0x0190})
        assert values(await sensor.poll(4.0)) == {
            "ambient.temperature": 25.0,
            "ambient.humidity": 40.0,
        }
    finally:
        emulator.stop()
        pair.stop()


async def test_every_frame_waits_the_silent_interval_the_line_settings_ask_for(
    bad_bus: tuple[Path, RtuBusEmulator],
) -> None:
    # Three units polled back to back on one bus, as the collector does: each request must
    # follow the previous reply by at least 3.5 character times (9600 8N1: 3.65 ms), or a slave
    # with a strict framer reads the two frames as one.
    port, emulator = bad_bus
    for unit in (1, 2, 3):
        emulator.units[unit] = Unit("ok", registers=SENSOR)
    probes = [probe(port, unit, "xy-md02") for unit in (1, 2, 3)]
    for now in (1.0, 2.0, 3.0):
        await asyncio.gather(*(p.poll(now) for p in probes))
    assert len(emulator.replies) == 9  # stamped before each write: all there once polls end
    gaps = [
        arrival - reply
        for reply, arrival in zip(emulator.replies, emulator.arrivals[1:], strict=False)
    ]
    assert len(gaps) == 8
    assert min(gaps) >= 3.5 * 10 / 9600, [f"{g * 1000:.2f} ms" for g in gaps]


async def test_bus_health_counts_timeouts_garbled_answers_and_exceptions_per_unit(
    bad_bus: tuple[Path, RtuBusEmulator],
) -> None:
    port, emulator = bad_bus
    sensor = probe(port, 1, "xy-md02", timeout=0.5)
    for behaviour in ("silent", "bad-crc", "exception"):
        emulator.units[1] = Unit(behaviour, registers=SENSOR)
        with pytest.raises((ProbeTimeout, ProbeProtocolError)) as failed:
            await sensor.poll(1.0)
    # a failed poll carries the counters too, so a noisy bus shows while the unit is down
    assert health(failed.value.samples) == {
        "modbus.requests": 3,
        "modbus.timeouts": 1,
        "modbus.garbled_answers": 1,
        "modbus.exceptions": 1,
    }
    emulator.units[1] = Unit("ok", registers=SENSOR)
    emulator.units[2] = Unit("ok", registers=SENSOR)
    assert health(await sensor.poll(2.0))["modbus.requests"] == 4
    # another unit on the same bus keeps its own counts
    assert health(await probe(port, 2, "xy-md02").poll(2.0)) == {
        "modbus.requests": 1,
        "modbus.timeouts": 0,
        "modbus.garbled_answers": 0,
        "modbus.exceptions": 0,
    }
