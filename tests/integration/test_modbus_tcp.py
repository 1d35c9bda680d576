"""The modbus-tcp probe against two independent servers: pymodbus's own and modbus-tk, both
serving the register image of tests/fixtures/modbus_peers.py."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest

from core.sample import Sample
from probes.base import ProbeProtocolError, ProbeTimeout, ProbeUnreachable
from probes.modbus import ModbusTcpProbe, ModbusTcpSettings
from tests.fixtures.modbus_peers import start_tcp
from tests.fixtures.peers import free_port, stop_process

pytestmark = pytest.mark.integration

OPEN: list[ModbusTcpProbe] = []


@pytest.fixture(autouse=True)
async def close_probes() -> AsyncIterator[None]:
    """Probes share their port or connection; each test releases what it used."""
    yield
    while OPEN:
        await OPEN.pop().close()


@pytest.fixture(scope="module", params=["pymodbus-tcp", "modbus-tk-tcp"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    port = free_port()
    proc: subprocess.Popen[bytes] = start_tcp(request.param, port)
    yield request.param, f"127.0.0.1:{port}"
    stop_process(proc)


def probe(address: str, unit: int, profile: str, **extra: object) -> ModbusTcpProbe:
    settings = ModbusTcpSettings.model_validate(
        {"type": "modbus-tcp", "address": address, "unit": unit, "profile": profile, **extra}
    )
    made = ModbusTcpProbe(f"dev-{unit}", settings)
    OPEN.append(made)
    return made


def readings(samples: Sequence[Sample]) -> list[Sample]:
    """The device's readings, without the bus-health counters every poll adds."""
    return [s for s in samples if not s.metric.startswith("modbus.")]


def values(samples: Sequence[Sample]) -> dict[str, object]:
    return {s.metric: s.value for s in readings(samples)}


async def test_sensor_reads_temperature_and_humidity(server: tuple[str, str]) -> None:
    _, address = server
    got = values(await probe(address, 1, "xy-md02").poll(10.0))
    assert got == {"ambient.temperature": 30.5, "ambient.humidity": 54.6}


async def test_negative_temperature_from_holding_registers(server: tuple[str, str]) -> None:
    _, address = server
    samples = readings(await probe(address, 2, "renke-rs-ws-n01-8").poll(10.0))
    assert values(samples) == {"ambient.humidity": 65.8, "ambient.temperature": -10.1}
    assert {s.unit for s in samples} == {"%RH", "°C"}
    assert all(s.ts == 10.0 and s.device == "dev-2" for s in samples)


async def test_ups_registers_become_nut_names(server: tuple[str, str]) -> None:
    _, address = server
    got = values(await probe(address, 3, "huawei-ups2000").poll(10.0))
    assert got["ups.status"] == "OL CHRG"
    assert got["input.voltage"] == 226.2
    assert got["ups.load"] == 28.5
    assert got["battery.runtime"] == 69136
    assert got["battery.charge"] == 97
    assert got["output.realpower"] == 600.0


async def test_several_units_behind_one_gateway_are_polled_together(
    server: tuple[str, str],
) -> None:
    import asyncio

    _, address = server
    probes = [probe(address, 1, "xy-md02"), probe(address, 2, "renke-rs-ws-n01-8")] * 5
    results = await asyncio.gather(*(p.poll(1.0) for p in probes))
    assert [values(r)["ambient.temperature"] for r in results] == [30.5, -10.1] * 5


async def test_unknown_unit_is_a_clear_error(server: tuple[str, str]) -> None:
    _, address = server
    # pymodbus answers an exception for an unknown unit; modbus-tk stays silent
    with pytest.raises((ProbeProtocolError, ProbeTimeout), match="unit 9"):
        await probe(address, 9, "xy-md02", timeout=1.0).poll(1.0)


async def test_register_the_device_lacks_gives_the_exception_code(
    server: tuple[str, str], tmp_path: Path
) -> None:
    _, address = server
    profile = tmp_path / "beyond.yaml"
    profile.write_text("name: beyond\nfields:\n  - {metric: x, function: 3, address: 9500}\n")
    with pytest.raises(ProbeProtocolError, match=r"exception 2 \(illegal data address\)"):
        await probe(address, 1, str(profile), timeout=1.0).poll(1.0)


async def test_coils_and_discrete_inputs_are_read_as_booleans(
    server: tuple[str, str], tmp_path: Path
) -> None:
    _, address = server
    profile = tmp_path / "bits.yaml"
    profile.write_text(
        "name: bits\nfields:\n"
        "  - {metric: relay, function: 1, address: 0, type: bool, labels: {n: '0'}}\n"
        "  - {metric: relay, function: 1, address: 1, type: bool, labels: {n: '1'}}\n"
        "  - {metric: relay, function: 1, address: 2, type: bool, labels: {n: '2'}}\n"
        "  - {metric: door.open, function: 2, address: 1, type: bool}\n"
    )
    samples = readings(await probe(address, 1, str(profile)).poll(1.0))
    got = {(s.metric, s.labels.get("n", "")): s.value for s in samples}
    assert got == {
        ("relay", "0"): True,
        ("relay", "1"): False,
        ("relay", "2"): True,
        ("door.open", ""): True,
    }


async def test_an_admin_profile_for_a_device_nobody_here_has(
    server: tuple[str, str], tmp_path: Path
) -> None:
    # A UPS that gives its state in discrete inputs/coils and a 32-bit counter with the low
    # word first: status bits become NUT flags, words are put in order before decoding.
    _, address = server
    profile = tmp_path / "other-vendor.yaml"
    profile.write_text(
        "name: other-vendor\nfields:\n"
        "  - {metric: ups.status, function: 2, address: 1, type: bool, flags: {0: OL, 1: OB}}\n"
        "  - {metric: ups.status, function: 1, address: 1, type: bool, bits: {0: LB}}\n"
        "  - {metric: ups.status, function: 1, address: 2, type: bool, bits: {0: ALARM}}\n"
        "  - {metric: output.energy, function: 4, address: 1, type: uint32, word_order: little,"
        " unit: Wh}\n"
    )
    got = {
        s.metric: (s.value, s.unit)
        for s in await probe(address, 1, str(profile)).poll(1.0)
        if not s.metric.startswith("modbus.")
    }
    assert got == {"ups.status": ("OB ALARM", None), "output.energy": (0x02220131, "Wh")}


async def test_closed_port_is_unreachable() -> None:
    with pytest.raises(ProbeUnreachable, match="dev-1"):
        await probe(f"127.0.0.1:{free_port()}", 1, "xy-md02", timeout=1.0).poll(1.0)
