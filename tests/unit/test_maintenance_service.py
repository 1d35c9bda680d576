"""The maintenance service that both `roomwatch maintenance` and the API change windows
through: what it refuses, what it writes, and that a bad file is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory import ConfigError
from rules.maintenance import load_windows, selector_from
from rules.maintenance_service import (
    MaintenanceService,
    UnknownWindow,
    WindowError,
    WindowOver,
    WindowRequest,
)

NOW = 1_800_000_000.0
UPS = selector_from({"kind": "ups"})


def test_added_windows_get_the_next_free_id_and_are_in_the_file(tmp_path: Path) -> None:
    service = MaintenanceService(tmp_path / "state" / "maintenance.yaml")
    first = service.add(WindowRequest(UPS, "battery swap", duration=3600, created_by="wang"), NOW)
    second = service.add(WindowRequest(UPS, "firmware", start=NOW + 60, end=NOW + 120), NOW)
    assert (first.id, first.start, first.end) == ("mw-1", NOW, NOW + 3600)
    assert second.id == "mw-2"
    assert [(w.id, w.reason, w.created_by) for w in load_windows(service.path)] == [
        ("mw-1", "battery swap", "wang"),
        ("mw-2", "firmware", None),
    ]
    assert service.windows() == load_windows(service.path)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (WindowRequest(UPS), "an end or a duration"),
        (WindowRequest(UPS, end=NOW - 1), "the end must be after the start"),
        (WindowRequest(UPS, start=NOW - 7200, duration=3600), "already be over"),
        (WindowRequest(UPS, duration=90000, every="daily"), "shorter than its period"),
        (WindowRequest(UPS, duration=60, every="hourly"), "every: expected daily or weekly"),
        (WindowRequest(UPS, duration=60, id="mw-1"), "'mw-1' exists already"),
        (WindowRequest(UPS, duration=60, id="a/b"), "id: letters"),
    ],
)
def test_a_window_that_cannot_be_is_refused_and_nothing_is_written(
    tmp_path: Path, request_: WindowRequest, message: str
) -> None:
    service = MaintenanceService(tmp_path / "maintenance.yaml")
    service.add(WindowRequest(UPS, duration=60), NOW)
    before = service.path.read_bytes()
    with pytest.raises(WindowError, match=message):
        service.add(request_, NOW)
    assert service.path.read_bytes() == before


def test_a_recurring_window_may_have_started_in_the_past(tmp_path: Path) -> None:
    service = MaintenanceService(tmp_path / "maintenance.yaml")
    window = service.add(
        WindowRequest(UPS, start=NOW - 7 * 86400, duration=1800, every="weekly"), NOW
    )
    assert window.every == "weekly" and window.active(NOW)


def test_ending_cuts_the_window_short_once(tmp_path: Path) -> None:
    service = MaintenanceService(tmp_path / "maintenance.yaml")
    service.add(WindowRequest(UPS, duration=3600), NOW)
    ended = service.end("mw-1", NOW + 60)
    assert ended.ended == NOW + 60
    assert load_windows(service.path)[0].ended == NOW + 60
    with pytest.raises(WindowOver, match="already over"):
        service.end("mw-1", NOW + 120)  # it would move the recorded end
    with pytest.raises(UnknownWindow, match="'mw-7'"):
        service.end("mw-7", NOW)


def test_a_bad_file_is_reported_with_its_line_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "maintenance.yaml"
    path.write_text("windows:\n  - id: mw-1\n    start: soon\n", encoding="utf-8")
    service = MaintenanceService(path)
    with pytest.raises(ConfigError) as caught:
        service.add(WindowRequest(UPS, duration=60), NOW)
    assert caught.value.errors[0].line == 2
    with pytest.raises(ConfigError):
        service.end("mw-1", NOW)
    assert path.read_text(encoding="utf-8") == "windows:\n  - id: mw-1\n    start: soon\n"
