"""The pure parts of acting from a chat card or an SMS: the replay guard on a virtual clock,
the SMS acknowledge codes, who on the roster clicked, which buttons a card still offers, and
the platforms' incident references (DingTalk's outTrackId, WeCom's task id)."""

from __future__ import annotations

import dataclasses

import pytest

from alerting.chat.ackcode import ack_code, incident_of_code
from alerting.chat.act import who_clicked
from alerting.chat.cards import actions_left
from alerting.chat.channel import Refused
from alerting.chat.replay import ReplayGuard
from alerting.config import DutyConfig
from alerting.notifiers.dingtalk_app import incidents_of_track, track_id
from alerting.notifiers.wecom_app import incidents_of_task, task_id
from alerting.store.model import Incident
from tests.unit.alerting_helpers import T0

SECRET = "unit-ack-secret"


def test_the_replay_guard_takes_a_nonce_once_within_the_window_and_forgets_after() -> None:
    guard = ReplayGuard(window=300)
    assert guard.check(T0, "n1", T0 + 10) is None
    assert guard.check(T0, "n1", T0 + 20) is not None  # the same nonce again: a replay
    assert guard.check(T0 - 301, "n2", T0) is not None  # too old
    assert guard.check(T0 + 301, "n3", T0) is not None  # from the future
    assert guard.check(T0 + 400, "n4", T0 + 400) is None
    assert "n1" not in guard._seen  # forgotten once out of the window (its time has passed)


def test_an_ack_code_names_its_incident_and_no_other() -> None:
    code = ack_code(SECRET, 12)
    number, tag = code.split("-")
    assert number == "12" and len(tag) == 4
    for reply in (code, f"好的 {code}", code.replace("-", ""), f"12 {tag}"):
        assert incident_of_code(SECRET, reply) == 12, reply
    assert incident_of_code(SECRET, f"13-{tag}") is None  # 12's digits do not fit 13
    assert incident_of_code(SECRET, f"12-{(int(tag) + 1) % 10000:04d}") is None
    assert incident_of_code("another secret", code) is None
    assert incident_of_code(SECRET, "收到") is None


def test_the_clicking_user_is_found_by_platform_id_or_phone_only() -> None:
    duty = DutyConfig.model_validate(
        {
            "people": {
                "zhang": {"name": "张工", "phone": "13800000001", "ids": {"feishu": "ou_z"}},
                "li": {"name": "李工", "ids": {"dingtalk": "0042"}},
            }
        }
    )
    assert who_clicked(duty, "feishu", ("ou_z",)) == "zhang"
    assert who_clicked(duty, "dingtalk", ("0042",)) == "li"
    assert who_clicked(duty, "sms", ("13800000001",)) == "zhang"
    assert (
        who_clicked(duty, "dingtalk", ("ou_z",)) is None
    )  # Zhang's Feishu id is not his DingTalk id
    assert who_clicked(duty, "feishu", ("",)) is None


def incident(**changes: object) -> Incident:
    base = {f.name: None for f in dataclasses.fields(Incident)}
    base.update(
        id=1,
        key="k",
        rule="r",
        grp="g",
        device="d",
        metric="m",
        labels={},
        level=1,
        state="open",
        stale=False,
        summary={},
        since=T0,
        opened_at=T0,
        active_since=T0,
        level_since=T0,
        updated_at=T0,
        occurrences=1,
        tier=0,
        reminders=0,
    )
    base.update(changes)
    return Incident(**base)  # type: ignore[arg-type]


def test_a_card_offers_only_what_is_still_open() -> None:
    assert actions_left([incident()]) == ("ack", "arrive", "resolve")
    assert actions_left([incident(state="acknowledged")]) == ("arrive", "resolve")
    assert actions_left([incident(state="acknowledged", arrived_at=T0)]) == ("resolve",)
    assert actions_left([incident(state="resolved")]) == ()
    # a grouped card: acknowledge stays while any of its incidents is open
    assert actions_left([incident(state="acknowledged"), incident(id=2)])[0] == "ack"


def test_card_references_carry_their_incidents_and_refuse_others() -> None:
    assert incidents_of_track(track_id([12, 13])) == (12, 13)
    assert incidents_of_task(task_id([7])) == (7,)
    for bad in ("", "rw..x", "someone-else", "rw.a_b.1"):
        with pytest.raises(Refused):
            incidents_of_track(bad)
    with pytest.raises(Refused):
        incidents_of_task("rw-x-1")
