"""Commands that feel instant: `roomwatch --help`, `incidents list` and `oncall now` import
only what they use (issue: 2-3 s of start-up, most of it importing every command's libraries).
Measured start-up lives in the note; this checks the structure that keeps it small."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from collector import cli

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("aiohttp", "pysnmp", "influxdb_client", "psycopg", "paramiko", "pymodbus", "jinja2")


def _imported_by(*argv: str) -> set[str]:
    code = (
        "import sys\nfrom collector import cli\n"
        f"try:\n    cli.main({list(argv)!r})\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("--version",),
        ("oncall", "now", "-c", "examples/demo/roomwatch.yaml"),
        ("incidents", "list", "-c", "examples/demo/roomwatch.yaml"),
    ],
)
def test_a_quick_command_imports_no_heavy_library(argv: tuple[str, ...]) -> None:
    loaded = _imported_by(*argv)
    assert "collector.cli" in loaded
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}, argv


def test_help_lines_are_those_the_commands_give_themselves() -> None:
    full = cli.build_parser()  # every command in full
    sub = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    own = {c.dest: c.help for c in sub._choices_actions}
    assert own == cli.COMMANDS


def test_every_command_module_is_listed() -> None:
    # a module that adds a top-level command: register(sub) calls sub.add_parser("NAME", …)
    modules = {
        p.stem
        for p in (REPO / "collector" / "commands").glob("*.py")
        if f'sub.add_parser(\n        "{p.stem}"' in p.read_text(encoding="utf-8")
        or f'sub.add_parser("{p.stem}"' in p.read_text(encoding="utf-8")
    }
    assert modules == set(cli.COMMANDS)
