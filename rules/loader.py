"""Loading and validating rule files (DESIGN.md §6).

(Over 400 lines on purpose: it is the one parser of the rule-file format, each key with its
error text; splitting it by key would scatter the format over several files.)

Every error of every file is collected before anything is raised, so an admin fixes a file in
one pass; each reads `file:line:col: group, rule: message`. Nothing is half-loaded: either the
whole set is valid and a RuleSet is returned, or ConfigError lists what is wrong (and a running
daemon keeps its old rules)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.durations import parse_duration
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
from inventory.model import KINDS, Inventory, Selector
from rules.conditions import Condition, ConditionError, parse_condition
from rules.expression import Expression, ExpressionError, is_expression, parse_expression
from rules.model import CRITICALITY, LANGUAGES, Flapping, Rule, RuleSet
from rules.template import Template, TemplateError, parse_template

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
SELECT_KEYS = ("kind", "site", "id", "tags", "labels")
FLAPPING_KEYS = ("opens", "window", "settle")
CRITICALITY_KEY = "device.criticality"
_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_RATE = re.compile(r"rate\(\s*([^()\s]+)\s*\)")
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

        metric, rate, expression = self.metric(raw.get("metric"), err)
        selector = self.selector(raw.get("select"), err)
        where = self.where(raw.get("where"), err)
        levels = self.levels(raw.get("levels"), err)
        absent_s = self.duration(raw, "absent", err)
        if absent_s == 0:  # every device would be "silent" between any two samples
            err("absent", "'absent' must be longer than 0s")
        if "levels" not in raw and "absent" not in raw:
            err(None, "a rule needs 'levels' or 'absent' (or both)")
        clear = self.condition(raw, "clear", err)
        if clear is not None and not levels and "levels" not in raw:
            # (levels written but wrong are reported themselves; no second, unrelated error)
            err("clear", "'clear' needs 'levels'")
        absent_level = self.level_value(raw, "absent_level", err)
        if "absent_level" in raw and absent_s is None:
            err("absent_level", "'absent_level' needs 'absent'")
        escalate_s = self.duration(raw, "escalate", err)
        if escalate_s == 0:
            err("escalate", "'escalate' must be longer than 0s")
        stale_s = self.duration(raw, "stale", err)
        if stale_s == 0:
            err("stale", "'stale' must be longer than 0s")
        for_s = self.duration(raw, "for", err) or 0.0
        clear_for_s = self.duration(raw, "clear_for", err) or 0.0
        hold = self.duration(raw, "hold", err)
        flapping = self.flapping(raw, err)
        summary = self.summary(raw.get("summary"), "summary" in raw, err)
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

    def metric(self, raw: Any, err: Any) -> tuple[str | None, bool, Expression | None]:
        if raw is None:
            err(None, "missing 'metric'")
            return None, False, None
        if not isinstance(raw, str):
            err("metric", "'metric' must be a metric name such as ambient.temperature")
            return None, False, None
        text = raw.strip()
        if is_expression(text):
            try:
                expression = parse_expression(text)
            except ExpressionError as exc:
                err("metric", f"bad metric expression {raw!r}: {exc}")
                return None, False, None
            return expression.metrics[0], False, expression
        m = _RATE.fullmatch(text)
        name, rate = (m.group(1), True) if m else (text, False)
        if not _METRIC.fullmatch(name):
            err(
                "metric",
                f"bad metric {raw!r}: write a metric name (ambient.temperature) or rate(name)",
            )
            return None, False, None
        return name, rate, None

    def selector(self, raw: Any, err: Any) -> Selector:
        if raw is None:
            return Selector()
        if not isinstance(raw, LineDict):
            err("select", "'select' must be a mapping (kind, site, id, tags, labels)")
            return Selector()
        for key in raw:
            if key not in SELECT_KEYS:
                err(
                    ["select", key],
                    f"select: unknown key {key!r}{did_you_mean(key, SELECT_KEYS)}"
                    f" (known: {', '.join(SELECT_KEYS)})",
                )
        values: dict[str, tuple[str, ...]] = {}
        for key in ("kind", "site", "id", "tags"):
            if key in raw:
                got = _strings(raw[key])
                if got is None:
                    err(["select", key], f"select.{key}: expected a name or a list of names")
                    got = ()
                values[key] = got
        for kind in values.get("kind", ()):
            if kind not in KINDS:
                err(
                    ["select", "kind"],
                    f"select.kind: unknown kind {kind!r} (known: {', '.join(KINDS)})",
                )
        if self.inventory is not None and self.inventory.sites:
            for site in values.get("site", ()):
                if site not in self.inventory.sites:
                    err(["select", "site"], f"select.site: unknown site {site!r}")
        labels: tuple[tuple[str, str], ...] = ()
        if "labels" in raw:
            lab = raw["labels"]
            if not isinstance(lab, LineDict) or not all(
                isinstance(v, str | int | float) for v in lab.values()
            ):
                err(
                    ["select", "labels"],
                    "select.labels: expected a mapping of label names to values",
                )
            else:
                labels = tuple(sorted((k, str(v)) for k, v in lab.items()))
        return Selector(
            kind=values.get("kind", ()),
            site=values.get("site", ()),
            id=values.get("id", ()),
            tags=values.get("tags", ()),
            labels=labels,
        )

    def where(self, raw: Any, err: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
        if raw is None:
            return ()
        if not isinstance(raw, LineDict):
            err("where", "'where' must map sample label names to globs, e.g. {ifName: 'Gi1/0/4*'}")
            return ()
        out = []
        for key, value in raw.items():
            globs = _strings(value)
            if not globs:
                err(["where", key], f"where.{key}: expected a glob or a list of globs")
                continue
            out.append((key, globs))
        return tuple(sorted(out))

    def levels(self, raw: Any, err: Any) -> tuple[tuple[int, Condition], ...]:
        if raw is None:
            return ()
        if not isinstance(raw, LineDict) or not raw:
            err(
                "levels", "'levels' must map a level (1, 2, 3 or device.criticality) to a condition"
            )
            return ()
        out: list[tuple[int, Condition]] = []
        for key, text in raw.items():
            level = _level_key(key)
            if level is None:
                err(
                    ["levels", key],
                    f"levels: unknown level {key!r} (1 = severe, 2, 3 = minor, or device.criticality)",
                )
                continue
            if not isinstance(text, str | int | float) or isinstance(text, bool):
                err(["levels", key], f"levels.{key}: expected a condition such as '> 30'")
                continue
            try:
                out.append((level, parse_condition(text)))
            except ConditionError as exc:
                err(["levels", key], f"levels.{key}: bad condition {text!r}: {exc}")
        # Numbered levels most severe first; the inventory-driven level is tried last.
        out.sort(key=lambda item: item[0] if item[0] != CRITICALITY else 99)
        return tuple(out)

    def condition(self, raw: LineDict, key: str, err: Any) -> Condition | None:
        if key not in raw:
            return None
        text = raw[key]
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            err(key, f"'{key}' must be a condition such as '< 26'")
            return None
        try:
            return parse_condition(text)
        except ConditionError as exc:
            err(key, f"{key}: bad condition {text!r}: {exc}")
            return None

    def duration(self, raw: LineDict, key: str, err: Any) -> float | None:
        if key not in raw:
            return None
        try:
            return parse_duration(raw[key])
        except (ValueError, TypeError) as exc:
            err(key, f"{key}: {exc}")
            return None

    def level_value(self, raw: LineDict, key: str, err: Any) -> int:
        if key not in raw:
            return CRITICALITY
        level = _level_key(raw[key])
        if level is None:
            err(key, f"{key}: expected 1, 2, 3 or device.criticality")
            return CRITICALITY
        return level

    def flapping(self, raw: LineDict, err: Any) -> Flapping | None:
        value = raw.get("flapping")
        if "flapping" not in raw or value is True:
            return Flapping()
        if value is False or value == "off":
            return None
        if not isinstance(value, LineDict):
            err("flapping", "'flapping' must be off or a mapping (opens, window, settle)")
            return Flapping()
        for key in value:
            if key not in FLAPPING_KEYS:
                err(
                    ["flapping", key],
                    f"flapping: unknown key {key!r} (known: opens, window, settle)",
                )
        default = Flapping()
        opens = value.get("opens", default.opens)
        if not isinstance(opens, int) or isinstance(opens, bool) or opens < 2:
            err("flapping", "flapping.opens must be a whole number of at least 2")
            opens = default.opens
        window = self.duration(value, "window", err)
        settle = self.duration(value, "settle", err)
        return Flapping(
            opens=opens,
            window=default.window if window is None else window,
            settle=default.settle if settle is None else settle,
        )

    def summary(self, raw: Any, given: bool, err: Any) -> dict[str, Template]:
        if not given:
            return {
                "en": parse_template("{device.name}: {rule} ({metric} = {value})"),
                "zh": parse_template("{device.name}：{rule}（{metric} = {value}）"),
            }
        if isinstance(raw, str):
            raw = {"en": raw}
        if not isinstance(raw, LineDict | dict) or not raw:
            err("summary", "'summary' must map a language (zh, en) to a template")
            return {}
        out = {}
        for lang, text in raw.items():
            if lang not in LANGUAGES:
                err(
                    ["summary", lang],
                    f"summary: unknown language {lang!r} (known: {', '.join(LANGUAGES)})",
                )
                continue
            if not isinstance(text, str):
                err(["summary", lang], f"summary.{lang}: expected text")
                continue
            try:
                out[lang] = parse_template(text)
            except TemplateError as exc:
                err(["summary", lang], f"summary.{lang}: {exc}")
        for lang in LANGUAGES:  # a rule written in one language still speaks both
            if lang not in out and out:
                out[lang] = next(iter(out.values()))
        return out


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _level_key(key: Any) -> int | None:
    text = str(key).strip()
    if text == CRITICALITY_KEY:
        return CRITICALITY
    if text in ("1", "2", "3"):
        return int(text)
    return None
