"""`roomwatch rules check FILE… [-c CONFIG]` and `roomwatch rules test FILE…`.

`check` loads rule files as the daemon would and prints every error as
`file:line:col: group, rule: message`; with `-c` it also reads the inventory named by the config,
checks sites against it and flags rules that select no device (and with no FILE it checks the
config's own rule paths). `test` runs rule unit tests (see rules/ruletest.py). Both exit 0 only
when everything is clean, 1 when they found something (a bad rule file, a missing one too, or a
failed test), 2 when called wrongly."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from collector.commands.errors import ExitCode, Finding, UsageError, config_lines
from collector.config import load_config
from inventory import ConfigError, Inventory, load_credentials, load_inventory
from rules.lint import lint_rules
from rules.loader import load_rules, rule_files
from rules.ruletest import run_test_file


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("rules", help="check rule files and run rule unit tests")
    rsub = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    check = rsub.add_parser("check", help="lint rule files (every error, file:line:col)")
    check.add_argument("files", nargs="*", help="rule files or directories")
    check.add_argument(
        "-c", "--config", help="roomwatch.yaml: check against its inventory (and its rules)"
    )
    check.set_defaults(func=_check)
    test = rsub.add_parser("test", help="run rule unit tests written in YAML")
    test.add_argument("files", nargs="+", help="rule-test files or directories of them")
    test.set_defaults(func=_test)


def _check(args: argparse.Namespace) -> int:
    inventory: Inventory | None = None
    paths: list[Path] = [Path(f) for f in args.files]
    try:
        if args.config:
            config = load_config(args.config)
            credentials, _ = load_credentials(config.credentials)
            inventory = load_inventory(config.inventory, credentials)
            paths = paths or list(config.rules)
        if not paths:
            raise UsageError("rules check: name rule files, or a config with -c")
        ruleset = load_rules(paths, inventory)
    except ConfigError as exc:
        raise Finding(*config_lines(exc)) from None
    findings = lint_rules(ruleset, inventory) if inventory is not None else []
    for item in findings:
        print(f"{item} (lint)", file=sys.stderr)
    files = len(rule_files(paths))
    if findings:
        raise Finding(f"{len(findings)} finding(s) in {len(ruleset)} rules")
    print(f"ok: {len(ruleset)} rules in {files} file(s)")
    return ExitCode.OK


def _test(args: argparse.Namespace) -> int:
    files: list[Path] = []
    for raw in args.files:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    failed = tests = 0
    for file in files:
        try:
            result = run_test_file(file)
        except ConfigError as exc:
            failed += 1
            for item in exc.errors:
                print(item, file=sys.stderr)
            print(f"ERROR {file}")
            continue
        tests += result.tests
        if result.ok:
            print(f"PASS  {file} ({result.tests} tests)")
            continue
        failed += 1
        print(f"FAIL  {file}")
        for failure in result.failures:
            print(f"  {failure}")
    print(
        f"{tests} tests in {len(files)} file(s): {'all passed' if not failed else f'{failed} file(s) failed'}"
    )
    return ExitCode.FINDING if failed else ExitCode.OK
