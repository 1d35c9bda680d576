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


class RoomSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    shard: str | None = Field(default=None, pattern=ID_PATTERN)


class SiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    rooms: list[str | RoomSpec] = []
    shard: str | None = Field(default=None, pattern=ID_PATTERN)  # default: each room's own

    def to_site(self) -> Site:
        rooms = tuple(r if isinstance(r, str) else r.id for r in self.rooms)
        shards = {r.id: r.shard for r in self.rooms if isinstance(r, RoomSpec) and r.shard}
        return Site(self.id, self.name or self.id, rooms, self.shard, shards)


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
    shard: str | None = Field(default=None, pattern=ID_PATTERN)

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
            shard=self.shard,
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
    shard: str | None = None
    room_shards: dict[str, str] = field(default_factory=dict)


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
    shard: str | None = None  # as written on the device; Inventory.shard_of resolves it


DEFAULT_SHARD = "default"


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

    def shard_of(self, device_id: str) -> str:
        """The shard a device belongs to (which collectors watch it): its own `shard:`, else
        its room's, else its site's, else its room (`site/room`), else its site, else
        "default"."""
        device = self.devices.get(device_id)
        if device is None:
            return DEFAULT_SHARD
        if device.shard:
            return device.shard
        site = self.sites.get(device.site) if device.site else None
        if site is not None and device.room and device.room in site.room_shards:
            return site.room_shards[device.room]
        if site is not None and site.shard:
            return site.shard
        if device.room:
            return f"{device.site}/{device.room}" if device.site else device.room
        return device.site or DEFAULT_SHARD

    def shards(self) -> set[str]:
        return {self.shard_of(d) for d in self.devices}

    def ancestors(self, device_id: str) -> list[str]:
        """The chain of parents of a device, nearest first."""
        out: list[str] = []
        current = self.devices.get(device_id)
        while current is not None and current.parent and current.parent not in out:
            out.append(current.parent)
            current = self.devices.get(current.parent)
        return out
