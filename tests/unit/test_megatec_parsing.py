"""Every recorded Megatec exchange (tests/fixtures/recorded/megatec/replies.txt) decoded the way
its `expect:` note says a correct reader should."""

from __future__ import annotations

import pytest

from probes.base import ProbeProtocolError
from probes.megatec import (
    clean_reply,
    is_refusal,
    parse_identity,
    parse_rating,
    parse_status,
)
from tests.fixtures.megatec_emulator import Record, load_records

RECORDS = load_records()


def record(record_id: str) -> Record:
    return RECORDS[record_id]


def status_of(record_id: str, cells: int | None = None) -> dict[str, object]:
    rec = record(record_id)
    assert rec.reply is not None
    reading = parse_status(clean_reply(rec.raw or rec.reply), cells)
    return {name: value for name, (value, _unit) in reading.values.items()}


def test_every_record_is_loaded_with_bytes_to_send() -> None:
    assert len(RECORDS) == 37
    assert all(r.send.endswith(b"\r") for r in RECORDS.values())


@pytest.mark.parametrize(
    ("record_id", "flags"),
    [
        ("q1-spec-example-online-bypass-fault", "OL BYPASS ALARM"),
        ("qs-voltronic-doc-example", "OL BYPASS ALARM"),
        ("q1-voltronic-doc-normal", "OL"),
        ("q1-voltronic-doc-utility-fail", "OB DISCHRG"),
        ("q1-nut-test-nominal", "OL"),
        ("q1-nut-test-bestups-boost", "OL BOOST"),
        ("q1-nut-test-omron-100v", "OL BYPASS"),
        ("q1-real-ippon-line-interactive", "OL"),
        ("q1-real-usb-string-descriptor", "OL"),
        ("q1-at-filled-field", "OL"),
        ("q1-real-missing-cr", "OL"),
        ("q1-line-noise-prefix", "OL"),
        ("q1-on-battery", "OB DISCHRG"),
        ("q1-on-battery-low", "OB DISCHRG LB"),
        ("q1-test-in-progress", "OL CAL"),
        ("q1-shutdown-active", "OB DISCHRG FSD"),
        ("q1-ups-failed-online", "OL ALARM"),
        ("q1-trim-buck", "OL TRIM"),
    ],
)
def test_status_line_becomes_nut_status_flags(record_id: str, flags: str) -> None:
    assert status_of(record_id)["ups.status"] == flags


def test_spec_example_fields_map_to_nut_names() -> None:
    values = status_of("q1-spec-example-online-bypass-fault", cells=12)
    assert values["input.voltage"] == 208.4
    assert values["input.voltage.fault"] == 140.0
    assert values["output.voltage"] == 208.4
    assert values["ups.load"] == 34.0
    assert values["input.frequency"] == 59.9
    assert values["battery.voltage"] == pytest.approx(24.6)  # 2.05 V per cell x 12
    assert values["ups.temperature"] == 35.0
    assert values["ups.alarm"] == "UPS failed"
    assert values["ups.type"] == "online"
    assert values["ups.beeper.status"] == "disabled"


def test_per_cell_battery_voltage_is_left_out_without_a_cell_count() -> None:
    assert "battery.voltage" not in status_of("q1-spec-example-online-bypass-fault")


def test_whole_pack_battery_voltage_is_reported_as_sent() -> None:
    values = status_of("q1-real-ippon-line-interactive", cells=6)
    assert values["battery.voltage"] == 13.1
    assert values["ups.type"] == "offline / line interactive"
    assert values["ups.beeper.status"] == "enabled"


def test_at_filled_field_is_missing_not_zero() -> None:
    values = status_of("q1-at-filled-field")
    assert "ups.temperature" not in values
    assert values["input.voltage"] == 231.0


def test_string_descriptor_reply_decodes_to_the_plain_line() -> None:
    rec = record("q1-real-usb-string-descriptor")
    assert rec.raw is not None
    assert rec.reply is not None
    assert clean_reply(rec.raw) == clean_reply(rec.reply)
    assert status_of(rec.id)["ups.load"] == 29.0


def test_bytes_after_the_first_cr_are_dropped() -> None:
    rec = record("qgs-real-stray-bytes-after-cr")
    assert rec.reply is not None
    assert not clean_reply(rec.reply).endswith("273")


def test_dashes_mark_an_unavailable_field() -> None:
    reading = parse_status("(230.0 ---.- 230.0 010 50.0 27.0 25.0 00001000")
    assert "input.voltage.fault" not in reading.values
    assert reading.values["output.voltage"] == (230.0, "V")


