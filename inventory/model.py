"""The device model: sites, rooms, devices, their dependencies and probe entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from probes.base import ProbeSettings

KINDS = (
    "server",
    "switch",
    "router",
    "firewall",
    "ups",
    "pdu",
    "sensor",
    "storage",
    "website",
    "other",
)

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


class SiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    rooms: list[str] = []


class DeviceSpec(BaseModel):
    """A device as written in the inventory file; probe entries are checked afterwards
    against each probe's own settings model."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    site: str | None = None
    room: str | None = None
    kind: str
    criticality: int = Field(default=2, ge=1, le=3)
    parent: str | None = None
    tags: list[str] = []
    labels: dict[str, str] = {}
    probes: list[dict[str, Any]] = []

    def to_device(self, probes: tuple[ProbeSettings, ...] = ()) -> Device:
        return Device(
            id=self.id,
            name=self.name or self.id,
            kind=self.kind,
            criticality=self.criticality,
            site=self.site,
            room=self.room,
            parent=self.parent,
            tags=frozenset(self.tags),
            labels=dict(self.labels),
            probes=probes,
        )


class InventoryFile(BaseModel):
    """The shape of a file; each entry is then validated on its own."""

    model_config = ConfigDict(extra="forbid")

    sites: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []


@dataclass(frozen=True)
class Site:
    id: str
    name: str
    rooms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    kind: str
    criticality: int
    site: str | None = None
    room: str | None = None
    parent: str | None = None
    tags: frozenset[str] = frozenset()
    labels: dict[str, str] = field(default_factory=dict)
    probes: tuple[ProbeSettings, ...] = ()


@dataclass(frozen=True)
class Selector:
    """Which devices a rule (or a maintenance window) applies to. Empty selects all.

    `id` is a glob (`core-sw*`); `tags` must all be present; `labels` must all match."""

    kind: tuple[str, ...] = ()
    site: tuple[str, ...] = ()
    id: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    def matches(self, device: Device) -> bool:
        if self.kind and device.kind not in self.kind:
            return False
        if self.site and device.site not in self.site:
            return False
        if self.id and not any(fnmatchcase(device.id, pattern) for pattern in self.id):
            return False
        if self.tags and not set(self.tags) <= device.tags:
            return False
        return all(device.labels.get(k) == v for k, v in self.labels)


@dataclass
class Inventory:
    sites: dict[str, Site] = field(default_factory=dict)
    devices: dict[str, Device] = field(default_factory=dict)

    def select(self, selector: Selector) -> list[Device]:
        return [d for d in self.devices.values() if selector.matches(d)]

    def ancestors(self, device_id: str) -> list[str]:
        """The chain of parents of a device, nearest first."""
        out: list[str] = []
        current = self.devices.get(device_id)
        while current is not None and current.parent and current.parent not in out:
            out.append(current.parent)
            current = self.devices.get(current.parent)
        return out
