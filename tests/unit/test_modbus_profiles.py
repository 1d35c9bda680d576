"""Modbus register maps as data: planning reads, decoding every register type and order, status
flags, and the shipped profiles decoding the recorded frames of real devices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from probes.base import ProbeProtocolError
from probes.device_profiles import shipped
from probes.modbus import ModbusRtuSettings, ModbusTcpSettings, split_address
from probes.modbus_link import frame_gap_s
from probes.modbus_profile import (
    ReadRequest,
    RegisterField,
    decode_raw,
    field_samples,
    load_modbus_profile,
    plan_reads,
    to_samples,
)
from tests.fixtures.peers import shared_fixture


def reg(address: int, **extra: Any) -> RegisterField:
    return RegisterField.model_validate({"metric": f"m{address}", "address": address, **extra})


def spans(plan: list[ReadRequest]) -> list[tuple[int, int, int]]:
    return [(r.function, r.address, r.count) for r in plan]


def test_contiguous_registers_are_read_in_one_request() -> None:
    fields = [reg(3), reg(1), reg(2), reg(4, type="uint32")]
    assert spans(plan_reads(fields, 125, 0)) == [(3, 1, 5)]


def test_a_gap_splits_the_read_unless_the_profile_allows_spanning_it() -> None:
    fields = [reg(0), reg(5)]
    assert spans(plan_reads(fields, 125, 0)) == [(3, 0, 1), (3, 5, 1)]
    assert spans(plan_reads(fields, 125, 4)) == [(3, 0, 6)]


def test_reads_never_exceed_the_device_limit() -> None:
    fields = [reg(a) for a in range(300)]
    plan = plan_reads(fields, 125, 0)
    assert spans(plan) == [(3, 0, 125), (3, 125, 125), (3, 250, 50)]
    assert spans(plan_reads(fields[:10], 4, 0)) == [(3, 0, 4), (3, 4, 4), (3, 8, 2)]


def test_a_32_bit_value_is_never_split_across_requests() -> None:
    fields = [reg(0), reg(1), reg(2, type="float32")]
    assert spans(plan_reads(fields, 3, 0)) == [(3, 0, 2), (3, 2, 2)]


def test_functions_are_read_separately() -> None:
    fields = [reg(1, function=4), reg(1, function=3), reg(0, function=1, type="bool")]
    assert spans(plan_reads(fields, 125, 0)) == [(1, 0, 1), (3, 1, 1), (4, 1, 1)]


@pytest.mark.parametrize(
    ("words", "extra", "value"),
    [
        ([0xFF33], {"type": "int16"}, -205),
        ([0xFF33], {"type": "uint16"}, 0xFF33),
        ([0x0001, 0x0E10], {"type": "uint32"}, 69136),
        ([0x0E10, 0x0001], {"type": "uint32", "word_order": "little"}, 69136),
        ([0xFFFF, 0xFFFE], {"type": "int32"}, -2),
        ([0x41BC, 0x0000], {"type": "float32"}, 23.5),
        ([0x0000, 0x41BC], {"type": "float32", "word_order": "little"}, 23.5),
        ([0xBC41, 0x0000], {"type": "float32", "byte_order": "little"}, 23.5),
        ([0x3301], {"type": "int16", "byte_order": "little"}, 0x0133),
        ([0, 0, 0x0001, 0x86A0], {"type": "uint64"}, 100000),
        ([0x86A0, 0x0001, 0, 0], {"type": "uint64", "word_order": "little"}, 100000),
        ([0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE], {"type": "int64"}, -2),
        ([0x4037, 0x8000, 0, 0], {"type": "float64"}, 23.5),
    ],
)
def test_register_types_and_orders_decode(
    words: list[int], extra: dict[str, Any], value: float
) -> None:
    assert decode_raw(words, reg(0, **extra)) == value


def test_scale_offset_and_invalid_sentinel() -> None:
    f = reg(0, type="int16", scale=0.1, offset=-40, unit="°C", invalid=[0x7FFF])
    request = ReadRequest(3, 0, 1, (f,))
    assert field_samples(request, [0x0190]) == [(f, 0.0)]
    assert field_samples(request, [0x7FFF]) == [(f, None)]


def test_status_registers_join_into_one_ups_status_sample() -> None:
    route = reg(0, metric="ups.status", flags={2: "OL", 3: "OB"})
    bits = reg(1, metric="ups.status", bits={6: "LB", 7: "OB"})
    request = ReadRequest(3, 0, 2, (route, bits))
    samples = to_samples("ups", field_samples(request, [3, 0b1100_0000]), 5.0)
    assert [(s.metric, s.value) for s in samples] == [("ups.status", "OB LB")]


def test_short_answer_is_a_protocol_error() -> None:
    with pytest.raises(ProbeProtocolError, match="got 1"):
        field_samples(ReadRequest(3, 0, 2, (reg(0), reg(1))), [1])


def test_profile_rejects_bits_read_as_registers() -> None:
    with pytest.raises(ValidationError, match="functions 1 and 2"):
        reg(0, function=1, type="uint16")


def test_settings_name_a_missing_profile_clearly() -> None:
    with pytest.raises(ValidationError, match="no modbus profile 'nosuch'"):
        ModbusTcpSettings(type="modbus-tcp", address="127.0.0.1:502", profile="nosuch")


def test_broken_profile_file_error_names_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\nfields:\n  - {metric: x, address: 1, typ: int16}\n")
    with pytest.raises(ValidationError, match=r"mine\.yaml: fields\.0\.typ"):
        ModbusRtuSettings(type="modbus-rtu", port="/dev/null", profile=str(bad))


def test_address_with_and_without_port() -> None:
    assert split_address("10.0.0.5") == ("10.0.0.5", 502)
    assert split_address("10.0.0.5:5020") == ("10.0.0.5", 5020)
    with pytest.raises(ValueError, match="host:port"):
        split_address("10.0.0.5:http")


def test_profiles_are_shipped_for_every_recorded_device() -> None:
    assert shipped("modbus") == ["huawei-ups2000", "renke-rs-ws-n01-8", "xy-md02"]


def _crc(frame: bytes) -> int:
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@pytest.mark.parametrize(
    ("profile", "request_hex", "response_hex", "expected"),
    [
        (
            "xy-md02",
            "01 04 00 01 00 01 60 0A",
            "01 04 02 01 31 79 74",
            {"ambient.temperature": 30.5},
        ),
        (
            "xy-md02",
            "01 04 00 01 00 02 20 0B",
            "01 04 04 01 31 02 22 2A CE",
            {"ambient.temperature": 30.5, "ambient.humidity": 54.6},
        ),
        (
            "xy-md02",
            "01 04 00 01 00 01 60 0A",
            "01 04 02 FF 33 B8 D5",
            {"ambient.temperature": -20.5},
        ),
        (
            "renke-rs-ws-n01-8",
            "01 03 00 00 00 02 C4 0B",
            "01 03 04 02 92 FF 9B 5A 3D",
            {"ambient.humidity": 65.8, "ambient.temperature": -10.1},
        ),
        (
            "huawei-ups2000",
            "01 03 03 E8 00 01 04 7A",
            "01 03 02 08 D6 3E 1A",
            {"input.voltage": 226.2},
        ),
    ],
)
def test_shipped_profile_decodes_recorded_frame(
    profile: str, request_hex: str, response_hex: str, expected: dict[str, float]
) -> None:
    request, response = bytes.fromhex(request_hex), bytes.fromhex(response_hex)
    assert _crc(response[:-2]) == int.from_bytes(response[-2:], "little")
    # the frames are quoted from the fixture files, not made up here
    recorded = " ".join(shared_fixture("modbus", f"{profile}.yaml").read_text().upper().split())
    assert response_hex.upper() in recorded
    function, address, count = (
        request[1],
        int.from_bytes(request[2:4]),
        int.from_bytes(request[4:6]),
    )
    words = [int.from_bytes(response[3 + 2 * i : 5 + 2 * i]) for i in range(response[2] // 2)]
    fields = tuple(
        f
        for f in load_modbus_profile(profile).fields
        if f.function == function and address <= f.address < address + count
    )
    samples = to_samples(
        "d", field_samples(ReadRequest(function, address, count, fields), words), 0.0
    )
    assert {s.metric: s.value for s in samples} == expected


def test_status_coils_and_discrete_inputs_become_ups_status_flags() -> None:
    # A UPS that says "on battery" / "battery low" in discrete inputs: before the fix the flags
    # were ignored and ups.status came out as the bare boolean True.
    on_battery = reg(0, function=2, type="bool", metric="ups.status", flags={0: "OL", 1: "OB"})
    low = reg(1, function=2, type="bool", metric="ups.status", bits={0: "LB"})
    request = ReadRequest(2, 0, 2, (on_battery, low))
    samples = to_samples("ups", field_samples(request, [True, True]), 5.0)
    assert [(s.metric, s.value) for s in samples] == [("ups.status", "OB LB")]
    samples = to_samples("ups", field_samples(request, [False, False]), 5.0)
    assert [(s.metric, s.value) for s in samples] == [("ups.status", "OL")]


def test_status_bits_beyond_the_register_width_are_a_profile_error() -> None:
    with pytest.raises(ValidationError, match="numbered 0 to 15"):
        reg(0, metric="ups.status", bits={16: "LB"})
    with pytest.raises(ValidationError, match="numbered 0 to 0"):
        reg(0, function=1, type="bool", metric="ups.status", bits={1: "LB"})


@pytest.mark.parametrize("words", [[0x7FC0, 0x0000], [0x7F80, 0x0000], [0xFF80, 0x0000]])
def test_float32_nan_or_infinity_is_no_reading(words: list[int]) -> None:
    f = reg(0, type="float32", metric="ambient.temperature")
    assert field_samples(ReadRequest(3, 0, 2, (f,)), words) == [(f, None)]


def test_relative_profile_path_in_an_inventory_is_taken_from_the_inventory_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before the fix it was taken from the daemon's working directory (/ under systemd), so
    # `roomwatch check` passed in /etc/roomwatch and the daemon failed to start, or the reverse.
    from inventory.loader import load_inventory

    etc = tmp_path / "etc"
    (etc / "profiles").mkdir(parents=True)
    (etc / "profiles" / "my-th.yaml").write_text(
        "name: my-th\nfields:\n  - {metric: ambient.temperature, function: 4, address: 1}\n"
    )
    (etc / "inventory.yaml").write_text(
        "devices:\n"
        "  - id: th1\n    kind: sensor\n    probes:\n"
        "      - {type: modbus-tcp, address: 127.0.0.1, profile: profiles/my-th.yaml}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_inventory(etc / "inventory.yaml").devices["th1"].probes[0]
    assert isinstance(settings, ModbusTcpSettings)
    assert settings.profile == str(etc / "profiles" / "my-th.yaml")
    # without an inventory (roomwatch probe --profile ...) a relative path is from the cwd
    with pytest.raises(ValidationError, match="no modbus profile"):
        ModbusTcpSettings(type="modbus-tcp", address="127.0.0.1", profile="profiles/my-th.yaml")


def test_profile_errors_give_the_line_of_each_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text(
        "name: mine\n"
        "fields:\n"
        "  - metric: ambient.temperature\n"
        "    address: 1\n"
        "    type: floatt32\n"
        "  - {metric: ambient.humidity, address: x}\n"
    )
    with pytest.raises(ValidationError) as caught:
        ModbusRtuSettings(type="modbus-rtu", port="/dev/null", profile=str(bad))
    text = str(caught.value)
    assert "fields.0.type (line 5)" in text
    assert "fields.1.address (line 6)" in text


def test_yaml_syntax_error_in_a_profile_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\nfields:\n  - {metric: x, address: 1\n")
    with pytest.raises(ValidationError) as caught:
        ModbusRtuSettings(type="modbus-rtu", port="/dev/null", profile=str(bad))
    message = caught.value.errors()[0]["msg"]
    assert f"{bad}:4:1: " in message
    assert "\n" not in message


async def test_second_device_on_a_bus_at_another_speed_is_refused_not_silently_merged() -> None:
    # Before the fix the second probe silently used the first one's line settings.
    from probes.base import ProbeUnreachable
    from probes.modbus import ModbusRtuProbe

    def rtu(unit: int, baudrate: int) -> ModbusRtuProbe:
        settings = ModbusRtuSettings(
            type="modbus-rtu",
            port="/dev/roomwatch-test-bus",
            unit=unit,
            baudrate=baudrate,
            profile="xy-md02",
        )
        return ModbusRtuProbe(f"th{unit}", settings)

    first, same, other = rtu(1, 9600), rtu(2, 9600), rtu(3, 4800)
    try:
        assert first._link() is same._link()
        with pytest.raises(ProbeUnreachable, match=r"in use at 9600 8N1, not 4800 8N1"):
            await other.poll(1.0)
    finally:
        for p in (first, same, other):
            await p.close()


@pytest.mark.parametrize("unit", [0, 248])
def test_rtu_unit_must_be_an_addressable_device(unit: int) -> None:
    # unit 0 is broadcast on a serial bus: nobody answers, and any unit's frame would be taken
    # as the reply; before the fix it was accepted
    with pytest.raises(ValidationError, match="unit"):
        ModbusRtuSettings(type="modbus-rtu", port="/dev/null", unit=unit, profile="xy-md02")
    assert ModbusTcpSettings(type="modbus-tcp", address="h", unit=0, profile="xy-md02").unit == 0


@pytest.mark.parametrize(
    ("address", "expected"),
    [("::1", ("::1", 502)), ("[::1]", ("::1", 502)), ("[fd00::20]:1502", ("fd00::20", 1502))],
)
def test_ipv6_gateway_addresses(address: str, expected: tuple[str, int]) -> None:
    # before the fix "::1" became host "::" port 1, and "[::1]" was rejected
    assert split_address(address) == expected


def test_a_64_bit_counter_is_planned_as_four_registers() -> None:
    fields = [reg(0, type="uint64"), reg(4)]
    assert spans(plan_reads(fields, 125, 0)) == [(3, 0, 5)]


@pytest.mark.parametrize(("written", "seconds"), [("1s", 1.0), ("500ms", 0.5), (0.3, 0.3)])
def test_response_timeout_takes_a_duration_as_the_readme_writes_it(
    written: object, seconds: float
) -> None:
    settings = ModbusRtuSettings.model_validate(
        {
            "type": "modbus-rtu",
            "port": "/dev/null",
            "profile": "xy-md02",
            "response_timeout": written,
        }
    )
    assert settings.response_timeout == seconds


@pytest.mark.parametrize(
    ("line", "gap_ms"),
    [
        ((9600, 8, "N", 1), 3.646),
        ((9600, 8, "E", 1), 4.010),
        ((2400, 7, "E", 2), 16.042),
        ((19200, 8, "N", 1), 1.823),
        ((115200, 8, "N", 1), 1.75),
    ],
)
def test_the_silent_interval_follows_the_line_settings(
    line: tuple[int, int, str, int], gap_ms: float
) -> None:
    assert frame_gap_s(*line) * 1000 == pytest.approx(gap_ms, abs=0.001)
