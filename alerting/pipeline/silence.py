"""Silence: configured quiet periods for matching incidents (recorded, not told)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from fnmatch import fnmatchcase

from alerting.config import Silence
from alerting.store import Incident


def _naive(moment: dt.datetime, local_now: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(local_now.tzinfo).replace(tzinfo=None)


def silenced_by(
    incident: Incident, silences: Iterable[Silence], local_now: dt.datetime
) -> Silence | None:
    """The silence covering `incident` at `local_now` (schedule-local time), if any."""
    wall = local_now.replace(tzinfo=None)
    for silence in silences:
        if not _naive(silence.start, local_now) <= wall < _naive(silence.end, local_now):
            continue
        if any(fnmatchcase(incident.device, g) for g in silence.devices) and any(
            fnmatchcase(incident.rule, g) for g in silence.rules
        ):
            return silence
    return None
