"""Translations: every sentence roomwatch shows a person, in English and Chinese, by key.

The words are data, one catalogue per language (`core/locale/en.yaml`, `core/locale/zh.yaml`),
read once on first use. A catalogue has sections (`report`, `message`, `notice`, `status`),
each mapping keys to texts; a full key names both, as in `t("report.sla", "zh")`. A text's
placeholders are `str.format` fields (`"{n} devices"`) filled from `t`'s keyword arguments.

A key missing in a language falls back to English, and one missing in English too is shown as
the key itself: a new English string never breaks a Chinese report, it shows up in English,
visibly. `tests/unit/test_i18n.py` keeps the two catalogues at parity (the same keys, the same
placeholders), so the fallback is a safety net, not a way of working.

It lives in the kernel, and as one catalogue rather than one per room, because alerting
(messages, reports) and collector (the status page) both show these words and share some of
them; a translator works on one pair of files."""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from importlib import resources

from core.yamlsource import ConfigError, LineDict, parse_yaml

LANGUAGES = ("zh", "en")  # the codes of the config files (`language: zh`)
FALLBACK = "en"
_TAGS = {"zh": "zh-CN", "en": "en"}  # BCP 47, for <html lang=…>


def language_tag(language: str) -> str:
    """The tag a page declares for `language` (`zh-CN`), English for one we do not have."""
    return _TAGS.get(language, _TAGS[FALLBACK])


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """Every text of one language by full key (`section.key`); {} for a language we lack."""
    if language not in LANGUAGES:
        return {}
    name = f"{language}.yaml"
    source = resources.files("core.locale").joinpath(name).read_text(encoding="utf-8")
    return _flatten(parse_yaml(source, f"core/locale/{name}"), f"core/locale/{name}")


def _flatten(data: object, file: str) -> dict[str, str]:
    if not isinstance(data, LineDict):
        raise ConfigError.single(file, "a catalogue is a mapping of sections (report: …)")
    out: dict[str, str] = {}
    for section, entries in data.items():
        line, col = data.positions[section]
        if not isinstance(entries, LineDict):
            raise ConfigError.single(file, f"section `{section}` must map keys to texts", line, col)
        for key, text in entries.items():
            line, col = entries.positions[key]
            if not isinstance(text, str):
                raise ConfigError.single(
                    file, f"`{section}.{key}` must be a text in quotes, not {text!r}", line, col
                )
            out[f"{section}.{key}"] = text
    return out


def lookup(key: str, language: str) -> str | None:
    """The text of `key` in `language`, else in English; None when neither has it (for a
    caller that shows something of its own then, such as a state's stored name)."""
    return catalogue(language).get(key) or catalogue(FALLBACK).get(key)


def has_key(key: str) -> bool:
    """Whether the catalogue knows `key` (in English, which has every key)."""
    return key in catalogue(FALLBACK)


def t(key: str, language: str, /, **params: object) -> str:
    """The text of `key` in `language` (English if it lacks one, the key itself if English
    does too) with its placeholders filled from `params`."""
    text = lookup(key, language)
    return key if text is None else text.format(**params)


def section(name: str, language: str) -> dict[str, str]:
    """Every text of one section by its short key (`title` for `status.title`), English
    filling any gap: for a template that takes its words as one mapping."""
    prefix = f"{name}."
    keys = [k for k in catalogue(FALLBACK) if k.startswith(prefix)]
    keys += [k for k in catalogue(language) if k.startswith(prefix) and k not in keys]
    return {k[len(prefix) :]: lookup(k, language) or "" for k in keys}


def placeholders(text: str) -> set[str]:
    """The names of the fields in `text` (`{n}` → {"n"}); raises ValueError on a stray brace."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
