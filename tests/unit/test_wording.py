"""pydantic's and PyYAML's errors said in an admin's words (core/wording.py)."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.wording import did_you_mean, known_keys, validation_message, yaml_message


class Api(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listen: str = Field(default="127.0.0.1:8765", pattern="^https?://")
    language: Literal["zh", "en"] = "zh"
    port: int = Field(default=1, ge=1, le=65535)


class Main(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api: Api = Api()
    sinks: list[Api] = []
    password: str = Field(default="x", pattern="^[a-z]+$")


def messages(data: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        Main.model_validate(data)
    return [
        validation_message(err, known_keys(Main, err["loc"]))
        for err in caught.value.errors(include_url=False)
    ]


def test_a_scalar_where_settings_belong_is_not_an_instance_of_a_class() -> None:
    assert messages({"api": "yes"}) == [
        "expected settings here (indented `key: value` lines), found the text 'yes'"
    ]


def test_a_misspelt_key_gets_a_did_you_mean_also_inside_a_list() -> None:
    assert messages({"api": {"lisen": "x"}}) == ["unknown key 'lisen' (did you mean 'listen'?)"]
    assert messages({"sinks": [{"langauge": "en"}]}) == [
        "unknown key 'langauge' (did you mean 'language'?)"
    ]
    assert messages({"nonsense": 1}) == ["unknown key 'nonsense'"]


def test_choices_bounds_and_patterns_say_what_would_be_right() -> None:
    assert messages({"api": {"language": "cn"}}) == ["must be one of zh, en (found 'cn')"]
    assert messages({"api": {"port": 70000}}) == ["must be at most 65535 (found 70000)"]
    assert messages({"api": {"listen": "ftp://x"}}) == [
        "must start with http:// or https:// (found 'ftp://x')"
    ]


def test_a_secret_is_never_repeated_in_an_error() -> None:
    (message,) = messages({"password": "Hunter2!"})
    assert "Hunter2" not in message


def test_yaml_words() -> None:
    assert "indentation does not line up" in yaml_message(
        "expected <block end>, but found '<block mapping start>'", "while parsing a block mapping"
    )
    assert yaml_message("something new", "while parsing") == "while parsing: something new"


def test_did_you_mean_only_when_close() -> None:
    assert did_you_mean("swich", ["switch", "router"]) == " (did you mean 'switch'?)"
    assert did_you_mean("zzz", ["switch", "router"]) == ""