def test_all_zero_status_is_not_a_reading() -> None:
    with pytest.raises(ProbeProtocolError, match="all-zero"):
        status_of("q1-real-all-zero")


def test_nul_byte_is_a_failed_read() -> None:
    with pytest.raises(ProbeProtocolError, match="NUL"):
        clean_reply(b"\0")


@pytest.mark.parametrize(
    "text",
    [
        "(208.4 140.0 208.4 034 59.9",  # a half line
        "(208.4 140.0 208.4 034 59.9 2.05 35.0 0011",  # truncated status bits
        "(208.4 140.0 2x8.4 034 59.9 2.05 35.0 00110000",  # a corrupted digit
        "#230.0 000 024.0 50.0",  # a rating line where a status line belongs
        "(NAK",
    ],
)
def test_damaged_status_line_is_a_protocol_error(text: str) -> None:
    with pytest.raises(ProbeProtocolError):
        parse_status(text)


def test_garbage_without_a_marker_is_a_protocol_error() -> None:
    with pytest.raises(ProbeProtocolError):
        parse_status(clean_reply(b"\xff\xfe garbage\r"))


@pytest.mark.parametrize(
    ("record_id", "nominal"),
    [
        ("f-nut-test", (230.0, 0.0, 24.0, 50.0)),
        ("f-voltronic-qs-doc", (220.0, 3.0, 12.0, 50.0)),
        ("f-real-adpos", (230.0, 10.0, 48.0, 50.0)),
        ("f-real-missing-cr", (220.0, 13.0, 72.0, 50.0)),
    ],
)
def test_rating_line_gives_nominal_values(
    record_id: str, nominal: tuple[float, float, float, float]
) -> None:
    rec = record(record_id)
    assert rec.reply is not None
    values = parse_rating(clean_reply(rec.reply)).values
    got = tuple(
        values[name][0]
        for name in (
            "input.voltage.nominal",
            "input.current.nominal",
            "battery.voltage.nominal",
            "input.frequency.nominal",
        )
    )
    assert got == nominal


def test_malformed_all_zero_rating_is_rejected() -> None:
    rec = record("f-real-all-zero-malformed")
    assert rec.reply is not None
    with pytest.raises(ProbeProtocolError):
        parse_rating(clean_reply(rec.reply))


def test_standard_identity_is_split_into_columns() -> None:
    rec = record("i-nut-test")
    assert rec.reply is not None
    values = parse_identity(clean_reply(rec.reply)).values
    assert values["device.mfr"][0] == "NOT_A_LIVE_UPS"
    assert values["device.model"][0] == "TESTING"
    assert values["ups.firmware"][0] == "TESTING"


def test_shifted_identity_is_kept_whole_instead_of_cut_at_wrong_columns() -> None:
    rec = record("i-real-adpos-shifted-fields")
    assert rec.reply is not None
    values = parse_identity(clean_reply(rec.reply)).values
    assert values == {"device.model": ("MicroSinus V5.15C0503", None)}


def test_blank_identity_gives_nothing() -> None:
    rec = record("i-real-blank")
    assert rec.reply is not None
    assert parse_identity("#" + " " * 37).values == {}


@pytest.mark.parametrize(
    ("record_id", "refused"),
    [
        ("q-unsupported-echo", True),
        ("cmd-nak-voltronic-style", True),
        ("cmd-ack-voltronic-style", False),
    ],
)
def test_echo_and_nak_are_refusals(record_id: str, refused: bool) -> None:
    rec = record(record_id)
    assert rec.reply is not None
    command = rec.send.rstrip(b"\r").decode()
    assert is_refusal(rec.reply.decode().rstrip("\r"), command) is refused


def test_status_line_with_vendor_fields_after_the_bits_is_read() -> None:
    # Before the fix any line with more than eight fields was rejected as damaged.
    reading = parse_status("(231.0 231.0 229.8 021 50.0 27.4 31.0 00001000 01 7.2")
    assert reading.values["ups.status"] == ("OL", None)
    assert reading.values["ups.temperature"] == (31.0, "°C")
    with pytest.raises(ProbeProtocolError, match="eight 0/1"):
        parse_status("(231.0 231.0 229.8 021 50.0 27.4 31.0 361.8 00001000")


@pytest.mark.parametrize("current", ["10", "010", "10.0", "0010"])
def test_rating_fields_of_other_widths_are_read(current: str) -> None:
    # Before the fix a current field not exactly three characters wide dropped every rating.
    values = parse_rating(f"#230.0 {current} 48.00 50.0").values
    assert values["input.current.nominal"] == (10.0, "A")
    assert values["input.voltage.nominal"] == (230.0, "V")
