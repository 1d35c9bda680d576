"""The `alerting.reports:` section of roomwatch.yaml: when reports are built and who gets them.

    alerting:
      reports:
        timezone: Asia/Shanghai       # default: alerting.duty.timezone, else the host's zone
        language: zh                  # zh | en (default: alerting.language)
        monthly:
          at: "08:00"                 # built on the first day of each month for the month before
          quarterly: true             # and, on 1 Jan/Apr/Jul/Oct, for the quarter before
          notifiers: [mail]           # channels (by name) that carry it
          to: [manager@example.org]   # extra addresses for email channels
        inspection:
          at: "08:30"                 # the daily inspection sheet
          notifiers: [mail]
          to: [noc@example.org]

A report whose `notifiers` list is empty is still written to `<state_dir>/reports/`, but not
sent. Without the section nothing is scheduled."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScheduledReport(_Model):
    enabled: bool = True
    at: str = "08:30"  # local time of day
    notifiers: list[str] = []
    to: list[str] = []
    format: Literal["html", "md"] = "html"  # the file kept in <state_dir>/reports/

    @field_validator("at")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"expected a time of day like 08:30, got {value!r}")
        return value

    @property
    def minutes(self) -> int:
        hours, minutes = self.at.split(":")
        return int(hours) * 60 + int(minutes)


class MonthlySchedule(ScheduledReport):
    at: str = "08:00"
    quarterly: bool = False


class ReportsConfig(_Model):
    timezone: str | None = None
    language: Literal["zh", "en"] | None = None
    monthly: MonthlySchedule | None = None
    inspection: ScheduledReport | None = None

    def notifier_names(self) -> list[str]:
        """Channels the reports name (AlertingConfig checks that they exist)."""
        return [n for s in (self.monthly, self.inspection) if s is not None for n in s.notifiers]
