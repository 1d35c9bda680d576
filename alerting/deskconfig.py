"""The `alerting.desk:` section: the people's side of the service desk (ticket numbers, and
the ways reporters reach it).

    alerting:
      desk:
        ticket_prefix: RW          # tickets read RW-2026-000123
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ticket_prefix: str = Field(default="RW", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
