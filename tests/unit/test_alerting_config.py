"""The alerting section: defaults after the plans, and mistakes caught with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from alerting.config import AlertingConfig
from core.yamlsource import ConfigError, parse_yaml, validate


def test_empty_section_works_with_plan_defaults() -> None:
    config = AlertingConfig()
    assert config.language == "zh"
    assert [n.type for n in config.notifiers] == ["log"]
    assert [
        (config.sla_for(lv).respond, config.sla_for(lv).arrive, config.sla_for(lv).repair)
        for lv in (1, 2, 3)
    ] == [
        (300, 600, 4 * 3600),
        (600, 900, 8 * 3600),
        (1200, 1800, 12 * 3600),
    ]
    assert config.promote_after == 86400
    assert [t.after for t in config.tiers_for(1)] == [0, 300, 900]
    assert (config.problems.occurrences, config.problems.window) == (3, 7 * 86400)


def test_durations_and_quoted_levels_are_accepted() -> None:
    config = AlertingConfig.model_validate(
        {"sla": {"1": {"respond": "2m", "arrive": "5m", "repair": "1h"}}, "repeat": {"2": "15m"}}
    )
    assert config.sla_for(1).respond == 120 and config.repeat_for(2) == 900
    assert config.sla_for(2).respond == 600  # untouched levels keep their defaults


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"notifiers": [{"type": "pager"}]}, "does not match any of the expected tags"),
        ({"notifiers": [{"type": "email", "host": "h"}]}, "sender"),
        ({"notifiers": [{"type": "log"}, {"type": "log"}]}, "must be unique"),
        ({"routes": [{"notifiers": ["nope"]}]}, "unknown notifier"),
        ({"escalation": {1: [{"after": "0m", "notify": ["role:ceo"]}]}}, "unknown role"),
        (
            {"sla": {4: {"respond": "1m", "arrive": "1m", "repair": "1m"}}},
            "less than or equal to 3",
        ),
        ({"languag": "en"}, "Extra inputs are not permitted"),
        ({"reopen_window": "soon"}, "not a duration"),
        (
            {"notifiers": [{"type": "webhook", "url": "u", "headers": {"Authorization": "x"}}]},
            "header 'Authorization' carries a secret: put it in the credentials file",
        ),
        (
            {"notifiers": [{"type": "webhook", "url": "u", "headers": {"X-Auth-Token": "x"}}]},
            "carries a secret",
        ),
    ],
)
def test_mistakes_are_rejected_with_the_reason(data: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        AlertingConfig.model_validate(data)


def test_errors_name_the_line_in_the_file(tmp_path: Path) -> None:
    text = "language: en\nnotifiers:\n  - type: email\n    host: smtp.example.org\n    sendr: a@b\n"
    data = parse_yaml(text, tmp_path / "roomwatch.yaml")
    with pytest.raises(ConfigError) as caught:
        validate(AlertingConfig, data, tmp_path / "roomwatch.yaml")
    # the misspelt key on its own line; the missing one on the line of its entry
    assert sorted((e.line, e.col, e.message) for e in caught.value.errors) == [
        (3, 5, "notifiers[0]: missing required key 'sender'"),
        (5, 5, "notifiers[0]: unknown key 'sendr'"),
    ]
