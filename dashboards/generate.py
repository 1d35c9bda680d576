"""Writes the Grafana dashboards in this directory from one description (run it after a change:
`.venv/bin/python dashboards/generate.py`; a test fails when the JSON files and this script
disagree).

Three flavours of the same seven dashboards, because the same reading has three names:

    prometheus/       Prometheus or VictoriaMetrics scraping /metrics and /metrics/devices
                      (roomwatch_battery_charge_percent{device=…}, docs/prometheus.md)
    victoriametrics/  VictoriaMetrics fed by roomwatch's InfluxDB sink
                      (battery_charge{device=…}, docs/influxdb.md)
    influxdb/         InfluxDB fed by the sink, InfluxQL queries (measurement battery, field
                      charge; on InfluxDB 2 through its InfluxQL/DBRP mapping)

The names come from the code that writes them (reading_metrics for Prometheus, lineproto for
the sink), so a dashboard cannot drift from what the daemon sends.

(Over our modules' 400 lines: about 160 of them are the description of the seven dashboards,
DASHBOARDS, which reads best whole, next to the rendering it feeds.)"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script from a checkout

from collector.api.reading_metrics import label_name, metric_name  # noqa: E402
from collector.sinks.lineproto import split_metric  # noqa: E402

# sample unit -> Grafana unit, as each flavour stores it (Prometheus names are in base units)
GRAFANA_UNITS = {
    "%": "percent",
    "%RH": "humidity",
    "°C": "celsius",
    "V": "volt",
    "Hz": "hertz",
    "s": "s",
    "B": "bytes",
    "bit/s": "bps",
    "bps": "bps",
}


@dataclass(frozen=True)
class Flavour:
    directory: str
    datasource: str  # Grafana data source type
    title_suffix: str

    def m(self, metric: str, unit: str | None = None) -> str:
        """The series name of a reading in this flavour."""
        if self.directory == "prometheus":
            return metric_name(metric, unit)[0]
        measurement, field_name = split_metric(metric)
        return f"{measurement}_{field_name}"

    def info(self, metric: str) -> str:
        return metric_name(metric, None)[0] + "_info"

    def label(self, name: str) -> str:
        return label_name(name) if self.directory == "prometheus" else name

    def unit(self, unit: str | None) -> str:
        if unit == "Mbit/s":  # the Prometheus name is scaled to bits per second
            return "bps" if self.directory == "prometheus" else "Mbits"
        return GRAFANA_UNITS.get(unit or "", "none")


PROMETHEUS = Flavour("prometheus", "prometheus", "Prometheus")
VICTORIA = Flavour("victoriametrics", "prometheus", "VictoriaMetrics via the InfluxDB sink")
INFLUX = Flavour("influxdb", "influxdb", "InfluxDB")
FLAVOURS = (PROMETHEUS, VICTORIA, INFLUX)


@dataclass(frozen=True)
class Panel:
    """One panel: a reading grouped by device (+ `by`), or a PromQL expression of its own.

    `rate`: a counter shown per second (`scale` then multiplies, e.g. 8 for bits)."""

    title: str
    metric: str = ""
    unit: str | None = None
    by: tuple[str, ...] = ()
    kind: str = "timeseries"  # timeseries | stat
    reduce: str = "max"  # a stat's aggregation over devices
    rate: bool = False
    scale: float = 1.0
    show_unit: str | None = None  # the Grafana unit when it is not the reading's
    promql: Callable[[Flavour], str] | None = None
    influxql: str | None = None
    flavours: tuple[Flavour, ...] = FLAVOURS


SITE = 'site=~"$site"'
DEVICE = 'site=~"$site", device=~"$device"'


def promql(panel: Panel, f: Flavour) -> str:
    if panel.promql is not None:
        return panel.promql(f)
    series = f"{f.m(panel.metric, panel.unit)}{{{DEVICE}}}"
    if panel.rate:
        series = f"rate({series}[$__rate_interval])"
    if panel.scale != 1.0:
        series = f"{series} * {panel.scale:g}"
    if panel.kind == "stat":
        return f"{panel.reduce}({series})"
    return series


def influxql(panel: Panel) -> str:
    if panel.influxql is not None:
        return panel.influxql
    measurement, field_name = split_metric(panel.metric)
    value = f'mean("{field_name}")'
    if panel.rate:
        value = f"non_negative_derivative({value}, 1s)"
    if panel.scale != 1.0:
        value = f"{value} * {panel.scale:g}"
    group = "" if panel.kind == "stat" else ', "device"' + "".join(f', "{b}"' for b in panel.by)
    select = f"SELECT {value}" if panel.kind != "stat" else f'SELECT last("{field_name}")'
    return (
        f'{select} FROM "{measurement}" WHERE "site" =~ /^$site$/ AND "device" =~ /^$device$/'
        f" AND $timeFilter GROUP BY time($__interval){group} fill(null)"
    )


def legend(panel: Panel, f: Flavour) -> str:
    return " ".join(["{{device}}", *(f"{{{{{f.label(b)}}}}}" for b in panel.by)])


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    device_metric: str  # the devices the $device list offers: those reporting this
    panels: list[Panel] = field(default_factory=list)
    device_unit: str | None = None


def _count_down(f: Flavour) -> str:
    return f"count({f.m('device.up')}{{{SITE}}} == 0) or vector(0)"


def _ports_down(f: Flavour) -> str:
    oper, admin = f.m("ifOperStatus"), f.m("ifAdminStatus")
    return f"count(({oper}{{{DEVICE}}} != 1) and ({admin}{{{DEVICE}}} == 1)) or vector(0)"


def _poll_lag(_f: Flavour) -> str:
    rate = 'rate(roomwatch_poll_lag_seconds_bucket{job=~"$job"}[$__rate_interval])'
    return f"histogram_quantile(0.95, sum by (le) ({rate}))"


def _self(name: str, *, rate: bool = False, by: str = "") -> Callable[[Flavour], str]:
    def expr(_f: Flavour) -> str:
        series = f'{name}{{job=~"$job"}}'
        series = f"rate({series}[$__rate_interval])" if rate else series
        return f"sum by ({by}) ({series})" if by else series

    return expr


UPTIME_INFLUX = (
    'SELECT count("up") FROM "device" WHERE "site" =~ /^$site$/ AND "up" = 0 AND $timeFilter'
)

DASHBOARDS = [
    Dashboard(
        "roomwatch-overview",
        "Machine room overview",
        "device.up",
        [
            Panel("Devices not answering", kind="stat", promql=_count_down, influxql=UPTIME_INFLUX),
            Panel(
                "Devices answering by kind",
                promql=lambda f: f"sum by (kind) ({f.m('device.up')}{{{SITE}}})",
                influxql='SELECT sum("up") FROM "device" WHERE "site" =~ /^$site$/ AND $timeFilter GROUP BY time($__interval), "kind" fill(null)',
            ),
            Panel("Lowest UPS charge", "battery.charge", "%", kind="stat", reduce="min"),
            Panel("Warmest sensor", "ambient.temperature", "°C", kind="stat"),
            Panel("Websites up", "http.up", kind="stat", reduce="sum"),
            Panel("Slowest polls", "device.poll_seconds", "s"),
        ],
    ),
    Dashboard(
        "roomwatch-ups",
        "UPS units",
        "battery.charge",
        [
            Panel("Battery charge", "battery.charge", "%", by=("ups",)),
            Panel("Battery runtime", "battery.runtime", "s", by=("ups",)),
            Panel("Load", "ups.load", "%", by=("ups",)),
            Panel("Input voltage", "input.voltage", "V", by=("ups",)),
            Panel("Output voltage", "output.voltage", "V", by=("ups",)),
            Panel("Input frequency", "input.frequency", "Hz", by=("ups",)),
            Panel(
                "State (NUT flags)",
                promql=lambda f: (
                    f"max by (device, ups, state) ({f.info('ups.status')}{{{DEVICE}}})"
                ),
                flavours=(PROMETHEUS,),  # the sink's text fields are 0 in VictoriaMetrics
            ),
            Panel(
                "State (NUT flags)",
                influxql='SELECT last("status") FROM "ups" WHERE "site" =~ /^$site$/ AND "device" =~ /^$device$/ AND $timeFilter GROUP BY "device", "ups"',
                flavours=(INFLUX,),
            ),
        ],
        device_unit="%",
    ),
    Dashboard(
        "roomwatch-environment",
        "Environment",
        "ambient.temperature",
        [
            Panel("Temperature", "ambient.temperature", "°C"),
            Panel("Humidity", "ambient.humidity", "%RH"),
            Panel("Warmest", "ambient.temperature", "°C", kind="stat"),
        ],
        device_unit="°C",
    ),
    Dashboard(
        "roomwatch-network",
        "Network ports",
        "ifOperStatus",
        [
            Panel(
                "Traffic in", "ifHCInOctets", "B", ("ifName",), rate=True, scale=8, show_unit="bps"
            ),
            Panel(
                "Traffic out",
                "ifHCOutOctets",
                "B",
                ("ifName",),
                rate=True,
                scale=8,
                show_unit="bps",
            ),
            Panel("Input errors per second", "ifInErrors", None, ("ifName",), rate=True),
            Panel("Operational status (1 up, 2 down)", "ifOperStatus", None, ("ifName",)),
            Panel(
                "Ports down that should be up",
                kind="stat",
                promql=_ports_down,
                influxql='SELECT count("value") FROM "ifOperStatus" WHERE "device" =~ /^$device$/ AND "value" <> 1 AND $timeFilter',
            ),
            Panel("Port speed", "ifHighSpeed", "Mbit/s", ("ifName",)),
        ],
    ),
    Dashboard(
        "roomwatch-hosts",
        "Hosts",
        "cpu.usage",
        [
            Panel("CPU", "cpu.usage", "%"),
            Panel("Memory used", "memory.used_percent", "%"),
            Panel("Disk used", "disk.used_percent", "%", ("mount",)),
            Panel("Load (1 min)", "load.1"),
            Panel("Received", "net.rx_bytes", "B", ("nic",), rate=True, scale=8, show_unit="bps"),
            Panel("Uptime", "uptime.seconds", "s", kind="stat", reduce="min"),
        ],
        device_unit="%",
    ),
    Dashboard(
        "roomwatch-websites",
        "Websites",
        "http.up",
        [
            Panel("Up", "http.up"),
            Panel("Response time", "http.response_seconds", "s"),
            Panel("Status code", "http.status"),
            Panel("Expected text found", "http.content_match"),
            Panel("TLS certificate expires in", "tls.cert_expiry_days", "d", show_unit="d"),
        ],
    ),
    Dashboard(
        "roomwatch-self",
        "roomwatch itself",
        "device.up",
        [
            Panel("Slowest polls", "device.poll_seconds", "s"),
            Panel("Devices not answering", kind="stat", promql=_count_down, influxql=UPTIME_INFLUX),
            Panel("Garbled SNMP answers", "snmp.garbled"),
            Panel("Modbus timeouts", "modbus.timeouts"),
            Panel(
                "Poll lag (95th percentile)",
                promql=_poll_lag,
                show_unit="s",
                flavours=(PROMETHEUS,),
            ),
            *(
                Panel(title, promql=expr, flavours=(PROMETHEUS,))
                for title, expr in [
                    ("Polls per second", _self("roomwatch_polls_total", rate=True)),
                    ("Failed polls per second", _self("roomwatch_poll_failures_total", rate=True)),
                    ("Fault queue", _self("roomwatch_fault_queue_depth")),
                    ("Active incidents by level", _self("roomwatch_incidents_active", by="level")),
                    ("Samples not yet stored", _self("roomwatch_sink_spool_depth", by="sink")),
                    (
                        "Samples stored per second",
                        _self("roomwatch_sink_written_total", rate=True, by="sink"),
                    ),
                    (
                        "Rule time per second",
                        _self("roomwatch_rule_evaluation_seconds_sum", rate=True),
                    ),
                    ("Messages waiting to be sent", _self("roomwatch_alert_outbox_pending")),
                    ("Event loop lag", _self("roomwatch_event_loop_lag_seconds")),
                ]
            ),
        ],
    ),
]


def _variable(name: str, query: str, datasource: dict[str, str]) -> dict[str, object]:
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": datasource,
        "query": query,
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"text": "All", "value": "$__all"},
        "sort": 1,
    }


def variables(d: Dashboard, f: Flavour) -> list[dict[str, object]]:
    ds = {"type": f.datasource, "uid": "${datasource}"}
    out: list[dict[str, object]] = [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": f.datasource,
            "current": {},
        }
    ]
    if f is INFLUX:
        measurement, field_name = split_metric(d.device_metric)
        del field_name
        out.append(_variable("site", 'SHOW TAG VALUES FROM "device" WITH KEY = "site"', ds))
        out.append(
            _variable(
                "device",
                f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "device" WHERE "site" =~ /^$site$/',
                ds,
            )
        )
        return out
    up = f.m("device.up")
    out.append(_variable("site", f"label_values({up}, site)", ds))
    series = f.m(d.device_metric, d.device_unit)
    out.append(_variable("device", f"label_values({series}{{{SITE}}}, device)", ds))
    if f is PROMETHEUS and d.uid == "roomwatch-self":
        out.append(_variable("job", "label_values(roomwatch_polls_total, job)", ds))
    return out


def panel_json(panel: Panel, f: Flavour, number: int) -> dict[str, object]:
    if f is INFLUX:
        target: dict[str, object] = {
            "refId": "A",
            "rawQuery": True,
            "query": influxql(panel),
            "resultFormat": "table" if "State" in panel.title else "time_series",
        }
    else:
        target = {"refId": "A", "expr": promql(panel, f), "legendFormat": legend(panel, f)}
        if panel.promql is not None:
            target["legendFormat"] = "__auto"
    width = 8 if panel.kind == "stat" else 12
    return {
        "id": number,
        "type": "table" if "State" in panel.title else panel.kind,
        "title": panel.title,
        "datasource": {"type": f.datasource, "uid": "${datasource}"},
        "gridPos": {"h": 4 if panel.kind == "stat" else 8, "w": width, "x": 0, "y": 0},
        "fieldConfig": {
            "defaults": {"unit": panel.show_unit or f.unit(panel.unit)},
            "overrides": [],
        },
        "options": {},
        "targets": [target],
    }


def _lay_out(panels: list[dict[str, object]]) -> None:
    """Left to right, then the next row (Grafana would pack them anyway)."""
    x = y = row_height = 0
    for panel in panels:
        grid = panel["gridPos"]
        assert isinstance(grid, dict)
        if x + grid["w"] > 24:
            x, y, row_height = 0, y + row_height, 0
        grid["x"], grid["y"] = x, y
        x += grid["w"]
        row_height = max(row_height, grid["h"])


def dashboard_json(d: Dashboard, f: Flavour) -> dict[str, object]:
    panels = [p for p in d.panels if f in p.flavours]
    rendered = [panel_json(p, f, n) for n, p in enumerate(panels, 1)]
    _lay_out(rendered)
    return {
        "uid": f"{d.uid}-{f.directory}"[:40],
        "title": f"{d.title} ({f.title_suffix})",
        "tags": ["roomwatch", f.directory],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables(d, f)},
        "annotations": {"list": []},
        "panels": rendered,
    }


def rendered() -> dict[Path, str]:
    """Every dashboard file's path (relative to this directory) and text."""
    out: dict[Path, str] = {}
    for f in FLAVOURS:
        for d in DASHBOARDS:
            name = d.uid.removeprefix("roomwatch-")
            text = json.dumps(dashboard_json(d, f), indent=2, ensure_ascii=False) + "\n"
            out[Path(f.directory) / f"{name}.json"] = text
    return out


def main() -> None:
    for path, text in rendered().items():
        (HERE / path).parent.mkdir(exist_ok=True)
        (HERE / path).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
