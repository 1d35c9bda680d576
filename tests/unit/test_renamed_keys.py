"""A renamed config key: read under its old name for one release, with a warning naming the
file and line; both names at once is an error (docs/upgrade.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector import renamed_keys
from collector.config import load_config
from collector.loading import load_all
from collector.renamed_keys import Rename
from core.yamlsource import ConfigError


@pytest.fixture
def bind_renamed(monkeypatch: pytest.MonkeyPatch) -> None:
    # as if api.listen had been called api.bind in the release before
    monkeypatch.setattr(renamed_keys, "RENAMED", {("api", "bind"): Rename("listen", "0.3")})


def config(tmp_path: Path, api: str) -> Path:
    (tmp_path / "inventory.yaml").write_text("devices: []\n", encoding="utf-8")
    path = tmp_path / "roomwatch.yaml"
    path.write_text(
        f"inventory: inventory.yaml\nrules: []\nstate_dir: state\napi:\n{api}", encoding="utf-8"
    )
    return path


@pytest.mark.usefixtures("bind_renamed")
def test_the_old_name_still_works_and_says_where_it_is(tmp_path: Path) -> None:
    path = config(tmp_path, '  bind: "127.0.0.1:9999"\n')
    loaded = load_config(path)
    assert loaded.api.listen == "127.0.0.1:9999"
    assert loaded.warnings == [
        f"{path}:5: 'api.bind' is now 'listen' (the old name is read until roomwatch 0.3;"
        " rename it)"
    ]
    assert loaded.warnings[0] in load_all(path).warnings  # roomwatch check and the daemon say it


@pytest.mark.usefixtures("bind_renamed")
def test_both_names_are_an_error_naming_the_line(tmp_path: Path) -> None:
    path = config(tmp_path, '  bind: "127.0.0.1:1"\n  listen: "127.0.0.1:2"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (item,) = caught.value.errors
    assert (item.line, "keep only listen" in item.message) == (5, True)


def test_no_rename_is_pending_that_should_be_gone() -> None:
    # an entry lives one release: this fails as a reminder when the version passes it
    from importlib.metadata import version

    current = tuple(int(p) for p in version("roomwatch").split(".")[:2])
    for keys, rename in renamed_keys.RENAMED.items():
        until = tuple(int(p) for p in rename.until.split(".")[:2])
        assert current < until, f"{'.'.join(keys)}: remove the old name (until {rename.until})"
