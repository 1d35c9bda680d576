"""The one error path of the command line: what went wrong decides the exit code, the same in
every command (README "The command line" lists them).

    0    ok
    1    a finding: a check found errors, a rule test failed, the incident, problem or
         maintenance window named is not there or refuses the change (already resolved, over)
    2    bad usage or bad configuration: an unknown option or value, a bad date, a config,
         inventory, credentials or maintenance file that is missing or invalid, a store URL
         that is not one, a store at an older schema (`roomwatch store migrate`), a copy
         target holding another desk, an output file that cannot be written
    3    a device or the ticket store did not answer (a poll failed, the store is missing,
         unreadable, locked or unreachable)
    130  interrupted (Ctrl-C)

A command raises one of the `CommandError` classes with the lines to print, or lets the
errors of the layers below travel up (a `ConfigError` from a loader, `NotFound` from the
store); `cli.main` prints them on stderr, one line each, and returns the code. Anything
else is a bug and keeps its traceback."""

from __future__ import annotations

import sqlite3
from enum import IntEnum
from typing import ClassVar

from alerting.incidents import IncidentError
from alerting.store import NotFound, SchemaTooOld, StoreError
from alerting.store.copy import CopyError
from core.yamlsource import ConfigError


class ExitCode(IntEnum):
    OK = 0
    FINDING = 1
    USAGE = 2
    NO_ANSWER = 3
    INTERRUPTED = 130


class CommandError(Exception):
    """A failure the user can act on: its lines go to stderr as they are."""

    code: ClassVar[ExitCode] = ExitCode.USAGE

    def __init__(self, *lines: str) -> None:
        super().__init__(*lines)
        self.lines = lines


class Finding(CommandError):
    """The command worked and the answer is no (errors found, a test failed, no such id)."""

    code = ExitCode.FINDING


class UsageError(CommandError):
    """The command was called wrongly or its configuration is bad."""

    code = ExitCode.USAGE


class NoAnswer(CommandError):
    """A device or the ticket store did not answer."""

    code = ExitCode.NO_ANSWER


def config_lines(exc: ConfigError) -> list[str]:
    """Every error of a bad file, `file:line:col: reason` each."""
    return [str(item) for item in exc.errors] or [str(exc)]


def outcome(exc: BaseException) -> tuple[ExitCode, list[str]] | None:
    """The exit code and stderr lines of a failure a user can cause; None for a bug."""
    if isinstance(exc, CommandError):
        return exc.code, list(exc.lines)
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED, ["interrupted"]
    if isinstance(exc, ConfigError):
        return ExitCode.USAGE, config_lines(exc)
    # the store's subclasses first: they are StoreErrors too
    if isinstance(exc, NotFound | IncidentError):
        return ExitCode.FINDING, [f"error: {exc}"]
    if isinstance(exc, SchemaTooOld | CopyError):  # the store answered: the admin must act
        return ExitCode.USAGE, [f"error: {exc}"]
    if isinstance(exc, StoreError):  # cannot open, unreachable (Unavailable), locked
        return ExitCode.NO_ANSWER, [f"error: {exc}"]
    if isinstance(exc, sqlite3.Error):  # the ticket store's database failed under us
        return ExitCode.NO_ANSWER, [f"error: the ticket store failed: {exc}"]
    if isinstance(exc, ConnectionError | TimeoutError):
        return ExitCode.NO_ANSWER, [f"error: no answer: {exc}"]
    if isinstance(exc, OSError):  # a file named on the command line or in the config
        where = f"{exc.filename}: " if exc.filename else ""
        return ExitCode.USAGE, [f"error: {where}{exc.strerror or exc}"]
    return None
