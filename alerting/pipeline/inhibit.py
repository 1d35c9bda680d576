"""Inhibit: while a more important incident is open, related minor ones are not told."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from alerting.config import InhibitRule
from alerting.store import Incident


def _matches(rule_name: str, level: int, globs: list[str], levels: list[int]) -> bool:
    return level in levels and any(fnmatchcase(rule_name, g) for g in globs)


def candidate_rules(target: Incident, rules: Iterable[InhibitRule]) -> list[InhibitRule]:
    """The inhibit rules that could silence `target` (so the store is asked only then)."""
    return [
        r for r in rules if _matches(target.rule, target.level, r.target_rules, r.target_levels)
    ]


def inhibited_by(
    target: Incident, active: Iterable[Incident], rules: Iterable[InhibitRule]
) -> Incident | None:
    """The open incident that inhibits `target`, if any."""
    rules = list(rules)
    for source in active:
        if source.id == target.id or source.quiet or not source.active:
            continue
        for rule in rules:
            if not _matches(target.rule, target.level, rule.target_rules, rule.target_levels):
                continue
            if not _matches(source.rule, source.level, rule.source_rules, rule.source_levels):
                continue
            if all(getattr(source, f) == getattr(target, f) for f in rule.equal):
                return source
    return None
