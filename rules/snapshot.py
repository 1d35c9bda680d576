"""The rule engine's state as it is kept across a restart: a typed, versioned schema.

What is kept: per rule, the series that are pending or firing or count opens towards flapping
(with their timers), the absence clocks, and which devices are down. The engine converts to and
from these models only when it saves or restores (rules/statefile.py); its hot path never
touches them.

Format 2 (written now) names every field. Format 1 (roomwatch up to commit 75ce8a0) wrote
positional pairs (`up: {device: [up, back_at]}`, `emitted: [level, suppression, stale]`); it is
still read, and upgraded on load. A new format: a new model with its own `version` literal, an
`upgrade()` from the one before, and a case in `parse`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rules.fault import Suppression
from rules.statemachine import PHASES, LabelsKey, SeriesState
from rules.suppression import Reachability

FORMAT: Literal[2] = 2
Phase = Literal["inactive", "pending", "firing"]
RecordValue = bool | int | float | str | None  # the types of core.sample.Value, bool first


class _Record(BaseModel):
    # NaN is a value a text rule may have last seen; it is written as JSON's NaN, as before.
    model_config = ConfigDict(ser_json_inf_nan="constants")


class EmittedRecord(_Record):
    """What alerting was last told of a firing fault."""

    level: int
    suppressed: Suppression | None = None
    stale: bool = False


class SeriesRecord(_Record):
    device: str
    labels: dict[str, str] = Field(default_factory=dict)
    phase: Phase
    cond_level: int | None
    cond_clear: bool
    absent: bool
    value: RecordValue
    last_seen: float
    pending_since: float
    since: float
    base_level: int
    milder_since: float | None
    milder_level: int
    clear_since: float | None
    opens: list[float]
    flapping: bool
    emitted: EmittedRecord | None


class RuleRecord(_Record):
    epoch: float | None = None  # when the rule's absence clocks started
    seen: dict[str, float] = Field(default_factory=dict)  # device → its last sample
    series: list[SeriesRecord] = Field(default_factory=list)


class ProbeRecord(_Record):
    labels: dict[str, str]
    up: bool


class DeviceRecord(_Record):
    up: bool
    back_at: float | None = None
    probes: list[ProbeRecord] = Field(default_factory=list)


class Snapshot(_Record):
    version: Literal[2] = FORMAT
    now: float = 0.0
    devices: dict[str, DeviceRecord] = Field(default_factory=dict)
    rules: dict[str, RuleRecord] = Field(default_factory=dict)


# -- format 1, read only ----------------------------------------------------------------


class SeriesRecordV1(SeriesRecord):
    emitted: tuple[int, Suppression | None, bool] | None  # type: ignore[assignment]


class RuleRecordV1(_Record):
    epoch: float | None = None
    seen: dict[str, float] = Field(default_factory=dict)
    series: list[SeriesRecordV1] = Field(default_factory=list)


class SnapshotV1(_Record):
    version: Literal[1]
    now: float | None = None
    up: dict[str, tuple[bool, float | None]] = Field(default_factory=dict)
    probe_up: dict[str, list[tuple[dict[str, str], bool]]] = Field(default_factory=dict)
    rules: dict[str, RuleRecordV1] = Field(default_factory=dict)

    def upgrade(self) -> Snapshot:
        devices = {}
        for device in {**self.up, **self.probe_up}:
            probes = [ProbeRecord(labels=k, up=v) for k, v in self.probe_up.get(device, [])]
            up, back_at = self.up.get(device, (any(p.up for p in probes), None))
            devices[device] = DeviceRecord(up=up, back_at=back_at, probes=probes)
        rules = {}
        for name, rule in self.rules.items():
            series = []
            for old in rule.series:
                fields = old.model_dump(exclude={"emitted"})
                emitted = None
                if old.emitted is not None:
                    level, suppressed, stale = old.emitted
                    emitted = EmittedRecord(level=level, suppressed=suppressed, stale=stale)
                series.append(SeriesRecord(**fields, emitted=emitted))
            rules[name] = RuleRecord(epoch=rule.epoch, seen=rule.seen, series=series)
        return Snapshot(now=self.now or 0.0, devices=devices, rules=rules)


def parse(data: Any) -> Snapshot:
    """A snapshot of any known format, as the current one. Raises ValueError saying, on one
    line, what is wrong and where (`rules.<rule>.series.<n>.<field>: Field required`)."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("version")
    try:
        if version == FORMAT:
            return Snapshot.model_validate(data)
        if version == 1:
            return SnapshotV1.model_validate(data).upgrade()
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ValueError(f"format {version}: {'; '.join(problems)}") from None
    raise ValueError(f"unknown engine snapshot version {version!r}")


