"""The README's first roomwatch.yaml and inventory.yaml examples are valid files: a newcomer
copies them first (`roomwatch check` on them must pass)."""

from __future__ import annotations

import re
from pathlib import Path

from collector.loading import load_all

README = Path(__file__).resolve().parents[2] / "README.md"


def _example(first_line: str) -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if b.startswith(first_line + "\n"))


def test_the_readme_config_and_inventory_examples_pass_check(tmp_path: Path) -> None:
    config = _example("# roomwatch.yaml").replace("/var/lib/roomwatch", str(tmp_path / "state"))
    (tmp_path / "roomwatch.yaml").write_text(config, encoding="utf-8")
    (tmp_path / "inventory.yaml").write_text(_example("# inventory.yaml"), encoding="utf-8")
    (tmp_path / "rules").mkdir()
    credentials = tmp_path / "credentials.yaml"
    credentials.write_text("core-snmp:\n  community: public\n", encoding="utf-8")
    credentials.chmod(0o600)
    loaded = load_all(tmp_path / "roomwatch.yaml")
    assert set(loaded.inventory.devices) >= {"core-sw1", "intranet"}
    assert loaded.inventory.devices["intranet"].parent == "core-sw1"
