"""The demo room: its simulated devices, the files the daemon reads, and the script of faults.

    devices (all on 127.0.0.1)        protocol             the daemon's probe
    core-sw, access-sw  switches       SNMP v2c (UDP)       snmp, profile auto (IF-MIB)
    ups-a               APC Smart-UPS  SNMP v2c (UDP)       snmp, profile auto (PowerNet)
    ups-b               line UPS       Megatec Q1 on a pty  megatec
    th-a1, th-b1        T/H sensors    Modbus TCP           modbus-tcp, profile xy-md02
    shop, intranet      websites       HTTP                 http
    this-host           this machine   –                    local

The switches and the APC replay the real recordings of tests/fixtures/recorded/snmp (a Cisco
2960-X, an APC SMX750i; LibreNMS's test data, GPL, read from the checkout and never shipped);
without a checkout a few values of our own stand in. The script (SCRIPT) then breaks and
mends things on the wire, so the incidents the daemon opens are the real thing."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from collector.accounts import UserEntry, hash_password, save_users
from collector.demo.modbus_sensors import ModbusSensors
from collector.demo.serial_ups import SerialUps
from collector.demo.snmp_agent import Mib, SnmpAgent, load_snmprec, serve
from probes.snmp import ber

log = logging.getLogger("roomwatch.demo")

RECORDINGS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "recorded" / "snmp"
UPLINK = "10149"  # ifIndex of Gi1/0/49 in the 2960-X recording: the demo's uplink
IF_OPER = "1.3.6.1.2.1.2.2.1.8."
APC_OUTPUT_STATUS = "1.3.6.1.4.1.318.1.1.1.4.1.1.0"  # 2 onLine, 3 onBattery
APC_CHARGE = "1.3.6.1.4.1.318.1.1.1.2.3.1.0"  # tenths of a percent (Gauge32)
APC_RUNTIME = "1.3.6.1.4.1.318.1.1.1.2.2.3.0"  # TimeTicks
DEMO_USERS = {
    "admin": ("admin", "demo-admin-password"),
    "oncall": ("operator", "demo-oncall-password"),
    "manager": ("viewer", "demo-manager-password"),
}


@dataclass(frozen=True)
class Ports:
    api: int
    core_sw: int
    access_sw: int
    ups_a: int
    modbus: int
    shop: int
    intranet: int

    @classmethod
    def from_base(cls, api: int, base: int) -> Ports:
        return cls(api, base, base + 1, base + 2, base + 3, base + 4, base + 5)

    def describe(self) -> list[str]:
        return [
            f"  127.0.0.1:{self.api}/tcp   the console, wall screen and API",
            f"  127.0.0.1:{self.core_sw}/udp   SNMP core switch (core-sw)",
            f"  127.0.0.1:{self.access_sw}/udp   SNMP access switch (access-sw)",
            f"  127.0.0.1:{self.ups_a}/udp   SNMP UPS A (ups-a)",
            f"  127.0.0.1:{self.modbus}/tcp   Modbus TCP gateway of the sensors (th-a1, th-b1)",
            f"  127.0.0.1:{self.shop}/tcp   website 'shop'",
            f"  127.0.0.1:{self.intranet}/tcp   website 'intranet'",
        ]


def switch_mib(name: str) -> Mib:
    recording = RECORDINGS / "ios_2960x.snmprec"
    if recording.exists():
        mib = load_snmprec(recording)
    else:  # no checkout: a switch of a few ports, our own numbers
        mib = {
            ber.parse_oid("1.3.6.1.2.1.1.2.0"): (
                ber.OBJECT_IDENTIFIER,
                (1, 3, 6, 1, 4, 1, 9, 1, 1208),
            )
        }
        for index in (10101, 10102, int(UPLINK)):
            mib[ber.parse_oid(f"1.3.6.1.2.1.2.2.1.1.{index}")] = (ber.INTEGER, index)
            mib[ber.parse_oid(f"1.3.6.1.2.1.2.2.1.2.{index}")] = (
                ber.OCTET_STRING,
                f"port{index}".encode(),
            )
            mib[ber.parse_oid(f"{IF_OPER}{index}")] = (ber.INTEGER, 1)
            mib[ber.parse_oid(f"1.3.6.1.2.1.31.1.1.1.1.{index}")] = (
                ber.OCTET_STRING,
                f"Gi1/0/{index % 100}".encode(),
            )
    mib[ber.parse_oid("1.3.6.1.2.1.1.5.0")] = (ber.OCTET_STRING, name.encode())
    mib[ber.parse_oid(f"{IF_OPER}{UPLINK}")] = (ber.INTEGER, 1)  # the uplink starts up
    return mib


def ups_mib() -> Mib:
    recording = RECORDINGS / "apc_smx750i.snmprec"
    if recording.exists():
        mib = load_snmprec(recording)
    else:
        mib = {
            ber.parse_oid("1.3.6.1.2.1.1.2.0"): (
                ber.OBJECT_IDENTIFIER,
                (1, 3, 6, 1, 4, 1, 318, 1, 3, 27),
            ),
            ber.parse_oid("1.3.6.1.4.1.318.1.1.1.1.1.1.0"): (ber.OCTET_STRING, b"Smart-UPS X 750"),
            ber.parse_oid("1.3.6.1.4.1.318.1.1.1.4.3.3.0"): (ber.GAUGE32, 202),
        }
    mib[ber.parse_oid(APC_OUTPUT_STATUS)] = (ber.INTEGER, 2)
    mib[ber.parse_oid(APC_CHARGE)] = (ber.GAUGE32, 1000)
    mib[ber.parse_oid(APC_RUNTIME)] = (ber.TIMETICKS, 570900)
    return mib


class Website:
    def __init__(self, name: str) -> None:
        self.name = name
        self.broken = False
        self._runner: web.AppRunner | None = None

    async def _page(self, _request: web.Request) -> web.Response:
        if self.broken:
            return web.Response(status=503, text=f"{self.name}: down for the demo\n")
        return web.Response(text=f"{self.name}: OK\n")

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_get("/", self._page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class Room:
    """The simulated devices, running."""

    def __init__(self, ports: Ports) -> None:
        self.ports = ports
        self.agents: dict[str, SnmpAgent] = {}
        self._transports: list[asyncio.BaseTransport] = []
        self.serial_ups = SerialUps()
        self.sensors = ModbusSensors({1: (24.0, 45.0), 2: (22.5, 50.0)}, "127.0.0.1", ports.modbus)
        self.sites = {"shop": Website("shop"), "intranet": Website("intranet")}

    async def start(self) -> None:
        for name, mib, port in (
            ("core-sw", switch_mib("core-sw"), self.ports.core_sw),
            ("access-sw", switch_mib("access-sw"), self.ports.access_sw),
            ("ups-a", ups_mib(), self.ports.ups_a),
        ):
            agent, transport = await serve(name, mib, "127.0.0.1", port)
            self.agents[name] = agent
            self._transports.append(transport)
        self.serial_ups.start()
        await self.sensors.start()
        await self.sites["shop"].start(self.ports.shop)
        await self.sites["intranet"].start(self.ports.intranet)

    async def stop(self) -> None:
        for site in self.sites.values():
            await site.stop()
        await self.sensors.stop()
        self.serial_ups.stop()
        for transport in self._transports:
            transport.close()

    # the levers of the script -------------------------------------------------------

    def uplink(self, up: bool) -> None:
        self.agents["core-sw"].set(f"{IF_OPER}{UPLINK}", ber.INTEGER, 1 if up else 2)

    def ups_a(self, on_battery: bool, charge: float, runtime_s: int) -> None:
        agent = self.agents["ups-a"]
        agent.set(APC_OUTPUT_STATUS, ber.INTEGER, 3 if on_battery else 2)
        agent.set(APC_CHARGE, ber.GAUGE32, round(charge * 10))
        agent.set(APC_RUNTIME, ber.TIMETICKS, runtime_s * 100)

    def ups_b(self, on_battery: bool, low: bool = False) -> None:
        self.serial_ups.state.on_battery = on_battery
        self.serial_ups.state.battery_low = low
        self.serial_ups.state.cell_voltage = 1.9 if low else (2.1 if on_battery else 2.27)

    def website(self, name: str, broken: bool) -> None:
        self.sites[name].broken = broken

    def temperature(self, unit: int, celsius: float) -> None:
        _, humidity = self.sensors.get(unit)
        self.sensors.set(unit, celsius, humidity)


@dataclass(frozen=True)
class Step:
    at: float  # seconds after the start, before scaling by the speed
    says: str
    act: Callable[[Room], None]


def _climb(schedule: list[tuple[float, float]]) -> list[Step]:
    return [
        Step(
            at,
            f"hall-a inlet temperature {value:.1f} °C",
            functools.partial(Room.temperature, unit=1, celsius=value),
        )
        for at, value in schedule
    ]


# The hall-a inlet, (seconds, °C): about a degree every 5 s, except that it stays above 27
# (level 3) and at or below 30 for 25 s. The rule wants 10 s at a level on 5 s polls, so level
# 3 fires by 55 s whatever phase the polls have against the script, and still before 31 °C
# arrives at 65 s when a loaded box stalls the daemon for ten seconds (tests/unit/
# test_demo_script.py). With 15 s at level 3, one poll of delay sent it straight to level 2.
HALL_A_CLIMB: list[tuple[float, float]] = [
    (25, 25.0), (30, 26.0), (35, 27.0), (40, 28.0), (50, 29.0), (60, 30.0),
    (65, 31.0), (70, 32.0), (75, 33.0), (80, 35.0), (85, 36.0), (90, 37.0),
]  # fmt: skip


# What happens when: levels 3 → 2 → 1 on the temperature, a port and two UPS units that go
# down and come back, a website that fails; all of it resolved by SCRIPT_END.
SCRIPT: list[Step] = sorted(
    [
        Step(15, "core-sw uplink Gi1/0/49 goes down", lambda r: r.uplink(False)),
        Step(
            20,
            "website 'shop' starts failing (HTTP 503)",
            lambda r: r.website("shop", broken=True),
        ),
        *_climb(HALL_A_CLIMB),
        Step(35, "UPS A loses mains: on battery", lambda r: r.ups_a(True, 96.0, 1500)),
        Step(50, "UPS A battery 71 %", lambda r: r.ups_a(True, 71.0, 1100)),
        Step(55, "UPS B (serial) loses mains: on battery", lambda r: r.ups_b(True)),
        Step(65, "UPS B battery low", lambda r: r.ups_b(True, low=True)),
        Step(70, "core-sw uplink Gi1/0/49 is back", lambda r: r.uplink(True)),
        Step(75, "website 'shop' is back", lambda r: r.website("shop", broken=False)),
        Step(80, "UPS A mains back: on line", lambda r: r.ups_a(False, 74.0, 1150)),
        Step(95, "UPS B mains back", lambda r: r.ups_b(False)),
        Step(100, "hall-a cooling back: 24.0 °C", lambda r: r.temperature(1, 24.0)),
    ],
    key=lambda s: s.at,
)
SCRIPT_END = 100.0
# what the script opens (rule, device), each resolved again by the end
EXPECTED = [
    ("uplink-port-down", "core-sw"),
    ("website-down", "shop"),
    ("room-temperature", "th-a1"),
    ("ups-on-battery", "ups-a"),
    ("ups-on-battery", "ups-b"),
]


async def play(room: Room, speed: float, say: Callable[[str], None], repeat: float | None) -> None:
    """Run the script (again every `repeat` seconds after its end, when given)."""
    while True:
        started = asyncio.get_running_loop().time()
        for step in SCRIPT:
            wait = started + step.at / speed - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
            step.act(room)
            say(step.says)
        if repeat is None:
            return
        await asyncio.sleep(repeat / speed)


def write_users(path: Path) -> None:
    if path.exists():
        return
    save_users(
        path,
        {
            name: UserEntry.model_validate(
                {"name": name, "role": role, "password": hash_password(pw), "changed": 0.0}
            )
            for name, (role, pw) in DEMO_USERS.items()
        },
    )
