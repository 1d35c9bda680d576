"""`roomwatch probe` for the serial, Modbus and NUT probes, run as an admin would (DESIGN §3),
each against its real peer: exit 0 and the readings when the device answers, non-zero with a
one-line reason when it does not."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.megatec_emulator import MegatecEmulator
from tests.fixtures.modbus_peers import start_rtu, start_tcp
from tests.fixtures.nut_peer import NutServer
from tests.fixtures.peers import REPO, free_port, stop_process
from tests.fixtures.serial_pty import PtyPair
from tests.fixtures.serial_sensor_emulator import SerialSensorEmulator

pytestmark = pytest.mark.integration


def roomwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collector.cli", "probe", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def readings(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return {line["metric"]: line["value"] for line in lines}


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path, "cli").start()
    yield pair
    pair.stop()


def test_probe_modbus_tcp(tmp_path: Path) -> None:
    port = free_port()
    server = start_tcp("pymodbus-tcp", port)
    try:
        got = readings(
            roomwatch(
                "modbus-tcp", f"127.0.0.1:{port}", "--unit", "1", "--profile", "xy-md02", "--json"
            )
        )
        assert got["ambient.temperature"] == 30.5
        assert got["device.up"] == 1
    finally:
        stop_process(server)
    down = roomwatch("modbus-tcp", f"127.0.0.1:{port}", "--unit", "1", "--profile", "xy-md02")
    assert down.returncode != 0
    assert "cannot connect" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1


def test_probe_modbus_rtu(pty: PtyPair) -> None:
    server = start_rtu(pty.device_end, 9600)
    try:
        got = readings(
            roomwatch(
                "modbus-rtu",
                str(pty.host_end),
                "--baudrate",
                "9600",
                "--unit",
                "2",
                "--profile",
                "renke-rs-ws-n01-8",
                "--json",
            )
        )
        assert got["ambient.temperature"] == -10.1
    finally:
        stop_process(server)


def test_probe_megatec(pty: PtyPair) -> None:
    ups = MegatecEmulator(pty.device_end).start()
    ups.answer_with("q1-on-battery", "f-nut-test", "i-nut-test")
    try:
        got = readings(roomwatch("megatec", str(pty.host_end), "--json"))
        assert got["ups.status"] == "OB DISCHRG"
        assert got["device.model"] == "TESTING"
        ups.answer_with("reply-timeout")
        silent = roomwatch("megatec", str(pty.host_end), "--reply-timeout", "0.5")
        assert silent.returncode != 0
        assert "timeout" in silent.stderr
    finally:
        ups.stop()


def test_probe_serial_line(pty: PtyPair) -> None:
    sensor = SerialSensorEmulator(pty.device_end, "query", b"T=19.5 H=40.0\r\n").start()
    try:
        got = readings(
            roomwatch("serial-line", str(pty.host_end), "--profile", "ascii-query-th", "--json")
        )
        assert got["ambient.temperature"] == 19.5
    finally:
        sensor.stop()


def test_probe_nut(tmp_path: Path) -> None:
    upsd = NutServer(tmp_path / "nut").start()
    try:
        got = readings(roomwatch("nut", upsd.address, "--ups", "eaton", "--json"))
        assert got["ups.status"] == "ALARM OL CHRG RB"
        unknown = roomwatch("nut", upsd.address, "--ups", "nosuch")
        assert unknown.returncode != 0
        assert "UNKNOWN-UPS" in unknown.stderr
    finally:
        upsd.stop()
