"""How complete a poll was, as samples: what the agent left unanswered this poll and what it
sent that could not be used, so a rule or a person sees a partial poll as one.

Per poll of a device that answered (`device.up` = 1):

- `snmp.incomplete`: how many columns and scalars could not be read this poll (0 when all
  were); its note names them with the reason, e.g. `timeout: ifHCInOctets, ifHCOutOctets;
  protocol: entPhySensorValue`.
- `snmp.garbled`: answers and values that could not be decoded since the probe started
  (a counter: truncated datagrams, corrupt values such as an empty OID).
- `snmp.out_of_bounds`: readings dropped since the probe started because they were outside
  the physical bounds of their metric (`bounds:` in a profile), e.g. 2360 V of mains.

Each missing item, undecodable answer and out-of-bounds metric is logged once per probe
(`event=snmp_incomplete`, `event=snmp_out_of_bounds`), never on every poll.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from core.sample import NO_LABELS, Sample
from probes.snmp.ber import Oid, format_oid
from probes.snmp.gaps import Gaps
from probes.snmp.profiles import Profile

log = logging.getLogger("roomwatch.snmp")

NOTE_NAMES = 12  # names listed in the note of snmp.incomplete; the rest are counted


def oid_names(profiles: Iterable[Profile]) -> dict[Oid, str]:
    """What each OID a profile reads is called: its metric, or the label it gives."""
    names: dict[Oid, str] = {}
    for profile in profiles:
        for spec in profile.scalars:
            names.setdefault(spec.oid, spec.name)
        for status in profile.status:
            for source in status.sources:
                names.setdefault(source.oid, status.metric)
        for table in profile.tables:
            for metric in table.metrics:
                names.setdefault(metric.oid, metric.name)
            for label, label_spec in table.labels.items():
                for oid in (label_spec.oid, label_spec.scalar):
                    if oid is not None:
                        names.setdefault(oid, f"label {label}")
        for subtree in profile.detect.answers:
            names.setdefault(subtree, f"detection of {profile.name}")
    return names


# The names of the OIDs read, by the profiles read (their ids, with the profiles kept so an
# id is not reused while cached): devices polled with the same profiles share one dict
# instead of one each (50 names a switch); a changed profile file makes new ones, hence the
# bound.
_NAMES: dict[tuple[int, ...], tuple[tuple[Profile, ...], dict[Oid, str]]] = {}
_NAMES_MAX = 256


def names_for(profiles: Sequence[Profile]) -> dict[Oid, str]:
    """`oid_names(profiles)`, made once for every probe reading the same profiles."""
    key = tuple(map(id, profiles))
    found = _NAMES.get(key)
    if found is None:
        if len(_NAMES) >= _NAMES_MAX:
            _NAMES.clear()
        found = _NAMES[key] = (tuple(profiles), oid_names(profiles))
    return found[1]


class PollHealth:
    """The counters of one probe and the set of things it has already logged."""

    def __init__(self) -> None:
        self.garbled = 0
        self.out_of_bounds = 0
        self._logged: set[tuple[str, str]] = set()

    def once(self, key: tuple[str, str], message: str, *args: object) -> None:
        if key not in self._logged:
            self._logged.add(key)
            log.warning(message, *args)

    def samples(
        self,
        device: str,
        now: float,
        gaps: Gaps,
        profiles: Sequence[Profile],
        out_of_bounds: Iterable[str] = (),
    ) -> list[Sample]:
        names = names_for(profiles)
        by_reason: dict[str, list[str]] = {}
        for oid, reason in gaps.failed.items():
            name = names.get(oid, format_oid(oid))
            if name not in by_reason.setdefault(reason, []):
                by_reason[reason].append(name)
            self.once(
                (name, reason),
                "event=snmp_incomplete device=%s what=%s oid=%s reason=%s",
                device,
                name,
                format_oid(oid),
                reason,
            )
        self.garbled += gaps.garbled
        if gaps.garbled:
            self.once(("", "garbled"), "event=snmp_garbled device=%s", device)
        for metric in out_of_bounds:
            self.out_of_bounds += 1
            self.once(
                (metric, "bounds"),
                "event=snmp_out_of_bounds device=%s metric=%s (outside the bounds of its"
                " profile: not reported)",
                device,
                metric,
            )
        count = sum(len(v) for v in by_reason.values())
        return [
            Sample(device, "snmp.incomplete", count, NO_LABELS, None, now, _note(by_reason)),
            Sample(device, "snmp.garbled", self.garbled, NO_LABELS, None, now),
            Sample(device, "snmp.out_of_bounds", self.out_of_bounds, NO_LABELS, None, now),
        ]


def _note(by_reason: dict[str, list[str]]) -> str | None:
    if not by_reason:
        return None
    parts = []
    listed = 0
    for reason, names in sorted(by_reason.items(), key=lambda kv: kv[0] != "timeout"):
        shown = names[: max(0, NOTE_NAMES - listed)]
        listed += len(shown)
        more = len(names) - len(shown)
        text = ", ".join(shown) + (f" and {more} more" if more else "")
        parts.append(f"{reason}: {text}")
    return "; ".join(parts)
