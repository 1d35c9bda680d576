"""Loading and validating rule files (DESIGN.md §6): the files, their groups and rules, and
how a rule's keys go together; each key's own value is read by rule_fields.py.

Every error of every file is collected before anything is raised, so an admin fixes a file in
one pass; each reads `file:line:col: group, rule: message`. Nothing is half-loaded: either the
whole set is valid and a RuleSet is returned, or ConfigError lists what is wrong (and a running
daemon keeps its old rules)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.wording import did_you_mean
from core.yamlsource import (
    ConfigError,
    ErrorItem,
    LineDict,
    LineList,
    load_yaml,
    locate,
    yaml_files_in,
)
from inventory.model import Inventory
from rules.model import Rule, RuleSet
from rules.rule_fields import (
    CRITICALITY_KEY,
    FLAPPING_KEYS,
    SELECT_KEYS,
    read_condition,
    read_duration,
    read_flapping,
    read_level,
    read_levels,
    read_metric,
    read_selector,
    read_summary,
    read_where,
)

# SELECT_KEYS, FLAPPING_KEYS and CRITICALITY_KEY live with their readers in rule_fields.py;
# they stay importable from here, where they were first.
__all__ = [
    "CRITICALITY_KEY",
    "FILE_KEYS",
    "FLAPPING_KEYS",
    "GROUP_KEYS",
    "RULE_KEYS",
    "SELECT_KEYS",
    "load_rules",
    "rule_files",
]

FILE_KEYS = ("groups",)
GROUP_KEYS = ("name", "rules")
RULE_KEYS = (
    "name",
    "select",
    "metric",
    "where",
    "levels",
    "for",
    "clear",
    "clear_for",
    "hold",
    "absent",
    "absent_level",
    "escalate",
    "stale",
    "flapping",
    "summary",
    "runbook",
    "custom",
)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")


def rule_files(paths: Sequence[Path | str]) -> list[Path]:
    """The rule files named: files as given, directories by their *.yaml / *.yml (not
    recursing, so `tests/` beside the rules is not read as rules)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(yaml_files_in(path))
        else:
            out.append(path)
    return out


def load_rules(paths: Sequence[Path | str], inventory: Inventory | None = None) -> RuleSet:
    """Load and check rule files or directories. Raises ConfigError listing every error of
    every file (including rule names used twice across files)."""
    errors: list[ErrorItem] = []
    rules: list[Rule] = []
    files: list[str] = []
    seen: dict[str, tuple[str, int]] = {}  # rule name → where it was first written
    for file in rule_files(paths):
        if not file.exists():
            errors.append(ErrorItem(str(file), 0, 0, "rule file not found"))
            continue
        try:
            data = load_yaml(file)
        except ConfigError as exc:
            errors.extend(exc.errors)
            continue
        parser = _FileParser(file, inventory)
        rules.extend(parser.parse(data))
        files.append(parser.file)
        # every named rule counts, also one with other errors: all errors are listed at once
        for group, name, pos in parser.named:
            other = seen.get(name)
            if other is not None:
                parser.error(
                    pos,
                    group,
                    name,
                    f"duplicate rule name (also at {other[0]}:{other[1]});"
                    " fault identities are built from rule names",
                )
                continue
            seen[name] = (parser.file, pos[0])
        errors.extend(sorted(parser.errors, key=lambda e: (e.line, e.col)))
    if errors:
        raise ConfigError(errors)
    return RuleSet.of(rules, files)


