"""The atoms of the `alerting:` section's models, shared by alerting/config.py and each
channel's settings model (which lives in its notifier module, below the config)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

# ints 1–3; YAML may quote them ("1": …), so not a Literal, which would refuse "1"
Level = Annotated[int, Field(ge=1, le=3)]
LEVELS: tuple[int, ...] = (1, 2, 3)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
