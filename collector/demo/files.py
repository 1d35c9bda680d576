"""The files of the demo room, written into its directory: roomwatch.yaml, inventory.yaml and
rules.yaml, pointing at the simulated devices' ports. Rewritten at every start (so a changed
port is followed); the state (ticket store, readings, users) is kept between runs."""

from __future__ import annotations

from pathlib import Path

from collector.demo.room import Ports

MAIN = """\
# The demo room (`roomwatch demo`): written at each start, edits are lost.
inventory: inventory.yaml
rules: [rules.yaml]
credentials: credentials.yaml
state_dir: state
collector: {{jitter: 0.05}}
api: {{listen: "127.0.0.1:{api}"}}
history: {{keep: 1d, max_series: 5000}}
alerting:
  language: {language}
  group: {{wait: 0s}}
  reopen_window: 10m               # a fault of the next round reopens its incident
  notifiers:
    - type: log
    - type: file
      path: alerts.jsonl            # state/alerts.jsonl: one JSON line per message sent
  duty:
    people:
      oncall: {{name: On-call engineer}}
      lead: {{name: Team lead}}
      manager: {{name: Room manager}}
    roles: {{team-lead: [lead], manager: [manager]}}
    shifts:
      - {{name: day, start: "07:30", end: "18:30", rotation: [oncall]}}
      - {{name: night, start: "18:30", end: "07:30", mode: phone, rotation: [oncall]}}
  # demo-sized clocks, so escalation shows within a minute or two
  sla:
    1: {{respond: 30s, arrive: 2m, repair: 5m}}
    2: {{respond: 45s, arrive: 3m, repair: 10m}}
    3: {{respond: 1m, arrive: 5m, repair: 20m}}
  escalation:
    1: [{{after: 0s}}, {{after: 20s, notify: ["role:team-lead"]}}, {{after: 40s, notify: ["role:manager"]}}]
    2: [{{after: 0s}}, {{after: 30s, notify: ["role:team-lead"]}}, {{after: 60s, notify: ["role:manager"]}}]
    3: [{{after: 0s}}, {{after: 45s, notify: ["role:team-lead"]}}]
"""

INVENTORY = """\
sites:
  - id: demo
    name: Demo machine room
    rooms: [hall-a, hall-b, office]
devices:
  - {{id: this-host, name: This machine, kind: server, site: demo, room: office, criticality: 2,
     probes: [{{type: local, interval: 15s}}]}}
  - {{id: core-sw, name: Core switch, kind: switch, site: demo, room: hall-a, criticality: 2,
     probes: [{{type: snmp, address: "127.0.0.1:{core_sw}", credentials: demo-snmp, profile: auto,
               interval: 5s, timeout: 4s}}]}}
  - {{id: access-sw, name: Access switch, kind: switch, site: demo, room: hall-b, criticality: 3,
     parent: core-sw,
     probes: [{{type: snmp, address: "127.0.0.1:{access_sw}", credentials: demo-snmp, profile: auto,
               interval: 10s, timeout: 4s}}]}}
  - {{id: ups-a, name: UPS A (SNMP), kind: ups, site: demo, room: hall-a, criticality: 1,
     probes: [{{type: snmp, address: "127.0.0.1:{ups_a}", credentials: demo-snmp, profile: auto,
               interval: 5s, timeout: 4s}}]}}
  - {{id: ups-b, name: UPS B (serial), kind: ups, site: demo, room: hall-b, criticality: 1,
     probes: [{{type: megatec, port: "{tty}", battery_cells: 6, query_rating: false,
               query_identity: false, interval: 5s, timeout: 4s}}]}}
  - {{id: th-a1, name: Sensor hall-a rack 3, kind: sensor, site: demo, room: hall-a,
     criticality: 2,
     probes: [{{type: modbus-tcp, address: "127.0.0.1:{modbus}", unit: 1, profile: xy-md02,
               interval: 5s}}]}}
  - {{id: th-b1, name: Sensor hall-b rack 1, kind: sensor, site: demo, room: hall-b,
     criticality: 2,
     probes: [{{type: modbus-tcp, address: "127.0.0.1:{modbus}", unit: 2, profile: xy-md02,
               interval: 5s}}]}}
  - {{id: shop, name: Shop website, kind: website, site: demo, room: office, criticality: 2,
     probes: [{{type: http, url: "http://127.0.0.1:{shop}/", interval: 5s, timeout: 3s,
               expect_status: [200]}}]}}
  - {{id: intranet, name: Intranet, kind: website, site: demo, room: office, criticality: 3,
     probes: [{{type: http, url: "http://127.0.0.1:{intranet}/", interval: 10s, timeout: 3s,
               expect_status: [200]}}]}}
"""

RULES = """\
# The demo's rules: the shipped examples (examples/rules/) with demo-sized waits.
groups:
  - name: demo
    rules:
      - name: uplink-port-down
        select: {kind: switch}
        metric: ifOperStatus
        where: {ifIndex: "10149"}
        levels: {2: "!= 1"}
        for: 10s
        clear: "== 1"
        summary:
          zh: "{device.name} 上联端口 {labels.ifDescr} 断开"
          en: "{device.name} uplink {labels.ifDescr} is down"
        runbook: "Check the optic and the patch lead at both ends; check the peer switch."
      - name: ups-on-battery
        select: {kind: ups}
        metric: ups.status
        levels: {1: "contains OB and contains LB", 2: "contains OB"}
        for: 5s
        summary:
          zh: "{device.name} 市电中断，电池供电（{value}）"
          en: "{device.name} is on battery ({value})"
        runbook: "Check the mains feed and the ATS; plan a shutdown if the runtime is short."
      - name: room-temperature
        select: {kind: sensor}
        metric: ambient.temperature
        levels: {1: "> 35", 2: "> 30", 3: "> 27"}
        for: 10s
        clear: "< 26"
        summary:
          zh: "{device.name} 温度 {value:.1f} °C"
          en: "{device.name} at {value:.1f} °C"
        runbook: "Check the CRAC unit and the blanking panels of the rack."
      - name: website-down
        select: {kind: website}
        metric: http.up
        levels: {2: "== 0"}
        for: 10s
        clear: "== 1"
        summary:
          zh: "{device.name} 无法访问"
          en: "{device.name} is down (HTTP check failed)"
      - name: device-unreachable
        select: {}
        metric: device.up
        levels: {2: "== 0"}
        for: 30s
        summary:
          zh: "{device.name} 无响应"
          en: "{device.name} does not answer"
"""


def write_files(directory: Path, ports: Ports, tty: str, language: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "state").mkdir(exist_ok=True)
    main = directory / "roomwatch.yaml"
    main.write_text(MAIN.format(api=ports.api, language=language), "utf-8")
    (directory / "inventory.yaml").write_text(
        INVENTORY.format(
            core_sw=ports.core_sw,
            access_sw=ports.access_sw,
            ups_a=ports.ups_a,
            tty=tty,
            modbus=ports.modbus,
            shop=ports.shop,
            intranet=ports.intranet,
        ),
        "utf-8",
    )
    (directory / "rules.yaml").write_text(RULES, "utf-8")
    credentials = directory / "credentials.yaml"
    credentials.write_text(
        "# the simulated agents answer any community\ndemo-snmp: {community: public}\n", "utf-8"
    )
    credentials.chmod(0o600)
    return main
