"""The pieces of bench_daemon.py: the agents, the daemon's files, the exporter and its
scraper, /proc readings and the py-spy summary. Only net-snmp's tools and the daemon's CLI
contract are used (no probe internals), so the benchmark survives refactors of probes/."""

from __future__ import annotations

import asyncio
import collections
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.fixtures.peers import stop_process, wait_until

REPO = Path(__file__).resolve().parents[1]
PER_AGENT = 500  # addresses per snmpd (each is a socket; stays below the default 1,024 fds)
COMMUNITY = "public"
TICK = 100  # USER_HZ on Linux

# What the shipped profiles read (probes/profiles/snmp/system.yaml, if-mib.yaml): the
# exporter is asked for exactly these, so both sides fetch the same varbinds.
SYSTEM = {
    "sysName": "1.3.6.1.2.1.1.5.0",
    "sysDescr": "1.3.6.1.2.1.1.1.0",
    "sysObjectID": "1.3.6.1.2.1.1.2.0",
    "sysLocation": "1.3.6.1.2.1.1.6.0",
    "sysUpTime": "1.3.6.1.2.1.1.3.0",
}
IF_LABELS = {
    "ifName": "1.3.6.1.2.1.31.1.1.1.1",
    "ifDescr": "1.3.6.1.2.1.2.2.1.2",
    "ifAlias": "1.3.6.1.2.1.31.1.1.1.18",
}
IF_METRICS = {  # name → (oid, exporter type)
    "ifType": ("1.3.6.1.2.1.2.2.1.3", "gauge"),
    "ifAdminStatus": ("1.3.6.1.2.1.2.2.1.7", "gauge"),
    "ifOperStatus": ("1.3.6.1.2.1.2.2.1.8", "gauge"),
    "ifLastChange": ("1.3.6.1.2.1.2.2.1.9", "gauge"),
    "ifHighSpeed": ("1.3.6.1.2.1.31.1.1.1.15", "gauge"),
    "ifSpeed": ("1.3.6.1.2.1.2.2.1.5", "gauge"),
    "ifHCInOctets": ("1.3.6.1.2.1.31.1.1.1.6", "counter"),
    "ifHCOutOctets": ("1.3.6.1.2.1.31.1.1.1.10", "counter"),
    "ifInOctets": ("1.3.6.1.2.1.2.2.1.10", "counter"),
    "ifOutOctets": ("1.3.6.1.2.1.2.2.1.16", "counter"),
    "ifInErrors": ("1.3.6.1.2.1.2.2.1.14", "counter"),
    "ifOutErrors": ("1.3.6.1.2.1.2.2.1.20", "counter"),
    "ifInDiscards": ("1.3.6.1.2.1.2.2.1.13", "counter"),
    "ifOutDiscards": ("1.3.6.1.2.1.2.2.1.19", "counter"),
}


