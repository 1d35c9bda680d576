"""What the wall-screen status page shows: `build_board` turns the inventory, the open
incidents, the latest samples and the maintenance windows into a `Board`. Pure: no I/O, no
clock. `collector.api.page` renders a Board as HTML."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerting.config import SlaTargets
from alerting.sla import clocks
from alerting.store import Incident
from collector.api.view import SeriesKey
from core.i18n import FALLBACK, LANGUAGES, t
from core.sample import Sample
from inventory.model import Device, Inventory
from rules.maintenance import MaintenanceWindow

ENVIRONMENT_METRICS = ("ambient.temperature", "ambient.humidity")
UPS_METRICS = (
    "ups.status",
    "battery.charge",
    "battery.runtime",
    "ups.load",
    "input.voltage",
    "output.voltage",
)


@dataclass(frozen=True)
class Tile:
    """One device on the board. `state` picks the colour: l1, l2, l3 (worst open level),
    suppressed, maintenance, nodata or ok."""

    id: str
    name: str
    kind: str
    state: str
    level: int | None = None
    note: str = ""


@dataclass(frozen=True)
class UpsLine:
    name: str
    status: str  # ups.status as the UPS says it (OL, OB DISCHRG, …)
    on_battery: bool
    charge: str
    load: str
    runtime: str


@dataclass(frozen=True)
class Room:
    """A room of the wall screen: its devices, and the key readings read across a room (the
    warmest sensor's temperature, the most humid one's humidity, each UPS's state)."""

    name: str
    tiles: tuple[Tile, ...]
    temperature: str | None = None
    humidity: str | None = None
    ups: tuple[UpsLine, ...] = ()
    worst: str = "ok"  # the worst tile state: the card's colour


@dataclass(frozen=True)
class SiteBoard:
    name: str
    rooms: tuple[Room, ...]


@dataclass(frozen=True)
class SlaClock:
    name: str  # respond | arrive | repair
    due: float
    met_at: float | None
    breached: bool


@dataclass(frozen=True)
class BoardIncident:
    id: int
    level: int
    state: str
    device: str
    device_name: str
    where: str
    summary: str
    opened_at: float
    acknowledged_by: str | None
    suppressed: str | None
    stale: bool
    clocks: tuple[SlaClock, ...]
    ticket: str = ""  # the human number (RW-2026-000123) the desk gives, when it does


@dataclass(frozen=True)
class Reading:
    device_name: str
    sensor: str
    values: dict[str, str]  # metric → formatted value


@dataclass(frozen=True)
class Board:
    language: str
    now: float
    refresh: float
    sites: tuple[SiteBoard, ...]
    incidents: tuple[BoardIncident, ...]
    environment: tuple[Reading, ...]
    ups: tuple[Reading, ...]
    counts: dict[str, int] = field(default_factory=dict)
    scope: str | None = None  # the one room shown ("site/room" or "room"), None: all rooms
    devices: int = 0


# Kinds of device nobody goes on site for: the wall screen shows them no "on site" clock.
REMOTE = frozenset({"website"})

STATE_ORDER = ("l1", "l2", "l3", "suppressed", "nodata", "maintenance", "ok")


def in_scope(device: Device, scope: str | None) -> bool:
    """Whether a device belongs to the room a wall screen shows: `scope` is a room name, or
    "site/room" when two sites have rooms of one name."""
    if not scope:
        return True
    site, _, room = scope.rpartition("/")
    return device.room == room and (not site or device.site == site)


def room_readings(
    devices: Sequence[Device], latest: Iterable[Sample]
) -> tuple[str | None, str | None, tuple[UpsLine, ...]]:
    """The key readings of one room: highest temperature, highest humidity, each UPS."""
    ids = {d.id: d for d in devices}
    temps: list[float] = []
    hums: list[float] = []
    ups: dict[str, dict[str, Any]] = {}
    for sample in latest:
        if sample.device not in ids or isinstance(sample.value, bool):
            continue
        value = sample.value
        if sample.metric == "ambient.temperature" and isinstance(value, int | float):
            if math.isfinite(value):
                temps.append(float(value))
        elif sample.metric == "ambient.humidity" and isinstance(value, int | float):
            if math.isfinite(value):
                hums.append(float(value))
        elif sample.metric in UPS_METRICS:
            ups.setdefault(sample.device, {})[sample.metric] = value
    lines = []
    for device_id, values in ups.items():
        status = str(values.get("ups.status", "–"))
        lines.append(
            UpsLine(
                name=ids[device_id].name,
                status=status,
                on_battery="OB" in status.split(),
                charge=format_value("battery.charge", values.get("battery.charge")),
                load=format_value("ups.load", values.get("ups.load")),
                runtime=format_value("battery.runtime", values.get("battery.runtime")),
            )
        )
    lines.sort(key=lambda u: u.name)
    temperature = format_value("ambient.temperature", max(temps)) if temps else None
    humidity = format_value("ambient.humidity", max(hums)) if hums else None
    return temperature, humidity, tuple(lines)


# ------------------------------------------------------------------------------- build


def device_levels(incidents: Iterable[Incident]) -> dict[str, tuple[int | None, bool]]:
    """Device → (worst level among its unsuppressed active incidents, has suppressed ones)."""
    out: dict[str, tuple[int | None, bool]] = {}
    for incident in incidents:
        if not incident.active:
            continue
        level, suppressed = out.get(incident.device, (None, False))
        if incident.suppressed:
            suppressed = True
        elif level is None or incident.level < level:
            level = incident.level
        out[incident.device] = (level, suppressed)
    return out


def tile_state(level: int | None, suppressed: bool, in_maintenance: bool, has_data: bool) -> str:
    if level is not None:
        return f"l{min(max(level, 1), 3)}"
    if in_maintenance:
        return "maintenance"
    if suppressed:
        return "suppressed"
    if not has_data:
        return "nodata"
    return "ok"


def summary_text(incident: Incident, language: str) -> str:
    summary = incident.summary or {}
    for lang in (language, "en", "zh"):
        if summary.get(lang):
            return str(summary[lang])
    return next(iter(summary.values()), None) or f"{incident.rule} on {incident.device}"


def format_value(metric: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool | str):
        return str(value)
    if metric == "ambient.temperature" or metric.endswith("temperature"):
        return f"{value:.1f} °C"
    if metric == "ambient.humidity":
        return f"{value:.0f} %RH"
    if metric in ("battery.charge", "ups.load"):
        return f"{value:.0f} %"
    if metric == "battery.runtime":
        minutes = int(value) // 60
        return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    if metric.endswith(".voltage"):
        return f"{value:.0f} V"
    return f"{value:g}"


def _readings(
    devices: Mapping[str, Device], latest: Iterable[Sample], metrics: Sequence[str]
) -> tuple[Reading, ...]:
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for sample in latest:
        if sample.metric not in metrics or sample.device not in devices:
            continue
        sensor = sample.labels.get("sensor", "")
        rows.setdefault((sample.device, sensor), {})[sample.metric] = format_value(
            sample.metric, sample.value
        )
    order = {device_id: i for i, device_id in enumerate(devices)}
    return tuple(
        Reading(devices[device_id].name, sensor, values)
        for (device_id, sensor), values in sorted(
            rows.items(), key=lambda item: (order[item[0][0]], item[0][1])
        )
    )


def build_board(
    inventory: Inventory,
    incidents: Sequence[Incident],
    latest: Mapping[SeriesKey, Sample],
    windows: Sequence[MaintenanceWindow],
    sla_for: Callable[[int], SlaTargets],
    language: str,
    now: float,
    refresh: float = 10.0,
    scope: str | None = None,
) -> Board:
    """What the wall screen shows at `now`, of every room or of the room `scope`. Pure: no
    I/O, no clock."""
    if scope:
        devices = {k: d for k, d in inventory.devices.items() if in_scope(d, scope)}
        inventory = Inventory(sites=inventory.sites, devices=devices)
        incidents = [i for i in incidents if i.device in devices]
    levels = device_levels(incidents)
    with_data = {key[0] for key in latest}
    # One device.up per probe (label `probe`): a probe that got no answer is what the tile tells.
    up: dict[str, Sample] = {}
    for s in latest.values():
        if s.metric == "device.up" and s.device in inventory.devices:
            seen = up.get(s.device)
            if seen is None or (seen.value and not s.value):
                up[s.device] = s
    active_windows = [w for w in windows if w.active(now)]

    def tile(device: Device) -> Tile:
        level, suppressed = levels.get(device.id, (None, False))
        in_maintenance = any(w.selects(device) for w in active_windows)
        state = tile_state(level, suppressed, in_maintenance, device.id in with_data)
        note = ""
        sample = up.get(device.id)
        if sample is not None and not sample.value:
            note = sample.note or "down"
        elif state == "maintenance":
            note = t("status.maintenance", language)
        elif state == "nodata":
            note = t("status.no_data", language)
        return Tile(device.id, device.name, device.kind, state, level, note)

    site_ids = list(inventory.sites)
    site_ids += sorted(
        {d.site or "" for d in inventory.devices.values()} - set(site_ids),
    )
    sites: list[SiteBoard] = []
    for site_id in site_ids:
        members = [d for d in inventory.devices.values() if (d.site or "") == site_id]
        site = inventory.sites.get(site_id)
        room_names = list(site.rooms) if site else []
        room_names += sorted({d.room for d in members if d.room} - set(room_names))
        rooms = []
        for name in room_names:
            inside = [d for d in members if d.room == name]
            rooms.append(_room(name, inside, [tile(d) for d in inside], latest.values()))
        loose = [d for d in members if not d.room]
        if loose:
            label = t("status.no_room", language) if room_names else ""
            rooms.append(_room(label, loose, [tile(d) for d in loose], latest.values()))
        rooms = [r for r in rooms if r.tiles]
        if rooms:
            name = site.name if site else (site_id or t("status.no_room", language))
            sites.append(SiteBoard(name, tuple(rooms)))

    board_incidents = []
    for incident in sorted(
        (i for i in incidents if i.active), key=lambda i: (i.suppressed is not None, i.level, i.id)
    ):
        device = inventory.devices.get(incident.device)
        where = " / ".join(p for p in (device.site, device.room) if p) if device else ""
        board_incidents.append(
            BoardIncident(
                id=incident.id,
                level=incident.level,
                state=incident.state,
                device=incident.device,
                device_name=device.name if device else incident.device,
                where=where,
                summary=summary_text(incident, language),
                opened_at=incident.active_since,
                acknowledged_by=incident.acknowledged_by,
                suppressed=incident.suppressed,
                stale=incident.stale,
                clocks=tuple(
                    SlaClock(c.clock, c.due, c.met_at, c.breached(now))
                    for c in clocks(incident, sla_for(incident.level))
                    # nobody walks to a website: its incidents have no "on site" clock
                    if not (c.clock == "arrive" and device is not None and device.kind in REMOTE)
                ),
                ticket=incident.ticket,
            )
        )

    counts = {"l1": 0, "l2": 0, "l3": 0}
    for item in board_incidents:
        if item.suppressed is None:
            counts[f"l{min(max(item.level, 1), 3)}"] += 1
    return Board(
        language=language if language in LANGUAGES else FALLBACK,
        now=now,
        refresh=refresh,
        sites=tuple(sites),
        incidents=tuple(board_incidents),
        environment=_readings(inventory.devices, latest.values(), ENVIRONMENT_METRICS),
        ups=_readings(inventory.devices, latest.values(), UPS_METRICS),
        counts=counts,
        scope=scope or None,
        devices=len(inventory.devices),
    )


def _room(
    name: str, devices: Sequence[Device], tiles: Sequence[Tile], latest: Iterable[Sample]
) -> Room:
    temperature, humidity, ups = room_readings(devices, latest)
    worst = min((tile.state for tile in tiles), key=STATE_ORDER.index, default="ok")
    return Room(name, tuple(tiles), temperature, humidity, ups, worst)
