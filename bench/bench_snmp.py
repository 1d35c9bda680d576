"""SNMP poller CPU per 1,000 varbinds: roomwatch against Debian's prometheus-snmp-exporter,
both polling the same net-snmp snmpd on loopback, v2c and v3 (authPriv SHA/AES).

One device cycle = GET of 10 scalars + GETBULK walks (max-repetitions 25) of the whole ifTable
and ifXTable of a 24-port "switch" (snmpd in a private network namespace with 12 veth pairs,
so about 1,000 varbinds per cycle). For each client the script prints the client's CPU seconds
per 1,000 varbinds and the agent's own CPU per cycle over the same cycles (the floor no client
can beat), then the ratio roomwatch / snmp_exporter. Printed, never asserted.

    .venv/bin/python bench/bench_snmp.py [--cycles 200] [--no-netns]

Needs root for `unshare -n` (without it, or with --no-netns, the host's own interfaces are
walked and the varbind count is smaller). Installs prometheus-snmp-exporter with apt if it is
missing (it is not needed by the tests).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from probes.snmp import ber  # noqa: E402
from probes.snmp.ber import Oid, Varbind  # noqa: E402
from probes.snmp.probe import SnmpProbe, SnmpSettings  # noqa: E402
from probes.snmp.session import SnmpSession  # noqa: E402
from tests.fixtures.peers import free_port, free_udp_port, stop_process, wait_until  # noqa: E402
from tests.fixtures.snmp_peers import udp_get_answers  # noqa: E402

PORTS = 24
IF_TABLE = "1.3.6.1.2.1.2.2"
IF_X_TABLE = "1.3.6.1.2.1.31.1.1"
SCALARS = [
    "1.3.6.1.2.1.1.1.0",  # sysDescr
    "1.3.6.1.2.1.1.2.0",  # sysObjectID
    "1.3.6.1.2.1.1.3.0",  # sysUpTime
    "1.3.6.1.2.1.1.4.0",  # sysContact
    "1.3.6.1.2.1.1.5.0",  # sysName
    "1.3.6.1.2.1.1.6.0",  # sysLocation
    "1.3.6.1.2.1.1.7.0",  # sysServices
    "1.3.6.1.2.1.2.1.0",  # ifNumber
    "1.3.6.1.2.1.25.1.1.0",  # hrSystemUptime
    "1.3.6.1.2.1.25.1.6.0",  # hrSystemProcesses
]
IF_COLUMNS = {  # column → (name, exporter type)
    **{f"{IF_TABLE}.1.{c}": (n, t) for c, n, t in [
        (1, "ifIndex", "gauge"), (2, "ifDescr", "DisplayString"), (3, "ifType", "gauge"),
        (4, "ifMtu", "gauge"), (5, "ifSpeed", "gauge"), (6, "ifPhysAddress", "PhysAddress48"),
        (7, "ifAdminStatus", "gauge"), (8, "ifOperStatus", "gauge"),
        (9, "ifLastChange", "gauge"), (10, "ifInOctets", "counter"),
        (11, "ifInUcastPkts", "counter"), (12, "ifInNUcastPkts", "counter"),
        (13, "ifInDiscards", "counter"), (14, "ifInErrors", "counter"),
        (15, "ifInUnknownProtos", "counter"), (16, "ifOutOctets", "counter"),
        (17, "ifOutUcastPkts", "counter"), (18, "ifOutNUcastPkts", "counter"),
        (19, "ifOutDiscards", "counter"), (20, "ifOutErrors", "counter"),
        (21, "ifOutQLen", "gauge")]},
    **{f"{IF_X_TABLE}.1.{c}": (n, t) for c, n, t in [
        (1, "ifName", "DisplayString"), (2, "ifInMulticastPkts", "counter"),
        (3, "ifInBroadcastPkts", "counter"), (4, "ifOutMulticastPkts", "counter"),
        (5, "ifOutBroadcastPkts", "counter"), (6, "ifHCInOctets", "counter"),
        (7, "ifHCInUcastPkts", "counter"), (8, "ifHCInMulticastPkts", "counter"),
        (9, "ifHCInBroadcastPkts", "counter"), (10, "ifHCOutOctets", "counter"),
        (11, "ifHCOutUcastPkts", "counter"), (12, "ifHCOutMulticastPkts", "counter"),
        (13, "ifHCOutBroadcastPkts", "counter"), (14, "ifLinkUpDownTrapEnable", "gauge"),
        (15, "ifHighSpeed", "gauge"), (16, "ifPromiscuousMode", "gauge"),
        (17, "ifConnectorPresent", "gauge"), (18, "ifAlias", "DisplayString"),
        (19, "ifCounterDiscontinuityTime", "gauge")]},
}  # fmt: skip
V3_USER, V3_AUTH, V3_PRIV = "benchuser", "authpass123", "privpass123"
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def make_ports() -> int:
    """In a private network namespace: loopback up and PORTS veth interfaces."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for i in range(PORTS // 2):
        subprocess.run(
            ["ip", "link", "add", f"swp{2 * i + 1}", "type", "veth", "peer", "name", f"swp{2 * i + 2}"],
            check=True,
        )  # fmt: skip
    for i in range(1, PORTS + 1):
        subprocess.run(["ip", "link", "set", f"swp{i}", "up"], check=True)
    return PORTS + 1


