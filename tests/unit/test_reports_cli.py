"""`roomwatch report monthly` from files, as an admin runs it: roomwatch.yaml, the inventory,
the maintenance windows file and a ticket store holding the generated month of
test_reports_monthly; the figures must be the recomputed ones in every format."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from alerting.store import open_store
from collector.cli import main
from collector.commands.report import last_whole_month
from tests.unit.test_reports_monthly import (
    DEVICES,
    REPORT_TIME,
    expected_availability_rows,
    expected_sla_rows,
    generate,
    play,
    tables_of,
)

MAINTENANCE = """
windows:
  - id: mw-1
    select: {id: core-sw1}
    start: "2026-11-10T01:00:00+08:00"
    end: "2026-11-10T05:00:00+08:00"
    reason: firmware
  - id: mw-2
    select: {kind: ups}
    start: "2026-11-01T02:00:00+08:00"
    end: "2026-11-01T02:30:00+08:00"
    every: weekly
    reason: self-test
"""


class ReportClock:
    """The report is asked for on 2 December (after the generated month)."""

    def now(self) -> float:
        return REPORT_TIME


@pytest.fixture
async def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("collector.commands.report.SystemClock", ReportClock)
    devices = "\n".join(
        f"  - {{id: {d}, name: {name}, kind: {kind}, site: {s}, room: A}}"
        for d, (kind, s, name) in DEVICES.items()
    )
    (tmp_path / "inventory.yaml").write_text(
        "sites:\n  - {id: dc1, name: Beijing DC}\n  - {id: dc2, name: Shanghai DC}\n"
        f"devices:\n{devices}\n",
        encoding="utf-8",
    )
    (tmp_path / "rules").mkdir()
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "maintenance.yaml").write_text(MAINTENANCE, encoding="utf-8")
    config = tmp_path / "roomwatch.yaml"
    config.write_text(
        "inventory: inventory.yaml\nrules: [rules/]\nstate_dir: state\n"
        "alerting:\n  language: zh\n  reports: {timezone: Asia/Shanghai, language: en}\n",
        encoding="utf-8",
    )
    store = await open_store(f"sqlite:///{tmp_path / 'state' / 'roomwatch.db'}")
    try:
        await play(store, generate())
    finally:
        await store.close()
    return config


@pytest.mark.parametrize("fmt", ["csv", "md", "html"])
def test_monthly_report_from_files_matches_the_recomputed_month(site: Path, fmt: str) -> None:
    out = site.parent / f"report.{fmt}"
    code = main(
        [
            "report",
            "monthly",
            "--month",
            "2026-11",
            "--format",
            fmt,
            "-o",
            str(out),
            "-c",
            str(site),
        ]
    )
    assert code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (fmt == "csv")  # a BOM for spreadsheets only
    tables = tables_of(fmt, raw.decode("utf-8-sig"))
    specs = generate()
    assert tables["sla"][1:] == expected_sla_rows(specs)
    assert tables["availability-devices"][1:] == expected_availability_rows(specs, False)
    assert tables["availability-websites"][1:] == expected_availability_rows(specs, True)


def test_language_option_overrides_the_config(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "report",
                "monthly",
                "--month",
                "2026-11",
                "--format",
                "csv",
                "--lang",
                "zh",
                "-o",
                "-",  # standard output (without -o the report goes to a file)
                "-c",
                str(site),
            ]
        )
        == 0
    )
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["report", "运维服务月度报告 2026-11"]


def test_quarter_and_site(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "report",
                "monthly",
                "--quarter",
                "2026Q4",
                "--site",
                "dc2",
                "--format",
                "md",
                "-o",
                "-",
                "-c",
                str(site),
            ]
        )
        == 0
    )
    doc = capsys.readouterr().out
    assert "# Quarterly service report 2026Q4" in doc
    assert "| web1 |" in doc and "| srv1 |" not in doc


def test_missing_store_and_bad_month_are_clear_errors(
    tmp_path: Path, site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "monthly", "--month", "2026-13", "-c", str(site)]) == 2
    assert "not a month or quarter: '2026-13'" in capsys.readouterr().err
    missing = f"sqlite:///{tmp_path / 'nowhere.db'}"
    # 3: the store did not answer (2 before the one exit-code path)
    assert (
        main(["report", "monthly", "--month", "2026-11", "--store", missing, "-c", str(site)]) == 3
    )
    assert "no ticket store at" in capsys.readouterr().err
    assert not (tmp_path / "nowhere.db").exists()
    assert main(["report", "monthly", "--month", "2026-11", "--site", "dc9", "-c", str(site)]) == 2
    assert "unknown site 'dc9'" in capsys.readouterr().err


def test_a_period_that_has_not_begun_is_a_clear_error(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The report is asked for on 2 December 2026 (ReportClock): January has no figures yet.
    assert main(["report", "monthly", "--month", "2027-01", "-c", str(site)]) == 2
    assert "2027-01 has not begun yet" in capsys.readouterr().err
    assert main(["report", "monthly", "--quarter", "2027Q1", "-c", str(site)]) == 2
    assert "2027Q1 has not begun yet" in capsys.readouterr().err


def test_an_output_file_that_cannot_be_written_is_a_one_line_error(
    tmp_path: Path, site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-dir" / "2026-11.html"
    # 2: an -o that cannot be written is bad usage (1 before the one exit-code path, where 1
    # now means a finding)
    assert (
        main(["report", "monthly", "--month", "2026-11", "-o", str(target), "-c", str(site)]) == 2
    )
    err = capsys.readouterr().err
    assert err.strip() == f"error: cannot write {target}: No such file or directory"


def test_without_o_the_report_is_a_file_named_for_its_period(
    site: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["report", "monthly", "--month", "2026-11", "--lang", "en", "-c", str(site)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out == "wrote monthly-2026-11.en.html\n"  # not the HTML on the terminal
    assert "<html" in (tmp_path / "monthly-2026-11.en.html").read_text(encoding="utf-8")


def test_the_default_period_is_the_last_whole_month() -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    # 2026-12-01 00:30 in Shanghai is still November in UTC: the report's zone decides
    now = dt.datetime(2026, 12, 1, 0, 30, tzinfo=shanghai).timestamp()
    assert last_whole_month(now, shanghai) == "2026-11"
    assert last_whole_month(now, dt.UTC) == "2026-10"
    assert (
        last_whole_month(dt.datetime(2027, 1, 15, tzinfo=dt.UTC).timestamp(), dt.UTC) == "2026-12"
    )
