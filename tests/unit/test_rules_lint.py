"""`roomwatch check` warns about a rule on a metric that no probe of the devices it selects can
produce (a rule on `http.upp` never fires, and nobody would know), with a did-you-mean; a rule
marked `custom: true` watches a metric from elsewhere and is not checked."""

from __future__ import annotations

from pathlib import Path

from inventory import Credentials
from inventory import load_inventory as _load_inventory
from rules.lint import lint_rules
from rules.loader import load_rules

REPO = Path(__file__).resolve().parents[2]


def load_inventory(path: Path):  # type: ignore[no-untyped-def]
    return _load_inventory(path, Credentials({"lab": {"community": "public"}}))


INVENTORY = """
devices:
  - id: web1
    kind: website
    probes:
      - {type: http, url: "https://intranet.example.org/"}
  - id: core-sw1
    kind: switch
    probes:
      - {type: snmp, address: 10.0.0.2, credentials: lab, profile: [system, if-mib]}
  - id: ups1
    kind: ups
    probes:
      - {type: snmp, address: 10.0.0.3, credentials: lab, profile: auto}
  - id: ups2
    kind: ups
    probes:
      - {type: nut, address: "10.0.0.4:3493", ups: ups2}
  - id: th1
    kind: sensor
    probes:
      - {type: modbus-tcp, address: "10.0.0.5:502", unit: 1, profile: xy-md02}
  - id: srv1
    kind: server
    probes:
      - {type: local}
"""


def findings(tmp_path: Path, rules: str) -> list[str]:
    (tmp_path / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(rules, encoding="utf-8")
    inventory = load_inventory(tmp_path / "inventory.yaml")
    return [str(f) for f in lint_rules(load_rules([tmp_path / "rules.yaml"], inventory), inventory)]


def rule(name: str, select: str, metric: str, extra: str = "") -> str:
    return (
        f"      - name: {name}\n        select: {select}\n        metric: {metric}\n"
        f'        levels: {{2: "> 0"}}\n{extra}'
    )


def test_a_misspelt_metric_is_found_with_a_did_you_mean(tmp_path: Path) -> None:
    (found,) = findings(
        tmp_path, "groups:\n  - name: g\n    rules:\n" + rule("r", "{kind: website}", "http.upp")
    )
    assert "g, r: no probe of the 1 device(s) it selects produces metric 'http.upp'" in found
    assert "(did you mean 'http.up'?)" in found
    assert "custom: true" in found


def test_what_the_probes_and_their_profiles_produce_is_not_flagged(tmp_path: Path) -> None:
    rules = "groups:\n  - name: g\n    rules:\n" + "".join(
        [
            rule("a", "{kind: switch}", "ifOperStatus"),
            rule("b", "{kind: switch}", "rate(ifHCInOctets)"),
            rule("c", "{kind: ups}", "battery.charge"),  # UPS-MIB profile and NUT
            rule("d", "{kind: sensor}", "ambient.temperature"),  # the Modbus profile
            rule("e", "{kind: sensor}", "modbus.garbled_answers"),  # bus health
            rule("f", "{kind: server}", "disk.used_percent"),
            rule("g", "{}", "device.up"),
            rule("h", "{kind: website}", "tls.cert_expiry_days"),
        ]
    )
    assert findings(tmp_path, rules) == []


def test_a_metric_of_another_kind_of_device_is_flagged(tmp_path: Path) -> None:
    (found,) = findings(
        tmp_path,
        "groups:\n  - name: g\n    rules:\n" + rule("r", "{kind: sensor}", "ambient.humidty"),
    )
    assert "'ambient.humidty' (did you mean 'ambient.humidity'?)" in found


def test_custom_marks_a_metric_from_elsewhere(tmp_path: Path) -> None:
    rules = "groups:\n  - name: g\n    rules:\n" + rule(
        "r", "{kind: website}", "myapp.queue_depth", "        custom: true\n"
    )
    assert findings(tmp_path, rules) == []


def test_the_shipped_example_rules_raise_no_metric_warning(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    inventory = load_inventory(tmp_path / "inventory.yaml")
    ruleset = load_rules([REPO / "examples" / "rules"], inventory)
    metric_findings = [
        str(f) for f in lint_rules(ruleset, inventory) if "produces metric" in str(f)
    ]
    assert metric_findings == []


def test_check_leaves_out_rules_that_select_no_device_yet(tmp_path: Path) -> None:
    # a starter rule set has rules for kinds the room has not got yet: `rules check` says so,
    # `roomwatch check` (which only warns about metrics nothing produces) does not
    rules = "groups:\n  - name: g\n    rules:\n" + rule("r", "{kind: pdu}", "outlet.current")
    assert len(findings(tmp_path, rules)) == 1
    inventory = load_inventory(tmp_path / "inventory.yaml")
    ruleset = load_rules([tmp_path / "rules.yaml"], inventory)
    assert lint_rules(ruleset, inventory, unselected=False) == []
