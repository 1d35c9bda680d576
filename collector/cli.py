"""`roomwatch` command line: one module per command group in `collector/commands/`.

Every failure a user can cause leaves through one path (`collector/commands/errors.py`): a
one-line reason on stderr per problem and the exit code of its kind, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

from collector.commands.errors import UsageError, outcome

# Each module defines `register(subparsers)`; the parser it adds sets `func(args) -> int`.
COMMANDS = (
    "run",
    "check",
    "poll",
    "probe",
    "incidents",
    "oncall",
    "rules",
    "maintenance",
    "report",
    "profiles",
    "store",
    "cluster",
    "users",
    "mibs",
)


def _version() -> str:
    try:
        return importlib.metadata.version("roomwatch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Parser(argparse.ArgumentParser):
    """argparse with its usage errors on the common path: one line naming the command, exit 2.
    (Sub-commands' parsers are of the same class: argparse makes them with type(parent).)"""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="roomwatch",
        description="Monitoring daemon for machine rooms.",
    )
    parser.add_argument("--version", action="version", version=f"roomwatch {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"collector.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Behave like a Unix tool when piped into `head`: die quietly on a closed pipe.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except (Exception, KeyboardInterrupt) as exc:
        known = outcome(exc)
        if known is None:
            raise  # a bug: its traceback is what a report needs
        code, lines = known
        for line in lines:
            print(line, file=sys.stderr)
        return int(code)


if __name__ == "__main__":
    sys.exit(main())
