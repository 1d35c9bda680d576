"""A file that is not UTF-8 (an editor saved it as GBK, or as UTF-16) is refused with the line
and column of the first bad byte, so the admin can find it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from core.textfile import NotUtf8Error, decode_utf8
from core.yamlsource import ConfigError, load_yaml
from probes.profile_files import ProfileFileError, read_profile


class _Profile(BaseModel):
    name: str


GBK_INVENTORY = "sites:\n  - id: bj\n    name: 北京机房\n".encode("gbk")


def test_a_gbk_inventory_names_the_line_and_column_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_bytes(GBK_INVENTORY)
    with pytest.raises(ConfigError) as caught:
        load_yaml(path)
    (item,) = caught.value.errors
    assert (item.line, item.col) == (3, 11)  # after '    name: '
    assert str(item).startswith(f"{path}:3:11: not UTF-8 text: byte 0xb1")
    assert "save the file as UTF-8" in str(item)


def test_the_column_counts_characters_not_bytes() -> None:
    data = "a: 机房\nb: 温度 ".encode() + b"\xff\n"
    with pytest.raises(NotUtf8Error) as caught:
        decode_utf8(data)
    assert (caught.value.line, caught.value.col) == (2, 7)


def test_utf16_is_named_as_such() -> None:
    with pytest.raises(NotUtf8Error, match="UTF-16"):
        decode_utf8("a: 1\n".encode("utf-16"))


def test_a_profile_in_another_encoding_says_where(tmp_path: Path) -> None:
    path = tmp_path / "vendor.yaml"
    path.write_bytes(b"name: vendor\n# \xc0\xe4\n")
    with pytest.raises(ProfileFileError, match=rf"^{path}:2:3: not UTF-8 text"):
        read_profile(path, _Profile)
