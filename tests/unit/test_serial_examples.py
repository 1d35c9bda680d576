"""The YAML example in each probe module's docstring (serial, Modbus, Megatec, NUT) is a valid
inventory entry for that probe, and the registry finds every one of them."""

from __future__ import annotations

import re

import pytest
import yaml

from probes import megatec, modbus, nut, serial_line
from probes.base import secret_fields
from probes.registry import probe_class

MODULES = [megatec, modbus, nut, serial_line]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_example_validates(module: object) -> None:
    doc = getattr(module, "__doc__", "") or ""
    block = re.search(r"```yaml\n(.*?)```", doc, re.S)
    assert block is not None, "module docstring has no YAML example"
    entries = yaml.safe_load(block.group(1))["probes"]
    assert entries
    for entry in entries:
        model = probe_class(entry["type"]).settings_model
        settings = model.model_validate(entry)
        # an example never shows a secret inline: they come from the credentials file
        assert not any(getattr(settings, name) for name in secret_fields(model))


@pytest.mark.parametrize(
    ("type_name", "target", "key"),
    [
        ("modbus-tcp", "127.0.0.1:5020", "address"),
        ("modbus-rtu", "/dev/ttyUSB0", "port"),
        ("megatec", "/dev/ttyS0", "port"),
        ("nut", "127.0.0.1:3493", "address"),
        ("serial-line", "/dev/ttyUSB1", "port"),
    ],
)
def test_cli_target_maps_to_the_right_setting(type_name: str, target: str, key: str) -> None:
    cls = probe_class(type_name)
    assert cls.type_name == type_name
    assert cls.cli_target(target) == {key: target}


def test_nut_password_is_a_secret_field() -> None:
    assert secret_fields(probe_class("nut").settings_model) == {"password"}