class _FileParser:
    def __init__(self, file: Path, inventory: Inventory | None) -> None:
        self.file = str(file)
        self.inventory = inventory
        self.errors: list[ErrorItem] = []
        self.named: list[tuple[str, str, tuple[int, int]]] = []  # group, rule name, position

    def error(self, pos: tuple[int, int], group: str, rule: str, message: str) -> None:
        line, col = pos
        self.errors.append(
            ErrorItem(self.file, line, col or (1 if line else 0), f"{group}, {rule}: {message}")
        )

    def parse(self, data: Any) -> list[Rule]:
        if data is None:
            # An editor's truncating save or a copy onto a full disk leaves an empty file; taken
            # as "no rules", the reload would resolve every open incident of this file.
            self.errors.append(
                ErrorItem(
                    self.file,
                    1,
                    1,
                    "the rule file is empty (a truncated save, or a copy onto a full disk?);"
                    " to keep a rule file without rules on purpose, write `groups: []`",
                )
            )
            return []
        if not isinstance(data, LineDict):
            self.errors.append(ErrorItem(self.file, 1, 1, "expected a mapping with 'groups:'"))
            return []
        for key in data:
            if key not in FILE_KEYS:
                line, col = data.positions[key]
                self.errors.append(
                    ErrorItem(self.file, line, col, f"unknown key {key!r} (expected 'groups')")
                )
        groups = data.get("groups")
        if not isinstance(groups, LineList):
            line, col = data.positions.get("groups", data.start)
            self.errors.append(ErrorItem(self.file, line, col, "'groups' must be a list of groups"))
            return []
        rules: list[Rule] = []
        names: set[str] = set()
        for gi, group in enumerate(groups):
            gpos = groups.positions[gi]
            if not isinstance(group, LineDict):
                self.errors.append(ErrorItem(self.file, *gpos, f"groups[{gi}]: expected a mapping"))
                continue
            gname = group.get("name")
            label = gname if isinstance(gname, str) and gname else f"groups[{gi}]"
            for key in group:
                if key not in GROUP_KEYS:
                    self.errors.append(
                        ErrorItem(self.file, *group.positions[key], f"{label}: unknown key {key!r}")
                    )
            if not isinstance(gname, str) or not gname:
                self.errors.append(ErrorItem(self.file, *gpos, f"{label}: missing group 'name'"))
            elif gname in names:
                self.errors.append(
                    ErrorItem(self.file, *group.positions["name"], f"{label}: duplicate group name")
                )
            names.add(label)
            items = group.get("rules")
            if not isinstance(items, LineList):
                pos = group.positions.get("rules", gpos)
                self.errors.append(ErrorItem(self.file, *pos, f"{label}: 'rules' must be a list"))
                continue
            for ri, item in enumerate(items):
                rule = self.rule(label, ri, item, items.positions[ri])
                if rule is not None:
                    rules.append(rule)
        return rules

    def rule(self, group: str, index: int, raw: Any, pos: tuple[int, int]) -> Rule | None:
        if not isinstance(raw, LineDict):
            self.error(pos, group, f"rules[{index}]", "expected a mapping")
            return None
        name = raw.get("name")
        label = name if isinstance(name, str) and name else f"rules[{index}]"
        if isinstance(name, str) and name:
            self.named.append((group, name, pos))
        before = len(self.errors)

        def err(key: str | Sequence[str] | None, message: str) -> None:
            # Point at the deepest part of the path that exists: `levels.1` at the `1:` key.
            path = [key] if isinstance(key, str) else list(key or [])
            where = locate(raw, path) if path else pos
            self.error(where, group, label, message)

        for key in raw:
            if key not in RULE_KEYS:
                hint = did_you_mean(key, RULE_KEYS)
                err(key, f"unknown key {key!r}{hint} (known: {', '.join(RULE_KEYS)})")
        if not isinstance(name, str) or not name:
            err(None, "missing 'name'")
        elif not _NAME.fullmatch(name):
            err("name", f"rule name {name!r} may use only letters, digits and _ . : -")

        metric, rate, expression = read_metric(raw.get("metric"), err)
        selector = read_selector(raw.get("select"), err, self.inventory)
        where = read_where(raw.get("where"), err)
        levels = read_levels(raw.get("levels"), err)
        absent_s = read_duration(raw, "absent", err)
        if absent_s == 0:  # every device would be "silent" between any two samples
            err("absent", "'absent' must be longer than 0s")
        if "levels" not in raw and "absent" not in raw:
            err(None, "a rule needs 'levels' or 'absent' (or both)")
        clear = read_condition(raw, "clear", err)
        if clear is not None and not levels and "levels" not in raw:
            # (levels written but wrong are reported themselves; no second, unrelated error)
            err("clear", "'clear' needs 'levels'")
        absent_level = read_level(raw, "absent_level", err)
        if "absent_level" in raw and absent_s is None:
            err("absent_level", "'absent_level' needs 'absent'")
        escalate_s = read_duration(raw, "escalate", err)
        if escalate_s == 0:
            err("escalate", "'escalate' must be longer than 0s")
        stale_s = read_duration(raw, "stale", err)
        if stale_s == 0:
            err("stale", "'stale' must be longer than 0s")
        for_s = read_duration(raw, "for", err) or 0.0
        clear_for_s = read_duration(raw, "clear_for", err) or 0.0
        hold = read_duration(raw, "hold", err)
        flapping = read_flapping(raw, err)
        summary = read_summary(raw.get("summary"), "summary" in raw, err)
        runbook = raw.get("runbook")
        if runbook is not None and not isinstance(runbook, str):
            err("runbook", "'runbook' must be text")
            runbook = None
        custom = raw.get("custom", False)
        if not isinstance(custom, bool):
            err("custom", "'custom' must be true or false")
        if len(self.errors) > before or not isinstance(name, str) or metric is None:
            return None
        return Rule(
            name=name,
            group=group,
            metric=metric,
            rate=rate,
            expression=expression,
            selector=selector,
            where=where,
            levels=levels,
            for_s=for_s,
            clear=clear,
            clear_for_s=clear_for_s,
            hold_s=for_s if hold is None else hold,
            absent_s=absent_s,
            absent_level=absent_level,
            escalate_s=escalate_s,
            stale_s=300.0 if stale_s is None else stale_s,
            flapping=flapping,
            summary=summary,
            runbook=runbook,
            custom=custom is True,
            file=self.file,
            line=pos[0],
            col=pos[1],
        )
