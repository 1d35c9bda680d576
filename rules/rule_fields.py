"""Each key of a rule, from its YAML value to the model's value (DESIGN.md §6): the metric,
`select`, `where`, `levels`, a condition, a duration, a level, `flapping` and `summary`.

A reader reports what is wrong through `err(key, message)`, `key` the path to point at
(`levels.1` points at its `1:` key; None: the rule itself), and returns a harmless default so
the rest of the rule is still checked: every error of a file is listed at once. loader.py
reads the files, groups and rules and checks how the keys go together."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from core.durations import parse_duration
from core.wording import did_you_mean
from core.yamlsource import LineDict
from inventory.model import KINDS, Inventory, Selector
from rules.conditions import Condition, ConditionError, parse_condition
from rules.expression import Expression, ExpressionError, is_expression, parse_expression
from rules.model import CRITICALITY, LANGUAGES, Flapping
from rules.template import Template, TemplateError, parse_template

#: err(key, message): `key` a rule key, a path of keys, or None for the rule itself
FieldError = Callable[[str | Sequence[str] | None, str], None]

SELECT_KEYS = ("kind", "site", "id", "tags", "labels")
FLAPPING_KEYS = ("opens", "window", "settle")
CRITICALITY_KEY = "device.criticality"
_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_RATE = re.compile(r"rate\(\s*([^()\s]+)\s*\)")


def read_metric(raw: Any, err: FieldError) -> tuple[str | None, bool, Expression | None]:
    """`metric`: a name, rate(name) or an expression. Returns (metric, rate, expression)."""
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


def read_selector(raw: Any, err: FieldError, inventory: Inventory | None) -> Selector:
    """`select`; its sites are checked against the inventory when one is given."""
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
    if inventory is not None and inventory.sites:
        for site in values.get("site", ()):
            if site not in inventory.sites:
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


def read_where(raw: Any, err: FieldError) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`where`: sample label name → globs."""
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


def read_levels(raw: Any, err: FieldError) -> tuple[tuple[int, Condition], ...]:
    """`levels`: level → condition, most severe first, device.criticality last."""
    if raw is None:
        return ()
    if not isinstance(raw, LineDict) or not raw:
        err("levels", "'levels' must map a level (1, 2, 3 or device.criticality) to a condition")
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


def read_condition(raw: LineDict, key: str, err: FieldError) -> Condition | None:
    """A condition such as `clear: < 26` (None when the key is not written)."""
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


def read_duration(raw: LineDict, key: str, err: FieldError) -> float | None:
    """A duration in seconds (None when the key is not written)."""
    if key not in raw:
        return None
    try:
        return parse_duration(raw[key])
    except (ValueError, TypeError) as exc:
        err(key, f"{key}: {exc}")
        return None


def read_level(raw: LineDict, key: str, err: FieldError) -> int:
    """A level: 1, 2, 3 or device.criticality (the default)."""
    if key not in raw:
        return CRITICALITY
    level = _level_key(raw[key])
    if level is None:
        err(key, f"{key}: expected 1, 2, 3 or device.criticality")
        return CRITICALITY
    return level


def read_flapping(raw: LineDict, err: FieldError) -> Flapping | None:
    """`flapping`: on by default, `off`, or its settings (None: off)."""
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
    window = read_duration(value, "window", err)
    settle = read_duration(value, "settle", err)
    return Flapping(
        opens=opens,
        window=default.window if window is None else window,
        settle=default.settle if settle is None else settle,
    )


def read_summary(raw: Any, given: bool, err: FieldError) -> dict[str, Template]:
    """`summary`: language → template, or one text (English); both languages always."""
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