def make_interfaces(ports: int) -> int:
    """In the private namespace: loopback up and `ports` veth interfaces (the ifTable every
    device shows). Returns the interface count, loopback included."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for i in range(ports // 2):
        a, b = f"swp{2 * i + 1}", f"swp{2 * i + 2}"
        subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
        subprocess.run(["ip", "link", "set", a, "up"], check=True)
        subprocess.run(["ip", "link", "set", b, "up"], check=True)
    return ports // 2 * 2 + 1


class Agents:
    """net-snmp's snmpd answering on N addresses 127.1.x.y:161, PER_AGENT per process."""

    def __init__(self, work: Path, devices: int) -> None:
        self.work = work
        self.addresses = [f"127.1.{i // 250}.{i % 250 + 1}" for i in range(devices)]
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> Agents:
        for n in range(0, len(self.addresses), PER_AGENT):
            part = self.addresses[n : n + PER_AGENT]
            d = self.work / f"snmpd{n // PER_AGENT}"
            (d / "persist").mkdir(parents=True)
            (d / "snmpd.conf").write_text(
                f"[snmp] persistentDir {d / 'persist'}\n"
                f"rocommunity {COMMUNITY} 127.0.0.0/8\n"
                "dontLogTCPWrappersConnects yes\n"
                "sysName bench-switch\nsysLocation bench\nsysContact ops\n"
            )
            self.procs.append(
                subprocess.Popen(
                    ["snmpd", "-f", "-C", "-c", str(d / "snmpd.conf"), "-m", "", "-M",
                     "/dev/null", "-Lf", str(d / "snmpd.log"),
                     *(f"udp:{a}:161" for a in part)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
            wait_until(lambda a=part[-1]: snmpget_ok(a), timeout=30, what=f"snmpd on {part[-1]}")
        return self

    def stop(self) -> None:
        for proc in self.procs:
            stop_process(proc)


def snmpget_ok(address: str) -> bool:
    out = subprocess.run(
        ["snmpget", "-v2c", "-c", COMMUNITY, "-On", "-t", "1", "-r", "0", address,
         SYSTEM["sysName"]],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return out.returncode == 0 and "STRING" in out.stdout


def count_poll(address: str) -> tuple[int, int]:
    """(varbinds, samples) of one device poll: varbinds counted with net-snmp's own
    snmpbulkwalk of the profiles' columns, samples with `roomwatch poll --json` (a first
    poll: the daemon's later polls add the counters' rates)."""
    varbinds = len(SYSTEM)
    for oid in [*IF_LABELS.values(), *(o for o, _ in IF_METRICS.values())]:
        out = subprocess.run(
            ["snmpbulkwalk", "-v2c", "-c", COMMUNITY, "-On", "-Cr25", address, oid],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        varbinds += sum(1 for line in out.stdout.splitlines() if line.startswith("."))
    with tempfile.TemporaryDirectory() as tmp:
        config = write_daemon_config(Path(tmp), [address], 60, 0, None, None, api=False)
        poll = subprocess.run(
            [sys.executable, "-m", "collector.cli", "poll", "-c", str(config), "--json"],
            capture_output=True, text=True, cwd=REPO, check=False,
        )  # fmt: skip
        if poll.returncode != 0:
            raise SystemExit(f"roomwatch poll failed: {poll.stderr}")
        return varbinds, sum(1 for line in poll.stdout.splitlines() if line.strip())


def write_daemon_config(
    work: Path,
    addresses: list[str],
    interval: float,
    api_port: int,
    sink_url: str | None,
    concurrency: int | None,
    api: bool = True,
) -> Path:
    """roomwatch.yaml, the inventory (one switch per address), credentials: the example
    rules and, with a URL, the InfluxDB sink."""
    lines = ["devices:"]
    for i, address in enumerate(addresses):
        lines.append(
            f"  - {{id: sw{i:05d}, name: Switch {i}, site: bench, kind: switch, criticality: 2,"
            f" probes: [{{type: snmp, address: '{address}', credentials: bench-snmp,"
            f" profile: [system, if-mib], interval: {interval:g}s}}]}}"
        )
    (work / "inventory.yaml").write_text(
        "sites:\n  - {id: bench, name: Bench}\n" + "\n".join(lines) + "\n"
    )
    creds = work / "credentials.yaml"
    creds.write_text(f"bench-snmp: {{community: {COMMUNITY}}}\ninflux: {{token: bench}}\n")
    creds.chmod(0o600)
    text = (
        "inventory: inventory.yaml\n"
        f"rules: [{REPO / 'examples' / 'rules'}]\n"
        "credentials: credentials.yaml\n"
        f"state_dir: {work / 'state'}\n"
        "alerting: {language: en, notifiers: [{type: log}]}\n"
    )
    text += f"api: {{listen: '127.0.0.1:{api_port}'}}\n" if api else "api: {enabled: false}\n"
    if concurrency:
        text += f"collector: {{concurrency: {concurrency}}}\n"
    if sink_url:
        text += (
            "sinks:\n  - {type: influxdb, name: vm, url: '" + sink_url + "', org: o,"
            " bucket: b, credentials: influx}\n"
        )
    config = work / "roomwatch.yaml"
    config.write_text(text)
    return config


def exporter_config(path: Path) -> None:
    """snmp.yml by hand: one module reading what the roomwatch profiles read."""
    lookups = "".join(
        f"    - labels: [ifIndex]\n      labelname: {name}\n      oid: {oid}\n"
        "      type: DisplayString\n"
        for name, oid in IF_LABELS.items()
    )
    metrics = [
        f"  - name: {name}\n    oid: {oid}\n    type: {kind}\n"
        "    indexes:\n    - labelname: ifIndex\n      type: gauge\n"
        f"    lookups:\n{lookups}"
        for name, (oid, kind) in IF_METRICS.items()
    ]
    for name, oid in SYSTEM.items():
        kind = "DisplayString" if name in ("sysName", "sysDescr", "sysLocation") else "gauge"
        kind = "OctetString" if name == "sysObjectID" else kind
        metrics.append(f"  - name: {name}\n    oid: {oid[:-2]}\n    type: {kind}\n")
    walk = ", ".join([*IF_LABELS.values(), *(o for o, _ in IF_METRICS.values())])
    path.write_text(
        "bench:\n"
        f"  walk: [{walk}]\n"
        f"  get: [{', '.join(SYSTEM.values())}]\n"
        "  max_repetitions: 25\n  retries: 1\n  timeout: 5s\n  version: 2\n"
        f"  auth:\n    community: {COMMUNITY}\n"
        "  metrics:\n" + "".join(metrics)
    )


@dataclass
class ScrapeCounts:
    due: int = 0
    done: int = 0
    failed: int = 0
    pdus: int = 0

    @property
    def pdus_per_scrape(self) -> float:
        return self.pdus / self.done if self.done else 0.0


_PDUS = re.compile(rb"^snmp_scrape_pdus_returned (\d+)", re.MULTILINE)


class ExporterScraper:
    """Scrapes /snmp?target=…&module=bench for every address once per interval, spread
    evenly (as Prometheus spreads its targets), each scrape on its own task."""

    def __init__(self, port: int, addresses: list[str], interval: float) -> None:
        self.base = f"http://127.0.0.1:{port}/snmp?module=bench&target="
        self.addresses = addresses
        self.interval = interval
        self.counts = ScrapeCounts()
        self._session: aiohttp.ClientSession | None = None
        self._scrapes: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Runs the scraper on its own event loop in a thread, so the benchmark's own
        sleeping and /proc reading never delay a scrape."""
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._main(ready),), daemon=True
        )
        self._thread.start()
        if not ready.wait(30):
            raise SystemExit("prometheus-snmp-exporter did not answer")

    async def _main(self, ready: threading.Event) -> None:
        self._stopped = asyncio.Event()
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200), trust_env=False
        )
        deadline = time.monotonic() + 15
        while True:  # the exporter is up when it answers one scrape
            try:
                async with self._session.get(self.base + self.addresses[0]) as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                return  # start() reports it
            await asyncio.sleep(0.2)
        pace = asyncio.create_task(self._pace())
        ready.set()
        await self._stopped.wait()
        pace.cancel()
        for task in list(self._scrapes):
            task.cancel()
        await asyncio.gather(pace, *self._scrapes, return_exceptions=True)
        await self._session.close()

    async def _pace(self) -> None:
        start = time.monotonic()
        n = len(self.addresses)
        tasks = self._scrapes
        k = 0
        while True:
            for i, address in enumerate(self.addresses):
                due = start + k * self.interval + (i + 0.5) / n * self.interval
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.counts.due += 1
                task = asyncio.create_task(self._scrape(address))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            k += 1

    async def _scrape(self, address: str) -> None:
        assert self._session is not None
        try:
            async with self._session.get(
                self.base + address, timeout=aiohttp.ClientTimeout(total=self.interval)
            ) as resp:
                body = await resp.read()
            found = _PDUS.search(body)
            if resp.status != 200 or found is None:
                self.counts.failed += 1
                return
            self.counts.done += 1
            self.counts.pdus += int(found.group(1))
        except (aiohttp.ClientError, TimeoutError):
            self.counts.failed += 1

    def snapshot(self) -> ScrapeCounts:
        c = self.counts
        return ScrapeCounts(c.due, c.done, c.failed, c.pdus)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout=30)


class ProcWatch:
    """CPU seconds (user + system) and RSS (MiB) of named processes, from /proc."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def read(self) -> dict[str, tuple[float, float]]:
        out = {}
        for name, pid in self.pids.items():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / TICK
            rss = 0.0
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
            out[name] = (cpu, rss)
        return out


def daemon_metrics(url: str) -> dict[str, float]:
    """The daemon's /metrics as {'name{labels}': value}; {} while it does not answer."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as resp:
            text = resp.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            try:
                out[key] = float(value)
            except ValueError:
                continue
    return out


_LINE = re.compile(r":\d+\)$")


def profile_summary(pid: int, seconds: float, work: Path, gil: bool = False) -> str:
    """py-spy for `seconds` on the process (without pausing it), summarised: the functions
    with the largest own share and the largest total share of the sampled stacks. `gil`:
    only the thread holding the GIL is sampled (Python's CPU; threads waiting for the GIL
    and system calls that release it, such as sendto, are left out)."""
    raw = work / "profile.txt"
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    subprocess.run(
        [py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "50",
         "--nonblocking", "--format", "raw", "--output", str(raw), *(["--gil"] if gil else [])],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    shutil.copy(
        raw, Path(tempfile.gettempdir()) / "roomwatch-bench-profile.txt"
    )  # for flame graphs
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_LINE.sub(")", f) for f in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    what = "the thread holding the GIL" if gil else "non-idle stacks"
    lines = [f"py-spy, {seconds:g}s at 50 Hz, {samples} samples ({what}):"]
    lines.append("  own share:")
    lines += [f"    {100 * c / samples:5.1f}%  {f}" for f, c in own.most_common(40)]
    lines.append("  total share (in the stack):")
    lines += [f"    {100 * c / samples:5.1f}%  {f}" for f, c in total.most_common(30)]
    (work / "profile-summary.txt").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)
