"""The `alerting:` section of roomwatch.yaml: channels, routing, SLA clocks, escalation, duty.

Every part has defaults taken from the operating plans (DESIGN.md §7), so an empty section
works: messages go to the log only, in Chinese. Secrets are never written here: a channel that
needs one names an entry of the credentials file (`credentials: NAME`).

    alerting:
      language: zh                      # zh | en
      notifiers:
        - type: log
        - type: file
          path: /var/lib/roomwatch/alerts.jsonl
        - type: email
          name: mail
          host: smtp.example.org
          port: 587
          security: starttls            # starttls | tls | none
          credentials: smtp             # entry with username / password
          sender: roomwatch@example.org
          to: [noc@example.org]         # always told, besides the people on duty
        - type: dingtalk
          credentials: dingtalk-noc     # access_token, secret (加签)
          levels: [1, 2]
      sla:
        1: {respond: 5m, arrive: 10m, repair: 4h}
      escalation:
        1:
          - {after: 0m, notify: [on-duty]}
          - {after: 5m, notify: [role:team-lead]}
          - {after: 15m, notify: [role:manager]}
      duty:
        timezone: Asia/Shanghai
        people:
          zhang: {name: 张工, email: zhang@example.org, phone: "13800000001"}
          li: {name: 李工, email: li@example.org, phone: "13800000002"}
          wang: {name: 王经理, email: wang@example.org}
        roles: {team-lead: [li], manager: [wang]}
        shifts:
          - {name: day, start: "07:30", end: "18:30", mode: on-site, rotation: [zhang, li]}
          - {name: night, start: "18:30", end: "07:30", mode: phone, rotation: [li, zhang]}
        holidays: ["2026-10-01"]
        overrides:
          - {start: "2026-11-23 18:30", end: "2026-11-24 07:30", people: [li]}
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerting.deskconfig import DeskConfig
from alerting.notifiers import settings_models
from alerting.notifiers.base import NotifierSettings
from alerting.notifiers.log import LogSettings
from alerting.reports.config import ReportsConfig
from alerting.schema import LEVELS, NAME_PATTERN, Level
from core.durations import Duration

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- channels
# Each channel's settings model lives on its notifier class (alerting/notifiers/); the union of
# them, tagged by `type`, comes from the registry.


if TYPE_CHECKING:
    NotifierConfig: TypeAlias = NotifierSettings
else:
    NotifierConfig = Annotated[
        Union[settings_models()],  # noqa: UP007 - its members are known at run time only
        Field(discriminator="type"),
    ]


class Route(_Model):
    """Sends matching incidents to the named channels. The first matching route wins unless it
    says `continue: true`. With no routes, every channel hears every incident of its levels."""

    levels: list[Level] = list(LEVELS)
    sites: list[str] = []
    devices: list[str] = []  # globs
    rules: list[str] = []  # globs
    notifiers: list[str]
    continue_: bool = Field(default=False, alias="continue")


# ---------------------------------------------------------------- clocks and people


class SlaTargets(_Model):
    respond: Duration = Field(gt=0)  # acknowledged within
    arrive: Duration = Field(gt=0)  # engineer on site within
    repair: Duration = Field(gt=0)  # resolved within


def _default_sla() -> dict[Level, SlaTargets]:
    m, h = 60.0, 3600.0
    return {
        1: SlaTargets(respond=5 * m, arrive=10 * m, repair=4 * h),
        2: SlaTargets(respond=10 * m, arrive=15 * m, repair=8 * h),
        3: SlaTargets(respond=20 * m, arrive=30 * m, repair=12 * h),
    }


class Tier(_Model):
    """One step of an escalation chain. `notify` entries: `on-duty` (whoever the duty
    schedule has now), `role:NAME` (the people of a role) or a person's id. `notifiers`
    restricts the channels used for this tier (default: the routed ones)."""

    after: Duration = Field(ge=0)
    notify: list[str] = ["on-duty"]
    notifiers: list[str] = []


def _default_escalation() -> dict[Level, list[Tier]]:
    # After the plans: on-duty engineer at once, team lead when the respond clock runs out,
    # the manager at three times that.
    m = 60.0
    out: dict[Level, list[Tier]] = {}
    for level, respond in ((1, 5 * m), (2, 10 * m), (3, 20 * m)):
        out[level] = [
            Tier(after=0, notify=["on-duty"]),
            Tier(after=respond, notify=["role:team-lead"]),
            Tier(after=3 * respond, notify=["role:manager"]),
        ]
    return out


class Person(_Model):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    #: the person's user id on each chat platform (dingtalk, feishu, wecom): a click on a card
    #: is taken only from someone found here (or by `phone`, where the platform reports it)
    ids: dict[Literal["dingtalk", "feishu", "wecom"], str] = {}


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"expected a time of day like 07:30, got {value!r}")
    return value


class Shift(_Model):
    """A shift by time of day and weekday. `end` before `start` crosses midnight (the shift
    belongs to the day it starts). On a date listed in `holidays`, only shifts whose `days`
    include `holiday` apply, if any do. The rotation hands the shift to the next person every
    `rotate_every` days counted from `rotation_start`."""

    name: str = Field(pattern=NAME_PATTERN)
    start: str = "07:30"
    end: str = "18:30"
    days: list[str] = list(WEEKDAYS)
    mode: Literal["on-site", "phone"] = "on-site"
    rotation: list[str] = []
    rotation_start: dt.date = dt.date(2026, 1, 5)  # a Monday
    rotate_every: int = Field(default=1, ge=1)  # days
    per_shift: int = Field(default=1, ge=1)  # people on duty at once

    @field_validator("start", "end")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        return _check_hhmm(value)

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d not in (*WEEKDAYS, "holiday")]
        if bad:
            raise ValueError(f"unknown day(s) {bad}: use mon … sun or holiday")
        return value


class Override(_Model):
    """These people are on duty from `start` to `end` (local time of the schedule), instead
    of the rotation (or, with `mode: add`, besides it)."""

    start: dt.datetime
    end: dt.datetime
    people: list[str]
    mode: Literal["replace", "add"] = "replace"
    shift: str | None = None  # limit to one shift; default: whatever shift is running


def _default_shifts() -> list[Shift]:
    return [
        Shift(name="day", start="07:30", end="18:30", mode="on-site"),
        Shift(name="night", start="18:30", end="07:30", mode="phone"),
    ]


class DutyConfig(_Model):
    timezone: str | None = None  # IANA name; default: the host's local time zone
    people: dict[str, Person] = {}
    roles: dict[str, list[str]] = {}
    shifts: list[Shift] = Field(default_factory=_default_shifts)
    holidays: list[dt.date] = []
    overrides: list[Override] = []

    @model_validator(mode="after")
    def _people_known(self) -> DutyConfig:
        known = set(self.people)
        named = [p for s in self.shifts for p in s.rotation]
        named += [p for o in self.overrides for p in o.people]
        named += [p for members in self.roles.values() for p in members]
        unknown = sorted({p for p in named if p not in known})
        if unknown:
            raise ValueError(f"unknown people {unknown}: list them under duty.people")
        if self.timezone is not None:
            import zoneinfo

            try:
                zoneinfo.ZoneInfo(self.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        return self


# ---------------------------------------------------------------- pipeline knobs


class RetryConfig(_Model):
    initial: Duration = Field(default=10.0, gt=0)
    max: Duration = Field(default=600.0, gt=0)
    give_up_after: Duration = Field(default=7 * 86400.0, gt=0)  # retryable errors
    batch: int = Field(default=50, ge=1)


class GroupConfig(_Model):
    """Notifications for the same channel, recipients and group (`by`) that fall due within
    `wait` of each other go out as one message (a power cut is one message, not forty)."""

    by: list[Literal["site", "rule", "level", "device"]] = ["site"]
    wait: Duration = Field(default=10.0, ge=0)
    max_items: int = Field(default=50, ge=1)


class InhibitRule(_Model):
    """While an incident matching `source` is open, notifications of incidents matching
    `target` that share the `equal` fields are recorded but not sent."""

    source_rules: list[str] = ["*"]  # globs
    source_levels: list[Level] = list(LEVELS)
    target_rules: list[str] = ["*"]
    target_levels: list[Level] = list(LEVELS)
    equal: list[Literal["device", "site"]] = ["device"]


def _default_inhibit() -> list[InhibitRule]:
    # A level-1 fault on a device makes its level-3 warnings noise.
    return [InhibitRule(source_levels=[1], target_levels=[3], equal=["device"])]


class Silence(_Model):
    """Mute notifications (incidents are still recorded) for matching incidents in a window."""

    start: dt.datetime
    end: dt.datetime
    devices: list[str] = ["*"]
    rules: list[str] = ["*"]
    comment: str = ""


class ProblemsConfig(_Model):
    occurrences: int = Field(default=3, ge=2)
    window: Duration = Field(default=7 * 86400.0, gt=0)


class AckLinkConfig(_Model):
    """Signed acknowledge links in messages (`{base_url}/ack/{id}?…&sig=…`), served by the
    HTTP API. `credentials` names an entry with `secret` (the HMAC key)."""

    base_url: str | None = None
    credentials: str | None = None
    ttl: Duration = Field(default=86400.0, gt=0)


class NoticeConfig(_Model):
    """A planned-work notice: announced `announce` before `start`, and when it ends."""

    id: str = Field(pattern=NAME_PATTERN)
    title: dict[str, str]  # language → text
    content: dict[str, str]
    action: dict[str, str] = {}  # what users should do
    urgency: Literal["general", "urgent"] = "general"
    scope: Literal["partial", "all"] = "partial"
    start: dt.datetime
    end: dt.datetime
    devices: list[str] = []  # globs: what the work touches
    audience: list[str] = []  # channel names; default: every channel
    announce: list[Duration] = [86400.0, 3600.0]


def _default_notifiers() -> list[NotifierConfig]:
    return [LogSettings(type="log")]


def _default_repeat() -> dict[Level, float]:
    return {1: 1800.0, 2: 3600.0, 3: 0.0}


class AlertingConfig(_Model):
    language: Literal["zh", "en"] = "zh"
    notifiers: list[NotifierConfig] = Field(default_factory=_default_notifiers)
    routes: list[Route] = []
    sla: dict[Level, SlaTargets] = Field(default_factory=_default_sla)
    promote_after: Duration = Field(default=86400.0, gt=0)  # unresolved this long: level up
    escalation: dict[Level, list[Tier]] = Field(default_factory=_default_escalation)
    duty: DutyConfig = Field(default_factory=DutyConfig)
    reopen_window: Duration = Field(default=3600.0, ge=0)
    repeat: dict[Level, Duration] = Field(default_factory=_default_repeat)  # 0: never
    retry: RetryConfig = Field(default_factory=RetryConfig)
    group: GroupConfig = Field(default_factory=GroupConfig)
    inhibit: list[InhibitRule] = Field(default_factory=_default_inhibit)
    silences: list[Silence] = []
    problems: ProblemsConfig = Field(default_factory=ProblemsConfig)
    ack_link: AckLinkConfig = Field(default_factory=AckLinkConfig)
    notices: list[NoticeConfig] = []
    reports: ReportsConfig = Field(default_factory=ReportsConfig)  # alerting/reports/config.py
    desk: DeskConfig = Field(default_factory=DeskConfig)  # alerting/deskconfig.py

    @model_validator(mode="after")
    def _consistent(self) -> AlertingConfig:
        ids = [n.id for n in self.notifiers]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"notifier names must be unique; give each a `name`: {dupes}")
        known = set(ids)
        named = [n for r in self.routes for n in r.notifiers]
        named += [n for tiers in self.escalation.values() for t in tiers for n in t.notifiers]
        named += [n for notice in self.notices for n in notice.audience]
        named += self.reports.notifier_names()
        if self.desk.mailbox is not None and self.desk.mailbox.reply_via:
            named.append(self.desk.mailbox.reply_via)
        unknown = sorted({n for n in named if n not in known})
        if unknown:
            raise ValueError(f"unknown notifier(s) {unknown}; known: {sorted(known)}")
        people = set(self.duty.people)
        roles = set(self.duty.roles) | {"team-lead", "manager"}
        for tiers in self.escalation.values():
            for tier in tiers:
                for target in tier.notify:
                    if target == "on-duty":
                        continue
                    if target.startswith("role:"):
                        if target[5:] not in roles:
                            raise ValueError(f"escalation names unknown role {target[5:]!r}")
                    elif target not in people:
                        raise ValueError(
                            f"escalation names {target!r}: not on-duty, role:NAME or a person"
                        )
        return self

    def notifier(self, name: str) -> NotifierConfig:
        for entry in self.notifiers:
            if entry.id == name:
                return entry
        raise KeyError(name)

    def sla_for(self, level: int) -> SlaTargets:
        return self.sla.get(_level(level)) or _default_sla()[_level(level)]

    def tiers_for(self, level: int) -> list[Tier]:
        return sorted(self.escalation.get(_level(level), []), key=lambda t: t.after)

    def repeat_for(self, level: int) -> float:
        return float(self.repeat.get(_level(level), 0.0))


def _level(level: int) -> int:
    if level <= 1:
        return 1
    if level == 2:
        return 2
    return 3
