"""The duty schedule: shifts by time of day and weekday, rotations, holidays, overrides."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from alerting.config import DutyConfig
from alerting.duty import on_duty, resolve_targets

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


def schedule(**extra: Any) -> DutyConfig:
    data: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "people": {p: {"name": p.title()} for p in ("zhang", "li", "wang", "zhao", "boss")},
        "roles": {"manager": ["boss"]},
        "shifts": [
            {
                "name": "day",
                "start": "07:30",
                "end": "18:30",
                "mode": "on-site",
                "rotation": ["zhang", "li"],
                "rotation_start": "2026-11-23",
            },
            {
                "name": "night",
                "start": "18:30",
                "end": "07:30",
                "mode": "phone",
                "rotation": ["wang", "zhao"],
                "rotation_start": "2026-11-23",
            },
        ],
    }
    data.update(extra)
    return DutyConfig.model_validate(data)


def test_default_shifts_follow_the_plans() -> None:
    duty = DutyConfig(timezone="Asia/Shanghai")
    assert on_duty(duty, at("2026-11-23 07:30")).shift == "day"
    assert on_duty(duty, at("2026-11-23 07:30")).mode == "on-site"
    assert on_duty(duty, at("2026-11-23 18:29")).shift == "day"
    assert on_duty(duty, at("2026-11-23 18:30")).mode == "phone"
    assert on_duty(duty, at("2026-11-24 07:29")).shift == "night"


def test_rotation_hands_the_shift_on_each_day() -> None:
    duty = schedule()
    assert on_duty(duty, at("2026-11-23 10:00")).people == ("zhang",)
    assert on_duty(duty, at("2026-11-24 10:00")).people == ("li",)
    assert on_duty(duty, at("2026-11-25 10:00")).people == ("zhang",)


def test_night_shift_after_midnight_belongs_to_the_evening_it_started() -> None:
    duty = schedule()
    assert on_duty(duty, at("2026-11-23 23:00")).people == ("wang",)
    after_midnight = on_duty(duty, at("2026-11-24 03:00"))
    assert (after_midnight.shift, after_midnight.people) == ("night", ("wang",))
    assert on_duty(duty, at("2026-11-24 19:00")).people == ("zhao",)


def test_weekday_only_shift_leaves_the_weekend_uncovered() -> None:
    duty = schedule(
        shifts=[{"name": "office", "days": ["mon", "tue", "wed", "thu", "fri"], "rotation": ["li"]}]
    )
    assert on_duty(duty, at("2026-11-27 10:00")).people == ("li",)  # Friday
    saturday = on_duty(duty, at("2026-11-28 10:00"))
    assert (saturday.shift, saturday.people) == (None, ())


def test_holiday_switches_to_the_holiday_shift() -> None:
    shifts = [
        {"name": "office", "days": ["mon", "tue", "wed", "thu", "fri"], "rotation": ["li"]},
        {
            "name": "holiday-phone",
            "start": "00:00",
            "end": "00:00",
            "days": ["holiday"],
            "mode": "phone",
            "rotation": ["wang"],
        },
    ]
    duty = schedule(shifts=shifts, holidays=["2026-10-01"])
    national_day = on_duty(duty, at("2026-10-01 10:00"))  # a Thursday
    assert (national_day.shift, national_day.mode, national_day.people) == (
        "holiday-phone",
        "phone",
        ("wang",),
    )
    assert on_duty(duty, at("2026-10-08 10:00")).people == ("li",)


def test_override_replaces_the_rotation_for_its_window() -> None:
    duty = schedule(
        overrides=[{"start": "2026-11-23 18:30", "end": "2026-11-24 07:30", "people": ["boss"]}]
    )
    assert on_duty(duty, at("2026-11-23 20:00")).people == ("boss",)
    assert on_duty(duty, at("2026-11-24 07:30")).people == ("li",)


def test_override_may_add_a_second_person() -> None:
    duty = schedule(
        overrides=[
            {
                "start": "2026-11-23 00:00",
                "end": "2026-11-24 00:00",
                "people": ["zhao"],
                "mode": "add",
                "shift": "day",
            }
        ]
    )
    assert on_duty(duty, at("2026-11-23 10:00")).people == ("zhang", "zhao")
    assert on_duty(duty, at("2026-11-23 20:00")).people == ("wang",)


def test_escalation_targets_resolve_to_people() -> None:
    duty = schedule()
    assert resolve_targets(duty, ["on-duty", "role:manager", "li"], at("2026-11-23 10:00")) == (
        "zhang",
        "boss",
        "li",
    )


def test_unknown_people_in_the_schedule_are_an_error() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown people"):
        DutyConfig.model_validate({"shifts": [{"name": "day", "rotation": ["ghost"]}]})
