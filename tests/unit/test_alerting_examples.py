"""The YAML examples in the alerting docstrings are valid configuration."""

from __future__ import annotations

import sys
import textwrap

import pytest
import yaml

import alerting.config
from alerting.config import AlertingConfig
from alerting.notifiers import notifier_classes


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
