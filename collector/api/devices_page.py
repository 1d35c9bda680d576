"""The console's device pages: every device with its state, and one device with its current
readings, its open incidents and graphs of its readings over the last hours or days.

    GET /console/devices
    GET /console/devices/{id}[?range=6h|24h|7d]

The graphs read the daemon's recent history (collector.history, through the view) and are
drawn here as SVG (collector.api.chart). The key readings of a room come first (temperature,
humidity, UPS battery and load), then the host's, then the rest; at most `MAX_GRAPHS`."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from markupsafe import Markup

from collector.api.board import device_levels, format_value
from collector.api.chart import line_chart
from collector.api.console_page import item_of, render
from collector.api.view import DaemonView
from core import i18n

RANGES = {"6h": 6 * 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
MAX_GRAPHS = 12
FIRST = (
    "ambient.temperature",
    "ambient.humidity",
    "battery.charge",
    "battery.runtime",
    "ups.load",
    "input.voltage",
    "output.voltage",
    "cpu.usage",
    "memory.used_percent",
    "disk.used_percent",
    "http.response_seconds",
    "http.up",
    "device.up",
)


def graph_order(metric: str) -> tuple[int, str]:
    return (FIRST.index(metric) if metric in FIRST else len(FIRST), metric)


@dataclass(frozen=True)
class DeviceRow:
    id: str
    name: str
    kind: str
    where: str
    state: str  # l1 | l2 | l3 | done (answering) | "" (no data)
    status: str


@dataclass(frozen=True)
class ReadingRow:
    metric: str
    labels: str
    value: str


@dataclass(frozen=True)
class Graph:
    metric: str
    title: str
    svg: Markup


def routes(view: DaemonView) -> list[web.RouteDef]:
    def words(key: str) -> str:
        return i18n.t(f"console.{key}", view.incidents().language())

    async def device_list(request: web.Request) -> web.Response:
        inventory = view.inventory()
        levels = device_levels(await view.incidents().active())
        down = view.not_answering()
        seen = {key[0] for key in view.latest()}
        rows = []
        for d in inventory.devices.values():
            level, _ = levels.get(d.id, (None, False))
            if level is not None:
                state = f"l{min(max(level, 1), 3)}"
            else:
                state = "done" if d.id in seen and d.id not in down else ""
            status = words("down") if d.id in down else (words("up") if d.id in seen else "–")
            where = " / ".join(p for p in (d.site, d.room) if p)
            rows.append(DeviceRow(d.id, d.name, d.kind, where, state, status))
        rows.sort(key=lambda r: (r.state == "" or r.state == "done", r.state, r.name))
        return render(request, view, "console_devices.html", "devices", devices=rows)

    async def device_page(request: web.Request) -> web.Response:
        device_id = request.match_info["id"]
        inventory = view.inventory()
        device = inventory.devices.get(device_id)
        if device is None:
            raise web.HTTPNotFound(text=f"no device {device_id!r}")
        now = view.now()
        chosen = request.query.get("range", "24h")
        if chosen not in RANGES:
            chosen = "24h"
        since = now - RANGES[chosen]
        readings = sorted(
            (
                ReadingRow(
                    s.metric,
                    ", ".join(f"{k}={v}" for k, v in sorted(s.labels.items())),
                    format_value(s.metric, s.value) + (f" {s.unit}" if s.unit else ""),
                )
                for s in list(view.latest().values())
                if s.device == device_id
            ),
            key=lambda r: (graph_order(r.metric), r.labels),
        )
        graphs: list[Graph] = []
        history = view.readings()
        if history is not None:
            series = sorted(
                history.series_of(device_id),
                key=lambda s: (graph_order(s.metric), sorted(s.labels.items())),
            )
            for s in series[:MAX_GRAPHS]:
                points = await history.points(s.device, s.metric, s.labels, since, now)
                labels = ", ".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                title = s.metric + (f" ({labels})" if labels else "")
                svg = line_chart(points, since, now, s.unit, words("no_history"))
                graphs.append(Graph(s.metric, title, svg))
        active = [
            item_of(i, view, inventory, now)
            for i in await view.incidents().active()
            if i.device == device_id
        ]
        return render(
            request,
            view,
            "console_device.html",
            "devices",
            device=device,
            where=" / ".join(p for p in (device.site, device.room) if p),
            open=active,
            readings=readings,
            graphs=graphs,
            ranges=list(RANGES),
            range=chosen,
        )

    return [
        web.get("/console/devices", device_list),
        web.get("/console/devices/{id}", device_page),
    ]
