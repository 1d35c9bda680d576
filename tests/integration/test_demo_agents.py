"""The demo room's simulated devices answer the daemon's real probes: the small SNMP agent
(over UDP, GETBULK walks included) serving the 2960-X recording and, without a checkout, its
own few values; a switched port is seen down on the next poll; the Megatec UPS on its pty and
the Modbus sensors read as the script sets them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from collector.demo import room as demo_room
from collector.demo.modbus_sensors import ModbusSensors
from collector.demo.serial_ups import SerialUps
from collector.demo.snmp_agent import serve
from core.sample import Sample
from probes.megatec import MegatecProbe, MegatecSettings
from probes.modbus import ModbusTcpProbe, ModbusTcpSettings
from probes.snmp.probe import SnmpProbe, SnmpSettings
from tests.fixtures.peers import free_port, free_udp_port

pytestmark = pytest.mark.integration


def uplink_status(samples: list[Sample]) -> object:
    (status,) = [
        s.value
        for s in samples
        if s.metric == "ifOperStatus" and s.labels.get("ifIndex") == demo_room.UPLINK
    ]
    return status


@pytest.mark.parametrize("recorded", [True, False], ids=["recording", "no-checkout"])
async def test_a_switch_port_goes_down_on_the_wire(
    recorded: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not recorded:
        monkeypatch.setattr(demo_room, "RECORDINGS", tmp_path / "nowhere")
    port = free_udp_port()
    agent, transport = await serve("core-sw", demo_room.switch_mib("core-sw"), "127.0.0.1", port)
    settings = SnmpSettings.model_validate(
        {"type": "snmp", "address": f"127.0.0.1:{port}", "community": "public",
         "profile": "auto", "timeout": 5}
    )  # fmt: skip
    try:
        probe = SnmpProbe("core-sw", settings)
        assert uplink_status(list(await probe.poll(1000.0))) == 1
        agent.set(f"{demo_room.IF_OPER}{demo_room.UPLINK}", 2, 2)
        samples = list(await probe.poll(1010.0))
        assert uplink_status(samples) == 2
        ports = {s.labels["ifIndex"] for s in samples if s.metric == "ifOperStatus"}
        assert len(ports) == (146 if recorded else 3)  # every row of the table, walked whole
        assert agent.garbled == 0
    finally:
        transport.close()


async def test_the_serial_ups_and_the_sensors_read_as_the_script_sets_them() -> None:
    ups = SerialUps()
    ups.start()
    modbus_port = free_port()
    sensors = ModbusSensors({1: (24.0, 45.0)}, "127.0.0.1", modbus_port)
    await sensors.start()
    try:
        megatec = MegatecProbe(
            "ups-b",
            MegatecSettings.model_validate(
                {
                    "type": "megatec",
                    "port": ups.path,
                    "battery_cells": 6,
                    "query_rating": False,
                    "query_identity": False,
                    "timeout": 5,
                }
            ),
        )

        async def status() -> object:
            samples = await megatec.poll(1000.0)
            return next(s.value for s in samples if s.metric == "ups.status")

        assert await status() == "OL"
        ups.state.on_battery, ups.state.battery_low = True, True
        assert await status() == "OB DISCHRG LB"
        await megatec.close()

        modbus = ModbusTcpProbe(
            "th-a1",
            ModbusTcpSettings.model_validate(
                {
                    "type": "modbus-tcp",
                    "address": f"127.0.0.1:{modbus_port}",
                    "unit": 1,
                    "profile": "xy-md02",
                    "timeout": 5,
                }
            ),
        )

        async def celsius() -> object:
            samples = await modbus.poll(1000.0)
            return next(s.value for s in samples if s.metric == "ambient.temperature")

        assert await celsius() == pytest.approx(24.0)
        sensors.set(1, 36.5, 40.0)
        await asyncio.sleep(0.1)  # the registers are written on the loop
        assert await celsius() == pytest.approx(36.5)
        await modbus.close()
    finally:
        await sensors.stop()
        ups.stop()
