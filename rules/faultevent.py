"""A series event dressed as the Fault alerting receives (DESIGN.md §6 → §7): who (the rule,
the device and its labels), what (level, state, value, suppression, staleness) and the summary
rendered in every language of the rule, with the fields a summary template may name."""

from __future__ import annotations

from core.durations import format_duration
from inventory.model import Device
from rules.fault import Fault, fault_key
from rules.model import Rule
from rules.statemachine import SeriesEvent, SeriesState


def fault_of(
    rule: Rule,
    device: Device | None,
    st: SeriesState,
    event: SeriesEvent,
    start: float,
    now: float,
) -> Fault:
    """The Fault of `event` of the series `st` at `now`; its condition has held since `start`
    (`device` is None when the inventory no longer has it)."""
    labels = dict(st.labels)
    fields: dict[str, object] = {
        "value": st.value,
        "level": event.level,
        "rule": rule.name,
        "group": rule.group,
        "metric": rule.metric_text,
        # how long the condition has held, its `for` included: the first alert of a
        # fault that held 2 minutes says "for 2m", not "for 0s"
        "duration": format_duration(max(0.0, now - start)),
        "state": str(event.state),
    }
    if device is not None:
        fields.update(
            {
                "device.id": device.id,
                "device.name": device.name,
                "device.site": device.site,
                "device.room": device.room,
                "device.kind": device.kind,
                "device.criticality": device.criticality,
            }
        )
        for k, v in device.labels.items():
            fields[f"device.labels.{k}"] = v
    for k, v in labels.items():
        fields[f"labels.{k}"] = v
    return Fault(
        key=fault_key(rule.name, st.device, labels),
        rule=rule.name,
        group=rule.group,
        device=st.device,
        metric=rule.metric_text,
        level=event.level,
        state=event.state,
        value=st.value,
        since=st.since,
        ts=now,
        labels=labels,
        site=device.site if device is not None else None,
        summary={lang: t.render(fields) for lang, t in rule.summary.items()},
        runbook=rule.runbook,
        suppressed=event.suppressed,
        stale=event.stale,
    )
