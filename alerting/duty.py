"""The duty schedule: who is on duty at a given moment, and in which mode (on site or phone).

Pure: takes the schedule and a POSIX time, returns people. Shifts are defined by local time of
day and weekday (a shift that ends before it starts crosses midnight and belongs to the day it
started); rotations hand a shift to the next person every few days; holidays switch to the
shifts marked `holiday`; overrides replace (or add to) whoever the rotation names."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from alerting.config import WEEKDAYS, DutyConfig, Person, Shift


@dataclass(frozen=True)
class OnDuty:
    shift: str | None  # None: no shift covers this moment
    mode: str | None  # on-site | phone
    people: tuple[str, ...]
    starts: dt.datetime | None = None
    ends: dt.datetime | None = None


def local_time(config: DutyConfig, ts: float) -> dt.datetime:
    if config.timezone:
        return dt.datetime.fromtimestamp(ts, zoneinfo.ZoneInfo(config.timezone))
    return dt.datetime.fromtimestamp(ts).astimezone()


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _applies_on(config: DutyConfig, shift: Shift, day: dt.date) -> bool:
    if day in config.holidays and any("holiday" in s.days for s in config.shifts):
        return "holiday" in shift.days
    return WEEKDAYS[day.weekday()] in shift.days


def _running(config: DutyConfig, now: dt.datetime) -> tuple[Shift, dt.date] | None:
    """The shift covering local time `now` and the date it started on."""
    minute = now.hour * 60 + now.minute
    today = now.date()
    for shift in config.shifts:
        start, end = _minutes(shift.start), _minutes(shift.end)
        if start < end:
            if start <= minute < end and _applies_on(config, shift, today):
                return shift, today
        elif start > end:  # crosses midnight
            if minute >= start and _applies_on(config, shift, today):
                return shift, today
            yesterday = today - dt.timedelta(days=1)
            if minute < end and _applies_on(config, shift, yesterday):
                return shift, yesterday
        elif _applies_on(config, shift, today):  # start == end: all day
            return shift, today
    return None


def _rotation(shift: Shift, day: dt.date) -> tuple[str, ...]:
    if not shift.rotation:
        return ()
    turn = (day - shift.rotation_start).days // shift.rotate_every
    size = len(shift.rotation)
    count = min(shift.per_shift, size)
    return tuple(shift.rotation[(turn * count + k) % size] for k in range(count))


def _bounds(shift: Shift, day: dt.date, tz: dt.tzinfo | None) -> tuple[dt.datetime, dt.datetime]:
    start_m, end_m = _minutes(shift.start), _minutes(shift.end)
    start = dt.datetime.combine(day, dt.time(start_m // 60, start_m % 60), tz)
    end_day = day if end_m > start_m else day + dt.timedelta(days=1)
    end = dt.datetime.combine(end_day, dt.time(end_m // 60, end_m % 60), tz)
    return start, end


def _naive(moment: dt.datetime, now: dt.datetime) -> dt.datetime:
    """Schedule-local wall time: naive times in the file already are; aware ones convert."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(now.tzinfo).replace(tzinfo=None)


def on_duty(config: DutyConfig, ts: float) -> OnDuty:
    now = local_time(config, ts)
    running = _running(config, now)
    shift_name = mode = None
    people: tuple[str, ...] = ()
    starts = ends = None
    if running is not None:
        shift, day = running
        shift_name, mode = shift.name, shift.mode
        people = _rotation(shift, day)
        starts, ends = _bounds(shift, day, now.tzinfo)
    naive_now = now.replace(tzinfo=None)
    for override in config.overrides:
        if override.shift is not None and override.shift != shift_name:
            continue
        if _naive(override.start, now) <= naive_now < _naive(override.end, now):
            if override.mode == "replace":
                people = tuple(override.people)
            else:
                people = tuple(dict.fromkeys((*people, *override.people)))
    return OnDuty(shift_name, mode, people, starts, ends)


def resolve_targets(config: DutyConfig, targets: list[str], ts: float) -> tuple[str, ...]:
    """People ids named by escalation targets (`on-duty`, `role:NAME`, a person id), in order,
    without repeats."""
    out: dict[str, None] = {}
    for target in targets:
        if target == "on-duty":
            names: tuple[str, ...] | list[str] = on_duty(config, ts).people
        elif target.startswith("role:"):
            names = config.roles.get(target[5:], [])
        else:
            names = [target]
        for name in names:
            out[name] = None
    return tuple(out)


def person(config: DutyConfig, person_id: str) -> Person:
    return config.people.get(person_id) or Person(name=person_id)
