"""`roomwatch` command line: one module per command group in `collector/commands/`."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import signal
import sys
from collections.abc import Sequence

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
    "store",
)


def _version() -> str:
    try:
        return importlib.metadata.version("roomwatch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
