"""The serial-line probe over real pseudo-terminal pairs (socat) to the two emulated ASCII
sensors of the shipped profiles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from probes.base import ProbeProtocolError, ProbeTimeout, ProbeUnreachable
from probes.serial_line import SerialLineProbe, SerialLineSettings
from tests.fixtures.serial_pty import PtyPair
from tests.fixtures.serial_sensor_emulator import SerialSensorEmulator

pytestmark = pytest.mark.integration

OPEN: list[SerialLineProbe] = []


@pytest.fixture(autouse=True)
async def close_probes() -> AsyncIterator[None]:
    yield
    while OPEN:
        await OPEN.pop().close()


@pytest.fixture
def line(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path, "sensor").start()
    yield pair
    pair.stop()


def probe(pair: PtyPair, profile: str, **extra: object) -> SerialLineProbe:
    settings = SerialLineSettings.model_validate(
        {"type": "serial-line", "port": str(pair.host_end), "profile": profile, "timeout": 1.5}
        | extra
    )
    made = SerialLineProbe("rack-sensor", settings)
    OPEN.append(made)
    return made


def readings(samples: object) -> list[tuple[str, str, float]]:
    assert isinstance(samples, list)
    return [(s.metric, s.labels.get("sensor", ""), s.value) for s in samples]


async def test_polled_sensor_answers_its_command(line: PtyPair) -> None:
    sensor = SerialSensorEmulator(line.device_end, "query", b"T=+23.5 H=45.2\r\n").start()
    try:
        samples = await probe(line, "ascii-query-th").poll(7.0)
        assert readings(samples) == [
            ("ambient.temperature", "", 23.5),
            ("ambient.humidity", "", 45.2),
        ]
        assert [s.unit for s in samples] == ["°C", "%RH"]
    finally:
        sensor.stop()


async def test_streaming_sensor_is_read_from_the_next_whole_line(line: PtyPair) -> None:
    sensor = SerialSensorEmulator(line.device_end, "stream", b"235,318,45.2\r\n").start()
    try:
        assert readings(await probe(line, "ascii-stream-csv").poll(7.0)) == [
            ("ambient.temperature", "inlet", 23.5),
            ("ambient.temperature", "outlet", 31.8),
            ("ambient.humidity", "", 45.2),
        ]
    finally:
        sensor.stop()


@pytest.mark.parametrize(
    ("said", "error", "match"),
    [
        (b"", ProbeTimeout, "no answer"),
        (b"T=+23.5 H=4", ProbeProtocolError, "incomplete reply"),
        (b"\xff\xfe\r\n", ProbeProtocolError, "not ascii text"),
        (b"ERR 17\r\n", ProbeProtocolError, "does not match"),
    ],
)
async def test_silence_half_lines_and_garbage_are_clear_errors(
    line: PtyPair, said: bytes, error: type[Exception], match: str
) -> None:
    sensor = SerialSensorEmulator(line.device_end, "query", said).start()
    try:
        with pytest.raises(error, match=match):
            await probe(line, "ascii-query-th").poll(1.0)
    finally:
        sensor.stop()


async def test_unplugged_adapter_is_reopened_when_it_comes_back(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path, "usb").start()
    sensor = SerialSensorEmulator(pair.device_end, "query", b"T=20.0 H=50.0\r\n").start()
    reader = probe(pair, "ascii-query-th")
    try:
        assert readings(await reader.poll(1.0))[0][2] == 20.0
        sensor.stop()
        pair.stop()
        with pytest.raises((ProbeUnreachable, ProbeTimeout)):
            await reader.poll(2.0)
        with pytest.raises(ProbeUnreachable, match="cannot open"):
            await reader.poll(3.0)
        pair.start()
        sensor = SerialSensorEmulator(pair.device_end, "query", b"T=21.5 H=50.0\r\n").start()
        assert readings(await reader.poll(4.0))[0][2] == 21.5
    finally:
        sensor.stop()
        pair.stop()