# -- between the engine's state and the records ----------------------------------------


def _labels_key(labels: Mapping[str, str]) -> LabelsKey:
    return tuple(sorted((str(k), str(v)) for k, v in labels.items()))


def record_of(st: SeriesState) -> SeriesRecord:
    emitted = None
    if st.emitted is not None:
        level, suppressed, stale = st.emitted
        emitted = EmittedRecord(level=level, suppressed=suppressed, stale=stale)
    return SeriesRecord(
        device=st.device,
        labels=dict(st.labels),
        phase=PHASES[st.phase],  # type: ignore[arg-type]  # PHASES holds exactly Phase's names
        cond_level=st.cond_level,
        cond_clear=st.cond_clear,
        absent=st.absent,
        value=st.value,
        last_seen=st.last_seen,
        pending_since=st.pending_since,
        since=st.since,
        base_level=st.base_level,
        milder_since=st.milder_since,
        milder_level=st.milder_level,
        clear_since=st.clear_since,
        opens=list(st.opens),
        flapping=st.flapping,
        emitted=emitted,
    )


def state_of(record: SeriesRecord) -> SeriesState:
    emitted = record.emitted
    return SeriesState(
        device=record.device,
        labels=_labels_key(record.labels),
        last_seen=record.last_seen,
        phase=PHASES.index(record.phase),
        cond_level=record.cond_level,
        cond_clear=record.cond_clear,
        absent=record.absent,
        value=record.value,
        pending_since=record.pending_since,
        since=record.since,
        base_level=record.base_level,
        milder_since=record.milder_since,
        milder_level=record.milder_level,
        clear_since=record.clear_since,
        opens=tuple(record.opens),
        flapping=record.flapping,
        emitted=None if emitted is None else (emitted.level, emitted.suppressed, emitted.stale),
    )


def devices_of(known: Mapping[str, Reachability]) -> dict[str, DeviceRecord]:
    """The records of the engine's own, already typed state: built without validation
    (`model_construct`), as the daemon saves them every few seconds for every device
    (validating 1,000 devices' records each time was 3 % of its CPU)."""
    return {device: _device_record(seen) for device, seen in known.items()}


def _device_record(seen: Reachability) -> DeviceRecord:
    return DeviceRecord.model_construct(
        up=seen.up,
        back_at=seen.back_at,
        probes=[ProbeRecord.model_construct(labels=dict(k), up=v) for k, v in seen.probes.items()],
    )


class DeviceRecords:
    """`devices_of` for a caller that asks again and again (the engine, at every save): a
    device whose reachability has not changed since the last call keeps its record. Even
    unvalidated, building 1,000 devices' records took 3 % of the daemon's CPU at 1,000
    switches, and between two saves ten seconds apart almost none of them changes. The
    records are handed out shared: they are serialised, never modified."""

    def __init__(self) -> None:
        self._made: dict[str, tuple[object, DeviceRecord]] = {}

    def __call__(self, known: Mapping[str, Reachability]) -> dict[str, DeviceRecord]:
        made: dict[str, tuple[object, DeviceRecord]] = {}
        previous = self._made
        for device, seen in known.items():
            key = (seen.up, seen.back_at, tuple(seen.probes.items()))
            entry = previous.get(device)
            if entry is None or entry[0] != key:
                entry = (key, _device_record(seen))
            made[device] = entry
        self._made = made  # devices gone from `known` are forgotten
        return {device: record for device, (_, record) in made.items()}


def reachability_of(devices: Mapping[str, DeviceRecord]) -> dict[str, Reachability]:
    return {
        device: Reachability(
            record.up, record.back_at, {_labels_key(p.labels): p.up for p in record.probes}
        )
        for device, record in devices.items()
    }
