"""A reload that would remove a whole rule file or most rules needs an explicit confirmation;
an empty rule file is an error, `groups: []` is the way to say "no rules here" on purpose."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.yamlsource import ConfigError
from rules.loader import load_rules
from rules.removal import removal_to_confirm

RULE = """      - name: {name}
        select: {{kind: website}}
        metric: http.up
        levels: {{2: "== 0"}}
"""


def rule_file(path: Path, *names: str) -> Path:
    body = "groups:\n  - name: g\n    rules:\n" + "".join(RULE.format(name=n) for n in names)
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize("content", ["", "\n\n", "# all commented out\n# groups: []\n"])
def test_an_empty_rule_file_is_an_error_that_says_how_to_mean_it(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules([path])
    (item,) = caught.value.errors
    assert str(item).startswith(f"{path}:1:1: the rule file is empty")
    assert "groups: []" in str(item)


def test_a_file_that_says_no_rules_on_purpose_is_read_and_listed(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text("groups: []\n", encoding="utf-8")
    ruleset = load_rules([path])
    assert len(ruleset) == 0
    assert ruleset.files == (str(path),)


def test_a_file_gone_from_the_rule_paths_needs_confirmation(tmp_path: Path) -> None:
    a = rule_file(tmp_path / "a.yaml", "a1", "a2")
    b = rule_file(tmp_path / "b.yaml", "b1", "b2", "b3")
    old = load_rules([a, b])
    why = removal_to_confirm(old, load_rules([b]))
    assert why == f"it would remove all 2 rules of {a} (the file is gone from the rule paths)"


def test_emptying_a_file_on_purpose_needs_no_confirmation(tmp_path: Path) -> None:
    a = rule_file(tmp_path / "a.yaml", "a1")
    b = rule_file(tmp_path / "b.yaml", "b1", "b2", "b3")
    old = load_rules([a, b])
    a.write_text("groups: []\n", encoding="utf-8")
    assert removal_to_confirm(old, load_rules([a, b])) is None


def test_removing_most_rules_needs_confirmation_and_a_few_does_not(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    old = load_rules([rule_file(a, "r1", "r2", "r3", "r4", "r5")])
    assert removal_to_confirm(old, load_rules([rule_file(a, "r1", "r2", "r3")])) is None
    assert removal_to_confirm(old, load_rules([rule_file(a, "r1", "r2")])) == (
        "it would remove 3 of the 5 rules"
    )


def test_moving_rules_to_another_file_removes_nothing(tmp_path: Path) -> None:
    a = rule_file(tmp_path / "a.yaml", "r1", "r2")
    old = load_rules([a])
    a.unlink()
    assert removal_to_confirm(old, load_rules([rule_file(tmp_path / "b.yaml", "r1", "r2")])) is None
