"""The one error path's table: which failure gets which exit code, and that a bug keeps its
traceback. (Every command through the console script: tests/integration/test_cli_exit_codes.py.)"""

from __future__ import annotations

import argparse
import sqlite3

import pytest

from alerting.incidents import IncidentError
from alerting.store import NotFound, SchemaTooOld, StoreError, Unavailable
from alerting.store.copy import CopyError
from collector import cli
from collector.commands import oncall
from collector.commands.errors import ExitCode, Finding, NoAnswer, UsageError, outcome
from core.yamlsource import ConfigError, ErrorItem


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (Finding("2 finding(s) in 9 rules"), ExitCode.FINDING, "2 finding(s) in 9 rules"),
        (UsageError("unknown device: x"), ExitCode.USAGE, "unknown device: x"),
        (
            NoAnswer("error: no ticket store at /x"),
            ExitCode.NO_ANSWER,
            "error: no ticket store at /x",
        ),
        (
            ConfigError([ErrorItem("/etc/rw.yaml", 3, 5, "unknown key 'knd'")]),
            ExitCode.USAGE,
            "/etc/rw.yaml:3:5: unknown key 'knd'",
        ),
        (NotFound("no incident 9"), ExitCode.FINDING, "error: no incident 9"),
        (
            IncidentError("incident 9 is resolved"),
            ExitCode.FINDING,
            "error: incident 9 is resolved",
        ),
        (
            SchemaTooOld("run roomwatch store migrate"),
            ExitCode.USAGE,
            "error: run roomwatch store migrate",
        ),
        (CopyError("rows of another desk"), ExitCode.USAGE, "error: rows of another desk"),
        (Unavailable("unreachable"), ExitCode.NO_ANSWER, "error: unreachable"),
        (StoreError("locked"), ExitCode.NO_ANSWER, "error: locked"),
        (
            sqlite3.DatabaseError("file is not a database"),
            ExitCode.NO_ANSWER,
            "error: the ticket store failed: file is not a database",
        ),
        (
            ConnectionRefusedError(111, "refused"),
            ExitCode.NO_ANSWER,
            "error: no answer: [Errno 111] refused",
        ),
        (TimeoutError("slow"), ExitCode.NO_ANSWER, "error: no answer: slow"),
        (
            PermissionError(13, "Permission denied", "/var/lib/roomwatch"),
            ExitCode.USAGE,
            "error: /var/lib/roomwatch: Permission denied",
        ),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "interrupted"),
    ],
)
def test_each_failure_has_its_code_and_one_line(
    error: BaseException, code: ExitCode, line: str
) -> None:
    assert outcome(error) == (code, [line])


def test_a_bad_file_gives_one_line_per_error() -> None:
    error = ConfigError(
        [ErrorItem("/a.yaml", 1, 1, "missing 'kind'"), ErrorItem("/a.yaml", 2, 3, "bad level")]
    )
    assert outcome(error) == (
        ExitCode.USAGE,
        ["/a.yaml:1:1: missing 'kind'", "/a.yaml:2:3: bad level"],
    )


def test_a_bug_is_not_dressed_up_as_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    assert outcome(ZeroDivisionError("division by zero")) is None

    def broken(args: argparse.Namespace) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(oncall, "_now", broken)  # registered when main builds the parser
    with pytest.raises(ZeroDivisionError):  # main lets it through: its traceback is the report
        cli.main(["oncall", "now"])


def test_usage_errors_are_one_line_naming_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["incidents", "show", "abc"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err == (
        "roomwatch incidents show: argument id: not an incident id or ticket number: 'abc'"
        " (write 12 or RW-2026-000012) (see roomwatch incidents show --help)\n"
    )
