"""The translation catalogues: both languages say everything with the same placeholders, a gap
falls back to English, and every key the code asks for exists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.i18n import (
    FALLBACK,
    LANGUAGES,
    _flatten,
    catalogue,
    language_tag,
    lookup,
    placeholders,
    section,
    t,
)
from core.yamlsource import ConfigError, parse_yaml

REPO = Path(__file__).resolve().parents[2]
CODE = ("core", "probes", "inventory", "rules", "alerting", "collector")
LOOKUPS = {"t", "lookup", "has_key"}
PREFIXED = {"_w": "message."}  # alerting/messages.py's shorthand for t("message.…")


def test_every_language_has_every_key() -> None:
    english = set(catalogue(FALLBACK))
    for language in LANGUAGES:
        assert set(catalogue(language)) == english, language


def test_both_languages_have_the_same_placeholders() -> None:
    mismatched = [
        f"{key}: en {sorted(placeholders(text))}, {language} {sorted(placeholders(theirs))}"
        for key, text in catalogue(FALLBACK).items()
        for language in LANGUAGES
        if placeholders(text) != placeholders(theirs := catalogue(language)[key])
    ]
    assert not mismatched, "\n".join(mismatched)


def test_no_text_is_empty() -> None:
    empty = [f"{lang}: {k}" for lang in LANGUAGES for k, v in catalogue(lang).items() if not v]
    assert not empty


def test_a_gap_falls_back_to_english_and_an_unknown_key_shows_itself() -> None:
    assert t("report.opened", "zh") == "故障数（按发生次数）"
    assert t("report.opened", "fr") == "Faults opened (occurrences)"
    assert t("report.no-such-word", "zh") == "report.no-such-word"
    assert lookup("report.no-such-word", "zh") is None
    assert language_tag("zh") == "zh-CN" and language_tag("fr") == "en"


def test_placeholders_are_filled() -> None:
    assert t("message.devices", "en", n=3) == "3 devices"
    assert t("message.devices", "zh", n=3) == "3 台设备"
    with pytest.raises(KeyError):
        t("message.devices", "en")  # a template asked for without its value is a bug


def test_a_section_is_a_mapping_of_short_keys() -> None:
    words = section("status", "zh")
    assert words["title"] == "机房状态"
    assert set(words) == set(section("status", "fr"))  # a language we lack: English


def _keys_asked_for(path: Path) -> list[tuple[int, str, bool]]:
    """(line, key or key prefix, whether it is only a prefix) of every lookup call."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
            continue
        name, arg = node.func.id, node.args[0]
        if name not in LOOKUPS and name not in PREFIXED:
            continue
        prefix = PREFIXED.get(name, "")
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            found.append((node.lineno, prefix + arg.value, False))
        elif isinstance(arg, ast.JoinedStr) and arg.values:
            first = arg.values[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, prefix + first.value, True))
        elif isinstance(arg, ast.IfExp):  # t("a" if x else "b", lang)
            for branch in (arg.body, arg.orelse):
                if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                    found.append((node.lineno, prefix + branch.value, False))
    return found


def test_every_key_the_code_asks_for_exists() -> None:
    known = set(catalogue(FALLBACK))
    missing, asked = [], 0
    for package in CODE:
        for path in sorted((REPO / package).rglob("*.py")):
            for line, key, is_prefix in _keys_asked_for(path):
                asked += 1
                hit = any(k.startswith(key) for k in known) if is_prefix else key in known
                if not hit:
                    missing.append(f"{path.relative_to(REPO)}:{line}: {key}")
    assert not missing, "\n".join(missing)
    assert asked > 50  # the scan does see the code's lookups


def test_a_malformed_catalogue_names_file_and_line() -> None:
    data = parse_yaml("report:\n  title: [not, text]\n", "core/locale/xx.yaml")
    with pytest.raises(ConfigError, match=r"xx\.yaml:2:3: `report\.title` must be a text"):
        _flatten(data, "core/locale/xx.yaml")
    with pytest.raises(ConfigError, match="duplicate key 'title'"):
        parse_yaml("report:\n  title: a\n  title: b\n", "core/locale/xx.yaml")
