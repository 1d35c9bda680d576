"""`roomwatch` command line: one module per command group in `collector/commands/`.

Every failure a user can cause leaves through one path (`collector/commands/errors.py`): a
one-line reason on stderr per problem and the exit code of its kind, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from collector.commands.errors import UsageError, outcome

# Each module defines `register(subparsers)`; the parser it adds sets `func(args) -> int`.
# Only the command being run is imported (its module imports what it needs: the store, the
# probes, aiohttp…); the others appear in `roomwatch --help` with the line written here, which
# a test keeps equal to the help each module gives itself.
COMMANDS = {
    "run": "run the monitoring daemon",
    "demo": "a simulated machine room on loopback, with faults",
    "check": "validate configuration, inventory, credentials and rules",
    "poll": "poll the inventory once and print what each device says",
    "probe": "poll one device once without an inventory (like snmpwalk or upsc)",
    "incidents": "list, show, acknowledge and resolve incidents",
    "kb": "the knowledge base of known errors and workarounds",
    "oncall": "the duty schedule",
    "rules": "check rule files and run rule unit tests",
    "maintenance": "add, list and end maintenance windows",
    "report": "write the monthly SLA report or the inspection sheet",
    "profiles": "import SNMP profiles from other tools",
    "store": "migrate the ticket store, or copy it to PostgreSQL",
    "cluster": "collectors, shards and leases of a shared store",
    "users": "add, change and remove the console's users",
    "mibs": "compile MIBs, so traps and OIDs are shown by name",
}


class _Version(argparse.Action):
    """--version, looking the version up only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        from importlib import metadata

        try:
            version = metadata.version("roomwatch")
        except metadata.PackageNotFoundError:
            version = "unknown"
        print(f"roomwatch {version}")
        parser.exit()


class Parser(argparse.ArgumentParser):
    """argparse with its usage errors on the common path: one line naming the command, exit 2.
    (Sub-commands' parsers are of the same class: argparse makes them with type(parent).)"""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: the command named there in full, the others by name and help
    only. With `argv` None, every command in full (for tests and documentation)."""
    parser = Parser(
        prog="roomwatch",
        description="Monitoring daemon for machine rooms.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    for name, help_text in COMMANDS.items():
        if wanted is None or name == wanted:
            importlib.import_module(f"collector.commands.{name}").register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Behave like a Unix tool when piped into `head`: die quietly on a closed pipe.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        words = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(words).parse_args(words)
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
