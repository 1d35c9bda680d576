"""Why a firing fault is recorded but not alerted: a parent device that is down (dependency)
or an active maintenance window (maintenance). Flapping, the third reason, belongs to the
series' own state machine (rules/statemachine.py).

A device is down, for its children, when none of its probes gets an answer (`device.up` = 0 on
every probe label). When it comes back, a child's fault stays suppressed until the child has
been polled again (or `stale` has passed): until then it may be an echo of the outage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.sample import Sample
from inventory.model import Inventory
from rules.conditions import as_number
from rules.fault import Suppression
from rules.maintenance import MaintenanceWindow
from rules.statemachine import LabelsKey


@dataclass(frozen=True)
class Reachability:
    """What is known of one device's answers (kept across a restart)."""

    up: bool
    back_at: float | None  # when it last came back up
    probes: Mapping[LabelsKey, bool]  # probe labels → that probe answers


class Suppressor:
    """Parents' reachability and the maintenance windows, asked per fault by the engine."""

    def __init__(self, inventory: Inventory, windows: Sequence[MaintenanceWindow] = ()) -> None:
        self._up: dict[str, bool] = {}  # device → answering (any of its probes answers)
        self._probe_up: dict[str, dict[LabelsKey, bool]] = {}  # device → probe labels → up
        self._back_at: dict[str, float] = {}  # device → when it last came back up
        #: moves whenever what `reachability()` returns changes (the engine keeps the records
        #: it saves until then: nearly every save, ten seconds apart, finds nothing changed)
        self.version = 0
        self._window_list = list(windows)
        self.bind(inventory)

    def bind(self, inventory: Inventory) -> None:
        """Take a (re)loaded inventory: its parent chains and who each window selects."""
        self._inventory = inventory
        self._ancestors = {d: tuple(inventory.ancestors(d)) for d in inventory.devices}
        self._index_windows()

    def set_windows(self, windows: Sequence[MaintenanceWindow]) -> None:
        self._window_list = list(windows)
        self._index_windows()

    def _index_windows(self) -> None:
        devices = self._inventory.devices.values()
        self._windows = [
            (w, frozenset(d.id for d in devices if w.selects(d))) for w in self._window_list
        ]

    def note_up(self, sample: Sample, now: float) -> bool:
        """Take a `device.up` sample; True when the device went down or came back."""
        # A device with several probes emits one device.up per probe (labelled by it).
        number = as_number(sample.value)
        device = sample.device
        probes = self._probe_up.setdefault(device, {})
        key = tuple(sorted(sample.labels.items())) if sample.labels else ()
        answers = number is not None and number > 0
        if probes.get(key) is not answers:  # up and back_at change only with a probe's answer
            probes[key] = answers
            self.version += 1
        up = any(probes.values())
        was = self._up.get(device)
        self._up[device] = up
        if up and was is False:
            self._back_at[device] = now
        return was is not up

    def held(self, device: str, last_seen: float, now: float, stale_s: float) -> Suppression | None:
        """What holds a fault of `device`, last read at `last_seen`, from being alerted at
        `now` (the parent nearest first, then windows); None when nothing does."""
        for parent in self._ancestors.get(device, ()):
            if self._up.get(parent) is False:
                return Suppression.DEPENDENCY
            back = self._back_at.get(parent)
            # Back up, but this child has not been polled since: its fault may be an echo of
            # the outage, so it stays suppressed until it is re-evaluated (or goes stale).
            if back is not None and last_seen < back and now - back < stale_s:
                return Suppression.DEPENDENCY
        for window, devices in self._windows:
            if device in devices and window.active(now):
                return Suppression.MAINTENANCE
        return None

    # -- persistence ---------------------------------------------------------------------

    def reachability(self) -> dict[str, Reachability]:
        return {
            device: Reachability(
                up, self._back_at.get(device), dict(self._probe_up.get(device, {}))
            )
            for device, up in self._up.items()
        }

    def restore(self, known: Mapping[str, Reachability]) -> None:
        self.version += 1
        for device, seen in known.items():
            self._up[device] = seen.up
            if seen.back_at is not None:
                self._back_at[device] = seen.back_at
            self._probe_up[device] = dict(seen.probes)
