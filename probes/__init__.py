"""Probes: read one device over one protocol and return Samples.

A probe only talks to its device. Scheduling, timeouts, retries, concurrency and error
accounting belong to the collector (see DESIGN.md §2)."""

from core.sample import Sample, Value
from probes.base import (
    Probe,
    ProbeAuthError,
    ProbeError,
    ProbeProtocolError,
    ProbeSettings,
    ProbeTimeout,
    ProbeTlsError,
    ProbeUnreachable,
)

__all__ = [
    "Probe",
    "ProbeAuthError",
    "ProbeError",
    "ProbeProtocolError",
    "ProbeSettings",
    "ProbeTimeout",
    "ProbeTlsError",
    "ProbeUnreachable",
    "Sample",
    "Value",
]
