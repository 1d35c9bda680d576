"""Summary templates: `"{device.name} 温度 {value:.1f}°C"`.

A small formatter of our own instead of `str.format`, which would let a rule file reach any
attribute of the objects passed to it. Only the fields below exist; an unknown field or a bad
format spec is an error when the rule file is loaded, not when the alert is sent. `{{` and `}}`
write literal braces. A numeric spec applied to a text value (a UPS status) writes the text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

FIELDS = (
    "value",
    "level",
    "rule",
    "group",
    "metric",
    "duration",
    "state",
    "device.id",
    "device.name",
    "device.site",
    "device.room",
    "device.kind",
    "device.criticality",
)
LABEL_PREFIXES = ("labels.", "device.labels.")

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Template:
    text: str
    parts: tuple[tuple[str, str, str], ...]  # (literal text before, field, spec); field "" = none

    def render(self, fields: Mapping[str, object]) -> str:
        out: list[str] = []
        for literal, name, spec in self.parts:
            out.append(literal)
            if not name:
                continue
            value = fields.get(name)
            if value is None:
                out.append("-")
                continue
            try:
                out.append(format(value, spec))
            except (ValueError, TypeError):
                out.append(str(value))
        return "".join(out)


def parse_template(text: str) -> Template:
    """Compile a template. Raises TemplateError naming the field and the known ones."""
    parts: list[tuple[str, str, str]] = []
    literal: list[str] = []
    pos = 0
    for m in _FIELD.finditer(text):
        literal.append(text[pos : m.start()])
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        if m.group(1) is None:
            raise TemplateError(
                f"unmatched {token!r} at column {m.start() + 1} (write {token * 2})"
            )
        name, _, spec = m.group(1).partition(":")
        name = name.strip()
        _check_field(name)
        try:
            format(1.5, spec)
        except ValueError:
            raise TemplateError(f"bad format {spec!r} for {{{name}}}") from None
        parts.append(("".join(literal), name, spec))
        literal = []
    literal.append(text[pos:])
    parts.append(("".join(literal), "", ""))
    return Template(text, tuple(parts))


def _check_field(name: str) -> None:
    if name in FIELDS:
        return
    for prefix in LABEL_PREFIXES:
        if name.startswith(prefix) and _NAME.fullmatch(name[len(prefix) :]):
            return
    known = ", ".join([*FIELDS, "labels.NAME", "device.labels.NAME"])
    raise TemplateError(f"unknown field {{{name}}} (known: {known})")
