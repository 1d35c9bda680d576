"""Every registered probe honours the probe contract (STYLE.md checklist): a YAML example in
its module docstring that its own settings model accepts, a CLI target mapping, and secrets
kept out of `repr`."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
import yaml

from probes.base import Probe, secret_fields
from probes.registry import known_types, probe_class

YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)


def _entries(node: Any, type_name: str) -> list[dict[str, Any]]:
    """Probe entries of `type_name` anywhere in an example (a list of entries, a device with
    `probes:`, a whole inventory)."""
    if isinstance(node, dict):
        found = [node] if node.get("type") == type_name else []
        return found + [e for v in node.values() for e in _entries(v, type_name)]
    if isinstance(node, list):
        return [e for v in node for e in _entries(v, type_name)]
    return []


@pytest.mark.parametrize("type_name", known_types())
def test_probe_docstring_example_is_valid_settings(type_name: str) -> None:
    cls = probe_class(type_name)
    module = importlib.import_module(cls.__module__)
    blocks = YAML_BLOCK.findall(module.__doc__ or "")
    assert blocks, f"{cls.__module__} has no ```yaml example in its docstring"
    ours = [e for block in blocks for e in _entries(yaml.safe_load(block), type_name)]
    assert ours, f"no example entry of type {type_name} in {cls.__module__}"
    for entry in ours:
        cls.settings_model.model_validate(entry)


@pytest.mark.parametrize("type_name", known_types())
def test_probe_class_is_registered_under_its_own_name(type_name: str) -> None:
    cls = probe_class(type_name)
    assert issubclass(cls, Probe)
    assert cls.type_name == type_name


@pytest.mark.parametrize("type_name", known_types())
def test_secret_settings_never_appear_in_repr(type_name: str) -> None:
    model = probe_class(type_name).settings_model
    for name in secret_fields(model):
        assert model.model_fields[name].repr is False, f"{type_name}.{name} shows in repr"
