"""Validation and YAML errors in an admin's words.

pydantic and PyYAML speak to programmers: "Input should be a valid dictionary or instance of
ApiSettings", "String should match pattern '^https?://'", "expected <block end>, but found
'<block mapping start>'". An admin editing a file needs to know what is wrong, where, and what
would be right, with a did-you-mean for a misspelt key or value. This module turns one error
of either library into such a sentence; the position comes from the caller."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

# Patterns our settings use, said in words. A pattern not listed here is shown as it is.
_PATTERNS = {
    "^https?://": "must start with http:// or https://",
    "^(GET|HEAD|POST)$": "must be GET, HEAD or POST",
}
# Keys whose values are never repeated in an error: they may hold a secret.
_SECRET_WORDS = ("password", "passwd", "secret", "token", "key", "community", "auth", "priv")


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" for the closest choice, or ""."""
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _shown(value: Any, key: object) -> str:
    if isinstance(key, str) and any(w in key.lower() for w in _SECRET_WORDS):
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f" (found {_number(value)})"
    if isinstance(value, dict):
        return " (found a mapping)"
    if isinstance(value, list):
        return " (found a list)"
    text = repr(value)
    return f" (found {text if len(text) <= 60 else text[:57] + '...'})"


def _kind_of(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) <= 40 else "a text"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return type(value).__name__


def validation_message(err: Any, known_keys: Sequence[str] = ()) -> str:
    """The sentence for one pydantic error (`ValidationError.errors()` item). `known_keys`: the
    keys allowed where an unknown key was found, for the did-you-mean."""
    kind = err["type"]
    loc = err.get("loc") or ()
    key = loc[-1] if loc else None
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"unknown key {key!r}{did_you_mean(key, known_keys)}"
    if kind == "missing":
        return f"missing required key {key!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected settings here (indented `key: value` lines), found {_kind_of(value)}"
    if kind in ("list_type", "tuple_type", "set_type"):
        return f"expected a list here (`- item` lines or [a, b]), found {_kind_of(value)}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        said = _PATTERNS.get(pattern, f"must match the pattern {pattern}")
        return f"{said}{_shown(value, key)}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        hint = did_you_mean(value, choices)
        return f"must be one of {', '.join(choices) or expected}{_shown(value, key)}{hint}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{_shown(value, key)}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number{_shown(value, key)}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{_shown(value, key)}"
    if kind in ("string_type", "str_type"):
        return (
            f"must be a text (quote it if it looks like a number or true/false){_shown(value, key)}"
        )
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {
            "greater_than": ("more than", "gt"),
            "greater_than_equal": ("at least", "ge"),
            "less_than": ("less than", "lt"),
            "less_than_equal": ("at most", "le"),
        }[kind]
        return f"must be {words[0]} {_number(ctx.get(words[1]))}{_shown(value, key)}"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        return (
            str(err.get("msg", kind))
            .replace("Value should", "must")
            .replace("String should", "must")
        )
    if kind == "union_tag_invalid":
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = ctx.get("tag")
        return f"unknown type {tag!r} (known: {', '.join(tags)}){did_you_mean(tag, tags)}"
    if kind == "union_tag_not_found":
        return f"missing required key {ctx.get('discriminator', 'type')!r}".replace("\"'", "'")
    message = str(err.get("msg", kind))
    # Our own validators' ValueErrors already speak to the admin; drop pydantic's prefix.
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def known_keys(model: type[BaseModel] | None, loc: Sequence[Any]) -> list[str]:
    """The keys a settings model allows at `loc` (the location of an unknown key), following
    nested models, lists and mappings of them and unions; [] when it cannot be told."""
    annotation: Any = model
    for part in loc[:-1]:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    return sorted(_fields(annotation))


def _fields(annotation: Any) -> set[str]:
    out: set[str] = set()
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            out.update(info.alias or name for name, info in member.model_fields.items())
    return out


def _members(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _members(a)]
    return [annotation]


def _step(annotation: Any, part: Any) -> Any:
    for member in _members(annotation):
        origin = typing.get_origin(member)
        args = typing.get_args(member)
        if isinstance(part, int) and origin in (list, tuple, set, frozenset) and args:
            return args[0]
        if isinstance(part, str) and origin is dict and len(args) == 2:
            return args[1]
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get(part) if isinstance(part, str) else None
            if field is not None:
                return field.annotation
    return None


# PyYAML's parser messages, said in words.
_YAML = (
    (
        "expected <block end>, but found",
        "the indentation does not line up: this line is indented differently from the lines"
        " above it at the same level (YAML needs the same number of spaces for each key of"
        " one mapping, and for each `-` item of one list)",
    ),
    (
        "mapping values are not allowed here",
        "a ':' where YAML does not expect one: a value that contains ': ' must be quoted"
        " (name: \"a: b\"), or the line above lacks its ':'",
    ),
    (
        "could not find expected ':'",
        "a line without 'key: value' inside a mapping: add the ':' after the key, or quote"
        " the text",
    ),
    (
        "found undefined alias",
        "a '*' starts an alias in YAML: quote a value that begins with '*'",
    ),
    (
        "found character '@' that cannot start any token",
        "a value cannot begin with '@' or '`' unquoted: quote it",
    ),
    (
        "found duplicate anchor",
        "an '&' starts an anchor in YAML: quote a value that begins with '&'",
    ),
)


def yaml_message(problem: str, context: str | None) -> str:
    """PyYAML's problem (and context) in words; its own text when there is nothing better."""
    for needle, words in _YAML:
        if needle in problem:
            return words
    if "'\\t'" in problem:
        return f"{problem} (YAML indents with spaces; replace the tab)"
    return f"{context}: {problem}" if context else problem
