"""The YAML examples in the alerting docstrings are valid configuration, and a mistake in any
registered channel's entry is reported with the file, the line of the key and what is wrong."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import alerting.config
from alerting.config import AlertingConfig
from alerting.notifiers import notifier_classes
from core.yamlsource import ConfigError, parse_yaml, validate


def _yaml_block(doc: str, first: str) -> str:
    """The indented block of `doc` that starts with a line beginning with `first`, up to a
    blank line or a line indented less."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(first))
    indent = len(lines[start]) - len(lines[start].lstrip())
    block = []
    for line in lines[start:]:
        if not line.strip() or len(line) - len(line.lstrip()) < indent:
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


def test_config_module_example_validates() -> None:
    data = yaml.safe_load(_yaml_block(alerting.config.__doc__ or "", "alerting:"))
    config = AlertingConfig.model_validate(data["alerting"])
    assert [n.type for n in config.notifiers] == ["log", "file", "email", "dingtalk"]


@pytest.mark.parametrize("kind", list(notifier_classes()))
def test_each_channel_docstring_example_validates(kind: str) -> None:
    module = sys.modules[notifier_classes()[kind].__module__]
    data = yaml.safe_load(_yaml_block(module.__doc__ or "", "- type:"))
    config = AlertingConfig.model_validate({"notifiers": data})
    assert config.notifiers[0].type == kind


@pytest.mark.parametrize("kind", list(notifier_classes()))
def test_a_typo_in_any_channel_names_the_file_line_and_key(kind: str, tmp_path: Path) -> None:
    module = sys.modules[notifier_classes()[kind].__module__]
    example = _yaml_block(module.__doc__ or "", "- type:")
    entry = textwrap.indent(example, "  ") + "\n    colour: red\n"
    path = tmp_path / "roomwatch.yaml"
    text = "language: en\nnotifiers:\n" + entry
    with pytest.raises(ConfigError) as caught:
        validate(AlertingConfig, parse_yaml(text, path), path)
    [error] = caught.value.errors
    line = text.splitlines().index("    colour: red") + 1
    assert (error.file, error.line) == (str(path), line)
    assert error.message == "notifiers[0]: unknown key 'colour'"


def test_an_unknown_channel_type_lists_the_registered_ones(tmp_path: Path) -> None:
    path = tmp_path / "roomwatch.yaml"
    data = parse_yaml("notifiers:\n  - type: pager\n", path)
    with pytest.raises(ConfigError) as caught:
        validate(AlertingConfig, data, path)
    [error] = caught.value.errors
    assert error.line == 2
    # in the admin's words, no longer pydantic's "found using 'type' does not match any of the
    # expected tags"
    known = ", ".join(notifier_classes())
    assert f"notifiers[0]: unknown type 'pager' (known: {known})" in str(error)
    data = parse_yaml("notifiers:\n  - type: emial\n", path)
    with pytest.raises(ConfigError, match="did you mean 'email'"):
        validate(AlertingConfig, data, path)