def start_snmpd(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_udp_port()
    (work / "persist").mkdir()
    conf = work / "snmpd.conf"
    conf.write_text(
        f"[snmp] persistentDir {work / 'persist'}\n"
        f"agentAddress udp:127.0.0.1:{port}\n"
        "rocommunity public 127.0.0.1\n"
        f'createUser {V3_USER} SHA "{V3_AUTH}" AES "{V3_PRIV}"\n'
        f"rouser {V3_USER} priv\n"
        "sysName bench-switch\nsysLocation bench\nsysContact ops\n"
    )
    proc = subprocess.Popen(
        ["snmpd", "-f", "-C", "-c", str(conf), "-m", "", "-M", "/dev/null", "-Lf", str(work / "snmpd.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_until(lambda: udp_get_answers(port, "public"), timeout=15, what="snmpd")
    return proc, port


def bench_profile(directory: Path) -> None:
    """A roomwatch profile reading exactly what the exporter reads."""
    lines = ["name: bench-switch", "description: benchmark cycle", "scalars:"]
    lines += [f"  - {{name: s{i}, oid: {oid}}}" for i, oid in enumerate(SCALARS)]
    lines += ["tables:", "  - index: ifIndex", "    labels:",
              f"      ifName: {IF_X_TABLE}.1.1", f"      ifDescr: {IF_TABLE}.1.2",
              f"      ifAlias: {IF_X_TABLE}.1.18", "    metrics:"]  # fmt: skip
    for oid, (name, kind) in IF_COLUMNS.items():
        rate = ", rate: true" if kind == "counter" else ""
        lines.append(f"      - {{name: {name}, oid: {oid}{rate}}}")
    lines.append(f"      - {{name: ifSpecific, oid: {IF_TABLE}.1.22}}")
    (directory / "bench-switch.yaml").write_text("\n".join(lines) + "\n")


def exporter_config(path: Path, port: int) -> None:
    metrics = []
    for oid, (name, kind) in IF_COLUMNS.items():
        metrics.append(
            f"  - name: {name}\n    oid: {oid}\n    type: {kind}\n"
            "    indexes:\n    - labelname: ifIndex\n      type: gauge\n"
            "    lookups:\n"
            + "".join(
                f"    - labels: [ifIndex]\n      labelname: {label}\n      oid: {loid}\n"
                "      type: DisplayString\n"
                for label, loid in (("ifName", f"{IF_X_TABLE}.1.1"), ("ifDescr", f"{IF_TABLE}.1.2"),
                                    ("ifAlias", f"{IF_X_TABLE}.1.18"))
            )
        )  # fmt: skip
    for oid in SCALARS:
        metrics.append(
            f"  - name: s_{oid.replace('.', '_')}\n    oid: {oid[:-2]}\n    type: gauge\n"
        )
    body = "".join(metrics)
    common = (
        f"  walk: [{IF_TABLE}, {IF_X_TABLE}]\n  get: [{', '.join(SCALARS)}]\n"
        "  max_repetitions: 25\n  retries: 1\n  timeout: 5s\n"
    )
    path.write_text(
        f"bench_v2c:\n{common}  version: 2\n  auth:\n    community: public\n  metrics:\n{body}"
        f"bench_v3:\n{common}  version: 3\n  auth:\n    username: {V3_USER}\n"
        f"    security_level: authPriv\n    password: {V3_AUTH}\n    auth_protocol: SHA\n"
        f"    priv_protocol: AES\n    priv_password: {V3_PRIV}\n  metrics:\n{body}"
    )


def ensure_exporter() -> str:
    found = shutil.which("prometheus-snmp-exporter")
    if found:
        return found
    print("installing prometheus-snmp-exporter (apt) …", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                    "prometheus-snmp-exporter"], check=True, env=env, stdout=subprocess.DEVNULL)  # fmt: skip
    found = shutil.which("prometheus-snmp-exporter")
    if not found:
        raise SystemExit("prometheus-snmp-exporter is not available")
    return found


class CountingSession(SnmpSession):
    """Forwards to a session and counts the varbinds that came back."""

    def __init__(self, inner: SnmpSession) -> None:
        self.inner = inner
        self.version = inner.version
        self.varbinds = 0

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        out = await self.inner.get(oids)
        self.varbinds += len(out)
        return out

    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]:
        out = await self.inner.get_next(oids)
        self.varbinds += len(out)
        return out

    async def get_bulk(
        self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[Varbind]:
        out = await self.inner.get_bulk(oids, max_repetitions, non_repeaters)
        self.varbinds += len(out)
        return out


def roomwatch_probe(port: int, profile_dir: Path, version: str, engine: str) -> SnmpProbe:
    settings: dict[str, object] = {
        "type": "snmp", "address": f"127.0.0.1:{port}", "version": version,
        "profile": "bench-switch", "profile_dirs": str(profile_dir), "engine": engine,
        "max_repetitions": 25,
    }  # fmt: skip
    if version == "3":
        settings.update(user=V3_USER, auth_protocol="sha", auth_key=V3_AUTH,
                        priv_protocol="aes", priv_key=V3_PRIV)  # fmt: skip
    else:
        settings["community"] = "public"
    return SnmpProbe("bench", SnmpSettings.model_validate(settings))


async def run_roomwatch(
    port: int, profile_dir: Path, version: str, engine: str, cycles: int, agent_pid: int
) -> tuple[float, float, int, int]:
    """(client CPU s, agent CPU s, varbinds per cycle, samples per cycle)."""
    probe = roomwatch_probe(port, profile_dir, version, engine)
    counting = CountingSession(probe.session)
    probe._session = counting
    samples = len(await probe.poll(time.time()))  # warm-up: discovery, caches, key localisation
    counting.varbinds = 0
    await probe.poll(time.time())
    per_cycle = counting.varbinds
    probe._session = counting.inner
    agent0, client0 = proc_cpu(agent_pid), time.process_time()
    for _ in range(cycles):
        await probe.poll(time.time())
    client, agent = time.process_time() - client0, proc_cpu(agent_pid) - agent0
    await probe.close()
    return client, agent, per_cycle, samples


def run_exporter(
    exporter: str, work: Path, snmp_port: int, module: str, cycles: int, agent_pid: int
) -> tuple[float, float, int]:
    """(exporter CPU s, agent CPU s, metric lines per scrape)."""
    config = work / "snmp.yml"
    exporter_config(config, snmp_port)
    http_port = free_port()
    proc = subprocess.Popen(
        [exporter, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{http_port}",
         "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=open(work / f"exporter-{module}.log", "wb"),  # noqa: SIM115
    )  # fmt: skip
    url = f"http://127.0.0.1:{http_port}/snmp?target=127.0.0.1:{snmp_port}&module={module}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        wait_until(lambda: opener.open(f"http://127.0.0.1:{http_port}/", timeout=1).status == 200,
                   timeout=15, what="snmp_exporter")  # fmt: skip
        body = opener.open(url, timeout=30).read().decode()
        lines = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
        if "snmp_scrape_pdus_returned" not in body and lines < 100:
            raise SystemExit(f"snmp_exporter returned too little:\n{body[:2000]}")
        agent0, exp0 = proc_cpu(agent_pid), proc_cpu(proc.pid)
        for _ in range(cycles):
            opener.open(url, timeout=30).read()
        return proc_cpu(proc.pid) - exp0, proc_cpu(agent_pid) - agent0, lines
    finally:
        stop_process(proc)


def report(label: str, client: float, agent: float, varbinds: int, cycles: int) -> float:
    per_k = client / (varbinds * cycles) * 1000
    print(
        f"  {label:<34} {per_k * 1000:8.2f} ms CPU / 1,000 varbinds"
        f"   agent {agent / cycles * 1000:6.2f} ms CPU / cycle"
    )
    return per_k


async def main(args: argparse.Namespace) -> None:
    exporter = ensure_exporter()
    with tempfile.TemporaryDirectory(prefix="rw-bench-snmp-") as tmp:
        work = Path(tmp)
        interfaces = make_ports() if args.netns else None
        proc, port = start_snmpd(work)
        try:
            profile_dir = work / "profiles"
            profile_dir.mkdir()
            bench_profile(profile_dir)
            print(
                f"snmpd on 127.0.0.1:{port}; {interfaces or 'host'} interfaces;"
                f" {args.cycles} cycles per client (pysnmp: {args.pysnmp_cycles})"
            )
            results: dict[str, float] = {}
            for version, module in (("2c", "bench_v2c"), ("3", "bench_v3")):
                print(f"SNMP v{version}:")
                exp_cpu, exp_agent, lines = run_exporter(
                    exporter, work, port, module, args.cycles, proc.pid
                )
                rw_engine = "lean" if version != "3" else "auto"
                client, agent, varbinds, samples = await run_roomwatch(
                    port, profile_dir, version, rw_engine, args.cycles, proc.pid
                )
                print(f"  ({varbinds} varbinds per cycle; roomwatch {samples} samples,"
                      f" exporter {lines} metric lines)")  # fmt: skip
                results[f"exporter {version}"] = report(
                    "prometheus-snmp-exporter (Go)", exp_cpu, exp_agent, varbinds, args.cycles
                )
                results[f"roomwatch {version}"] = report(
                    f"roomwatch probe (engine {rw_engine})", client, agent, varbinds, args.cycles
                )
                if args.pysnmp_cycles:
                    client, agent, varbinds, _ = await run_roomwatch(
                        port, profile_dir, version, "pysnmp", args.pysnmp_cycles, proc.pid
                    )
                    results[f"pysnmp {version}"] = report(
                        "roomwatch probe (engine pysnmp)", client, agent, varbinds,
                        args.pysnmp_cycles,
                    )  # fmt: skip
                ratio = results[f"roomwatch {version}"] / results[f"exporter {version}"]
                print(f"  ratio roomwatch / snmp_exporter: {ratio:.2f}x (goal <= 2x)")
        finally:
            stop_process(proc)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--pysnmp-cycles", type=int, default=20,
                        help="cycles for the pysnmp reference engine (0: skip)")  # fmt: skip
    parser.add_argument("--no-netns", dest="netns", action="store_false",
                        help="walk the host's interfaces instead of 24 veth ports")  # fmt: skip
    return parser.parse_args(argv)


if __name__ == "__main__":
    ns = parse_args()
    if ns.netns and os.environ.get("RW_BENCH_IN_NETNS") != "1":
        unshare = shutil.which("unshare")
        if unshare is None or os.geteuid() != 0:
            print("no root/unshare: walking the host's interfaces (--no-netns)", flush=True)
            ns.netns = False
        else:
            env = dict(os.environ, RW_BENCH_IN_NETNS="1")
            sys.exit(subprocess.call([unshare, "-n", sys.executable, *sys.argv], env=env))
    asyncio.run(main(ns))
    _ = ber  # the codec is what the lean engine measures
