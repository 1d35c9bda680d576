"""Serial-line profiles as data: the shipped ones, parsing replies with a regex or by position,
and clear errors for broken profiles and broken replies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from probes.base import ProbeProtocolError
from probes.device_profiles import PROFILES_DIR, shipped
from probes.serial_line import SerialLineSettings, load_serial_profile, parse_line


def values(profile: str, line: str) -> list[tuple[str, dict[str, str], float]]:
    return [(f.metric, f.labels, v) for f, v in parse_line(load_serial_profile(profile), line)]


def test_two_profiles_are_shipped() -> None:
    assert shipped("serial") == ["ascii-query-th", "ascii-stream-csv"]


def test_regex_profile_reads_named_groups() -> None:
    assert values("ascii-query-th", "T=-4.5 H=61.0\r\n") == [
        ("ambient.temperature", {}, -4.5),
        ("ambient.humidity", {}, 61.0),
    ]


def test_delimited_profile_scales_and_labels_by_position() -> None:
    assert values("ascii-stream-csv", "235,318,45.2\r\n") == [
        ("ambient.temperature", {"sensor": "inlet"}, 23.5),
        ("ambient.temperature", {"sensor": "outlet"}, 31.8),
        ("ambient.humidity", {}, 45.2),
    ]


@pytest.mark.parametrize(
    ("profile", "line", "match"),
    [
        ("ascii-query-th", "ERR 17", "does not match"),
        ("ascii-query-th", "", "does not match"),
        ("ascii-stream-csv", "235,318", "has 2 fields"),
        ("ascii-stream-csv", "235,x18,45.2", "not a number"),
        ("ascii-stream-csv", "nan,318,45.2", "not a number"),
        ("ascii-stream-csv", "235,-inf,45.2", "not a number"),
    ],
)
def test_broken_reply_is_a_protocol_error(profile: str, line: str, match: str) -> None:
    with pytest.raises(ProbeProtocolError, match=match):
        values(profile, line)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("fields: [{source: t, metric: m}]", "exactly one of regex"),
        ("regex: '(?P<t>\\d+'\nfields: [{source: t, metric: m}]", "does not compile"),
        ("regex: '(?P<t>\\d+)'\nfields: [{source: x, metric: m}]", "does not have"),
        ("delimiter: ','\nfields: [{source: t, metric: m}]", "its position"),
        ("delimiter: ','\nfields: [{source: 0, metric: m, scael: 2}]", "fields.0.scael"),
        ("encoding: utf9\ndelimiter: ','\nfields: [{source: 0, metric: m}]", "'utf9' is not a"),
        ("request: 'MÉS'\ndelimiter: ','\nfields: [{source: 0, metric: m}]", "sent as ascii"),
    ],
)
def test_broken_profile_is_rejected_naming_the_problem(
    tmp_path: Path, body: str, match: str
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(f"name: mine\n{body}\n")
    with pytest.raises(ValidationError, match=match):
        SerialLineSettings(type="serial-line", port="/dev/null", profile=str(path))


def test_unknown_profile_lists_the_shipped_ones() -> None:
    with pytest.raises(ValidationError, match="shipped: ascii-query-th, ascii-stream-csv"):
        SerialLineSettings(type="serial-line", port="/dev/null", profile="nosuch")


def test_relative_profile_path_in_an_inventory_is_taken_from_the_inventory_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inventory.loader import load_inventory

    shutil.copy(PROFILES_DIR / "serial" / "ascii-query-th.yaml", tmp_path / "mine.yaml")
    (tmp_path / "inventory.yaml").write_text(
        "devices:\n"
        "  - id: th1\n    kind: sensor\n    probes:\n"
        "      - {type: serial-line, port: /dev/ttyUSB1, profile: mine.yaml}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_inventory(tmp_path / "inventory.yaml").devices["th1"].probes[0]
    assert isinstance(settings, SerialLineSettings)
    assert settings.profile == str(tmp_path / "mine.yaml")


def profile_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "mine.yaml"
    path.write_text(f"name: mine\n{body}\n")
    return SerialLineSettings(type="serial-line", port="/dev/null", profile=str(path)).profile


def test_a_terminator_that_is_not_blank_is_not_part_of_the_last_field(tmp_path: Path) -> None:
    # before the fix "45.2>" was "not a number"
    name = profile_file(
        tmp_path, "terminator: '>'\ndelimiter: ','\nfields: [{source: 1, metric: ambient.humidity}]"
    )
    assert values(name, "235,45.2>") == [("ambient.humidity", {}, 45.2)]


def test_a_reply_of_several_lines_is_read_as_one(tmp_path: Path) -> None:
    regex = profile_file(
        tmp_path,
        "lines: 2\nregex: 'T:(?P<t>[-\\d.]+)\\s+H:(?P<h>[\\d.]+)'\n"
        "fields: [{source: t, metric: ambient.temperature}, {source: h, metric: ambient.humidity}]",
    )
    assert values(regex, "T:23.5\r\nH:45.2\r\n") == [
        ("ambient.temperature", {}, 23.5),
        ("ambient.humidity", {}, 45.2),
    ]
    delimited = profile_file(
        tmp_path, "lines: 2\ndelimiter: ','\nfields: [{source: 2, metric: ambient.humidity}]"
    )
    assert values(delimited, "235,318\r\n45.2\r\n") == [("ambient.humidity", {}, 45.2)]
