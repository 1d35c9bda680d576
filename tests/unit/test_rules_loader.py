"""Rule files: loading, every error at once with file:line:col, the condition grammar and
the summary templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory import ConfigError
from inventory.model import Selector
from rules.conditions import ConditionError, parse_condition
from rules.lint import lint_rules
from rules.loader import load_rules
from rules.model import CRITICALITY
from rules.template import TemplateError, parse_template
from tests.unit.rules_cases.helpers import inventory, rules_from

CASES = Path(__file__).parent / "rules_cases"


@pytest.mark.parametrize("case", sorted(p.stem for p in CASES.glob("*.yaml")))
def test_bad_rule_file_reports_every_error_with_its_position(case: str) -> None:
    expected = (CASES / f"{case}.expected").read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules([CASES / f"{case}.yaml"])
    got = "\n".join(str(e) for e in caught.value.errors).replace(f"{CASES}/", "")
    assert got + "\n" == expected


def test_errors_of_several_files_are_reported_together(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules([CASES / "not-groups.yaml", CASES / "broken-yaml.yaml"])
    files = {Path(e.file).name for e in caught.value.errors}
    assert files == {"not-groups.yaml", "broken-yaml.yaml"}


def test_directory_loads_its_yaml_files_but_not_subdirectories(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "broken.yaml").write_text("not: [rules", encoding="utf-8")
    rules_from(
        tmp_path,
        """
        groups:
          - name: web
            rules:
              - {name: website-down, metric: http.up, levels: {2: "== 0"}}
        """,
        "web.yaml",
    )
    ruleset = load_rules([tmp_path])
    assert [r.name for r in ruleset] == ["website-down"]


def test_full_rule_is_compiled(tmp_path: Path) -> None:
    ruleset = rules_from(
        tmp_path,
        """
        groups:
          - name: network
            rules:
              - name: uplink-errors
                select: {kind: [switch, router], site: dc1, id: "core-*", tags: [core], labels: {row: "A"}}
                metric: rate(ifInErrors)
                where: {ifName: ["Gi1/0/49", "Gi1/0/50"]}
                levels: {device.criticality: "> 100", 3: "> 10"}
                for: 1m
                clear: "< 5"
                clear_for: 2m
                hold: 30s
                escalate: 4h
                stale: 10m
                flapping: {opens: 5, window: 30m, settle: 5m}
                runbook: "Check the optics."
        """,
    )
    [rule] = ruleset
    assert (rule.metric, rule.rate, rule.metric_text) == ("ifInErrors", True, "rate(ifInErrors)")
    assert rule.selector == Selector(
        kind=("switch", "router"),
        site=("dc1",),
        id=("core-*",),
        tags=("core",),
        labels=(("row", "A"),),
    )
    assert [level for level, _ in rule.levels] == [3, CRITICALITY]
    assert (rule.for_s, rule.clear_for_s, rule.hold_s, rule.escalate_s, rule.stale_s) == (
        60,
        120,
        30,
        14400,
        600,
    )
    assert rule.flapping is not None and (rule.flapping.opens, rule.flapping.settle) == (5, 300)
    assert rule.wants_labels({"ifName": "Gi1/0/50"}) and not rule.wants_labels(
        {"ifName": "Gi1/0/1"}
    )
    assert set(rule.summary) == {"zh", "en"}


def test_unknown_site_is_an_error_when_the_inventory_is_given(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "groups:\n  - name: g\n    rules:\n      - {name: r, select: {site: dc9}, metric: x, levels: {1: '> 1'}}\n",
        encoding="utf-8",
    )
    load_rules([path])  # without an inventory, sites cannot be checked
    with pytest.raises(ConfigError, match=r"r.yaml:4:\d+: g, r: select.site: unknown site 'dc9'"):
        load_rules([path], inventory())


def test_lint_finds_rules_that_select_no_device(tmp_path: Path) -> None:
    ruleset = rules_from(
        tmp_path,
        """
        groups:
          - name: g
            rules:
              - {name: pdus, select: {kind: pdu}, metric: x, levels: {1: "> 1"}}
              - {name: ups, select: {kind: ups}, metric: x, levels: {1: "> 1"}}
        """,
    )
    [finding] = lint_rules(ruleset, inventory())
    assert str(finding) == f"{tmp_path / 'rules.yaml'}:5:9: g, pdus: selects no device"


@pytest.mark.parametrize(
    ("text", "true", "false"),
    [
        ("> 30", [31, 30.5, "31"], [30, 29, "hot", float("nan")]),
        (">= 30", [30], [29.9]),
        ("== 0", [0, 0.0, False, "0"], [1, True, "OB"]),
        ("!= 1", [0, 2], [1, True]),
        ("== OB", ["OB", " OB "], ["OB LB", "ob", 0]),
        ("contains LB", ["OB LB", "LB"], ["OBLB", "OB", 1]),
        ("not contains OL", ["OB DISCHRG", 5], ["OL CHRG"]),
        ("contains OB and not contains LB", ["OB DISCHRG"], ["OB LB", "OL"]),
        ("(contains OB or contains LB) and not contains CHRG", ["LB"], ["LB CHRG", "OL"]),
        ("> 10 and < 20 or == 99", [15, 99], [10, 20, 50]),
        ("== 'on battery'", ["on battery"], ["on"]),
        (0, [0], [1]),
    ],
)
def test_condition_grammar(text: str | int, true: list[object], false: list[object]) -> None:
    cond = parse_condition(text)
    for value in true:
        assert cond.test(value), (text, value)  # type: ignore[arg-type]
    for value in false:
        assert not cond.test(value), (text, value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty condition"),
        ("30", "expected a comparison"),
        ("> ", "missing value after '>'"),
        ("> 30 35", "unexpected '35' at column 6"),
        ("> hot", "> needs a number"),
        ("(> 3", "unexpected end"),
        ("__import__('os')", "expected a comparison"),
        ("> 3 &&", "unexpected '&&'"),
    ],
)
def test_bad_condition_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message.replace("(", r"\(")):
        parse_condition(text)


def test_template_renders_known_fields_only() -> None:
    t = parse_template("{device.name} {labels.ifName} {value:.1f}°C {{literal}}")
    assert (
        t.render({"device.name": "S1", "labels.ifName": "Gi1/0/1", "value": 31.25})
        == "S1 Gi1/0/1 31.2°C {literal}"
    )
    assert parse_template("{value:.1f}").render({"value": "OB LB"}) == "OB LB"
    assert parse_template("{labels.mount}").render({}) == "-"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{device.__class__}", "unknown field"),
        ("{value.__class__.__mro__}", "unknown field"),
        ("{0}", "unknown field"),
        ("{value:.1q}", "bad format"),
        ("{value", "unmatched"),
        ("value}", "unmatched"),
    ],
)
def test_bad_template_is_rejected_at_load(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        parse_template(text)


def test_hidden_files_in_a_rules_directory_are_not_rules(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "groups:\n  - name: g\n    rules:\n      - name: x\n        metric: device.up\n"
        '        levels: {2: "== 0"}\n',
        "utf-8",
    )
    (tmp_path / ".#r.yaml").symlink_to("root@host.1234:1700000000")  # an Emacs lock
    (tmp_path / "._r.yaml").write_bytes(b"\x00\x05\x16\x07")  # macOS resource fork
    assert [r.name for r in load_rules([tmp_path])] == ["x"]


def test_a_bad_operator_is_one_error_not_also_a_complaint_about_clear(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "groups:\n  - name: g\n    rules:\n      - name: r1\n        select: {kind: website}\n"
        '        metric: http.up\n        levels: {2: "=== 0"}\n        clear: "== 1"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_rules([path])
    (only,) = caught.value.errors
    assert "bad condition '=== 0'" in str(only)
