"""Findings about rules that are not errors but deserve a look (`roomwatch check`,
`roomwatch rules check`): a rule that selects no device, and a rule on a metric that no probe
of the devices it selects can produce."""

from __future__ import annotations

from core.wording import did_you_mean
from core.yamlsource import ErrorItem
from inventory.metrics import MetricNames, device_metric_names
from inventory.model import Inventory
from rules.model import RuleSet


def lint_rules(
    ruleset: RuleSet, inventory: Inventory, *, unselected: bool = True
) -> list[ErrorItem]:
    """Findings that are not errors but deserve a look: rules that select no device (unless
    `unselected` is False: a starter rule set for kinds the room has not got yet is no
    mistake), and rules on a metric that no probe of the devices they select can produce (a
    rule on `http.upp` would never fire, and nobody would know)."""
    findings = []
    produced: dict[str, MetricNames] = {}
    for rule in ruleset:
        devices = inventory.select(rule.selector)
        if not devices:
            if not unselected:
                continue
            findings.append(
                ErrorItem(
                    rule.file, rule.line, rule.col, f"{rule.group}, {rule.name}: selects no device"
                )
            )
            continue
        if rule.custom:
            continue
        can = MetricNames.union(
            produced.get(d.id) or produced.setdefault(d.id, device_metric_names(d)) for d in devices
        )
        for metric in rule.metrics:
            if not can.covers(metric):
                findings.append(
                    ErrorItem(
                        rule.file,
                        rule.line,
                        rule.col,
                        f"{rule.group}, {rule.name}: no probe of the {len(devices)} device(s) it"
                        f" selects produces metric {metric!r}{did_you_mean(metric, can.names)};"
                        " for a metric from elsewhere (a trap, another tool), add `custom: true`",
                    )
                )
    return findings
