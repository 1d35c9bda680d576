"""An incident's timeline in words: every audit action the alerting code writes has its
sentence, a delivered message names who it reached, and an action this console does not know
(one a newer alerting adds) is still shown with its details rather than hidden."""

from __future__ import annotations

from alerting.store import AuditEntry
from collector.api.timeline import build_timeline
from collector.api.view import Timeline


def entry(ts: float, actor: str, action: str, **detail: object) -> AuditEntry:
    return AuditEntry(int(ts), 7, None, ts, actor, action, dict(detail))


def test_the_story_of_an_incident_reads_in_order() -> None:
    story = Timeline(
        audit=[
            entry(10, "rules", "opened", level=3, value=28.0, suppressed=None),
            entry(11, "system", "told", what="opened", step="0", people=["zhang"]),
            entry(40, "rules", "level", **{"from": 3, "to": 2}),
            entry(50, "zhang", "acknowledged", note="on my way"),
            entry(60, "system", "sla-breach", clock="arrive", level=2, due=55.0),
            entry(70, "zhang", "note", text="CRAC 2 restarted"),
            entry(90, "rules", "resolved", value=24.0),
        ],
        notes=[],
        sent=[{"ts": 12.0, "notifier": "mail", "kind": "opened",
               "recipients": '{"to": ["zhang@example.org"]}'}],
        breaches=[],
    )  # fmt: skip
    lines = [(e.actor, e.text, e.note) for e in build_timeline(story, "en")]
    assert lines == [
        ("rules", "opened at level 3", None),
        ("system", "told zhang (opened)", None),
        ("mail", "mail delivered the opened message to zhang@example.org", None),
        ("rules", "level 3 → 2", None),
        ("zhang", "acknowledged", "on my way"),
        ("system", "SLA clock 'arrive' missed at level 2", None),
        ("zhang", "note", "CRAC 2 restarted"),
        ("rules", "resolved", None),
    ]
    assert build_timeline(story, "zh")[0].text == "发生，级别 3"


def test_an_action_of_a_newer_alerting_is_shown_not_hidden() -> None:
    story = Timeline(
        audit=[entry(5, "desk", "ticket-merged", into="RW-2026-000042", text="same fault")],
        notes=[],
        sent=[],
        breaches=[],
    )
    (shown,) = build_timeline(story, "en")
    assert shown.text == "ticket-merged (into=RW-2026-000042)"
    assert (shown.kind, shown.note) == ("other", "same fault")
