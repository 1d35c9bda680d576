"""What metrics a device of the inventory can produce: the union of what its probes say
(`Probe.metric_names`) and what every poll yields. Used by `roomwatch check` to warn about
rules on metrics nothing produces."""

from __future__ import annotations

from inventory.model import Device
from probes.metric_names import EVERY_DEVICE, MetricNames

__all__ = ["MetricNames", "device_metric_names"]
from probes.registry import probe_class


def device_metric_names(device: Device) -> MetricNames:
    if not device.probes:
        # not polled: whatever reaches it comes from traps or elsewhere, which we cannot tell
        return MetricNames.anything()
    parts = [MetricNames(EVERY_DEVICE)]
    parts.extend(probe_class(s.type).metric_names(s) for s in device.probes)
    return MetricNames.union(parts)
