"""The CPU of one SNMP poll in the daemon's shape, from request to Sample list, split into
its parts: the walk (requests, sendto/recv, BER decoding) and the sample building.

The same devices as `bench_daemon.py` (net-snmp's snmpd in a private network namespace with
30 veth interfaces, 31 with `lo`; each device its own address 127.1.x.y:161) polled by real
`SnmpProbe`s with the shipped `system` + `if-mib` profiles, in a loop in this one process:
each round polls every device once, one after the other (as the daemon's polls interleave,
the probes' caches are not all hot at once), with the daemon's garbage-collector settings
(`collector.gctune`). Reported per device poll (process CPU, so the
kernel's loopback delivery in `sendto` counts, as it does in the daemon):

- the whole poll (`SnmpProbe.poll`), and the sample building inside it (`build_samples` and
  the health samples), the walk being the rest;
- then, replayed from what the last round received, without the network: decoding the
  answers (`ber.decode_response` of the recorded datagrams) and building the samples again
  (`build_samples` on the recorded walk, counters advanced so rates are made), each alone;
  and the whole poll with the recorded answers handed back at once (no socket, no waiting:
  what is left of the walk is its own Python).

    .venv/bin/python bench/bench_snmp_poll.py [--devices 20] [--rounds 50] [--replays 2000]

Root only (it re-runs itself under `unshare -n`). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.daemon_parts import Agents, make_interfaces  # noqa: E402
from collector import gctune  # noqa: E402
from probes.snmp import ber, mapping  # noqa: E402
from probes.snmp import probe as probe_module  # noqa: E402
from probes.snmp.probe import SnmpProbe, SnmpSettings  # noqa: E402
from probes.snmp.rates import CounterRates  # noqa: E402
from probes.snmp.transport import SharedSocket  # noqa: E402


class Split:
    """CPU seconds spent inside the wrapped sample-building functions, and the last inputs
    `build_samples` was given (for the replay)."""

    def __init__(self) -> None:
        self.build = 0.0
        self.last_args: tuple[Any, ...] | None = None
        self.datagrams: list[bytes] = []
        self.requests = 0
        self.recording = False
        self.replaying: list[bytes] | None = None  # answers to give instead of the network's

    def install(self) -> None:
        real_build = probe_module.build_samples
        real_health = probe_module.PollHealth.samples
        real_exchange = SharedSocket.exchange
        split = self

        def build_samples(*args: Any) -> Any:
            t0 = time.process_time()
            out = real_build(*args)
            split.build += time.process_time() - t0
            split.last_args = args
            return out

        def health(self: Any, *args: Any) -> Any:
            t0 = time.process_time()
            out = real_health(self, *args)
            split.build += time.process_time() - t0
            return out

        async def exchange(self: Any, *args: Any) -> bytes:
            if split.replaying is not None:
                return split.replaying.pop()
            data = await real_exchange(self, *args)
            split.requests += 1
            if split.recording:
                split.datagrams.append(data)
            return data

        probe_module.build_samples = build_samples  # type: ignore[assignment]
        probe_module.PollHealth.samples = health  # type: ignore[method-assign]
        SharedSocket.exchange = exchange  # type: ignore[method-assign]


def make_probe(address: str, index: int) -> SnmpProbe:
    settings = SnmpSettings.model_validate(
        {"type": "snmp", "address": address, "community": "public",
         "profile": ["system", "if-mib"], "interval": 60}
    )  # fmt: skip
    return SnmpProbe(f"sw{index:05d}", settings)


def advanced(columns: dict[ber.Oid, Any], step: int) -> dict[ber.Oid, Any]:
    """The walk with every counter moved on by `step` (so the replay makes rates)."""
    out = {}
    for column, rows in columns.items():
        out[column] = [
            (index, tag, value + step if tag in ber.COUNTER_TAGS else value)
            for index, tag, value in rows
        ]
    return out


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def main(args: argparse.Namespace) -> None:
    split = Split()
    split.install()
    with tempfile.TemporaryDirectory(prefix="rw-bench-snmp-poll-") as tmp:
        interfaces = make_interfaces(args.ports)
        agents = Agents(Path(tmp), args.devices).start()
        try:
            gctune.tune()  # the daemon's garbage collector settings
            probes = [make_probe(a, i) for i, a in enumerate(agents.addresses)]
            gctune.freeze_startup()
            now = time.time()
            samples = 0
            for _ in range(2):  # warm-up: first polls have no rates; caches fill
                now += 60
                for p in probes:
                    samples = len(await p.poll(now))
            split.build, split.requests = 0.0, 0
            times0 = os.times()
            for _ in range(args.rounds):
                now += 60
                for p in probes:
                    await p.poll(now)
            times1 = os.times()
            user, system = times1.user - times0.user, times1.system - times0.system
            total = user + system
            polls = args.rounds * len(probes)
            # One more poll of the first device, recording its answers for the replay.
            split.recording = True
            now += 60
            last = await probes[0].poll(now)
            split.recording = False
            datagrams = list(split.datagrams)
            varbinds = sum(len(ber.decode_response(d).varbinds) for d in datagrams)
            per_poll = total / polls * 1000
            build = split.build / polls * 1000
            print(
                f"{len(probes)} devices, {interfaces} interfaces each; {varbinds} varbinds in"
                f" {len(datagrams)} answers, {len(last)} samples per poll ({samples} in the"
                f" warm-up's last); {args.rounds} rounds = {polls} polls;"
                f" load average {loadavg()}"
            )
            print(f"  whole poll       {per_poll:7.3f} ms CPU per poll"
                  f"   ({per_poll / varbinds * 1000:6.2f} ms per 1,000 varbinds;"
                  f" {100 * system / total:.0f} % of it in the kernel)")  # fmt: skip
            print(f"    walk           {per_poll - build:7.3f} ms"
                  f"   ({split.requests / polls:.1f} requests per poll)")  # fmt: skip
            print(f"    build samples  {build:7.3f} ms")
            assert split.last_args is not None
            device, profiles, scalars, tables, _, _, _ = split.last_args
            t0 = time.process_time()
            for _ in range(args.replays):
                for data in datagrams:
                    ber.decode_response(data)
            decode = (time.process_time() - t0) / args.replays * 1000
            rates = CounterRates()
            replays = [
                [(table, advanced(columns, step * 1000)) for table, columns in tables]
                for step in range(args.replays)
            ]
            t0 = time.process_time()
            for step, walked in enumerate(replays):
                mapping.build_samples(device, profiles, scalars, walked, step * 60.0, rates, [])
            rebuild = (time.process_time() - t0) / args.replays * 1000
            split.build = 0.0
            t0 = time.process_time()
            for _ in range(args.replays):
                split.replaying = datagrams[::-1]
                now += 60
                await probes[0].poll(now)
            split.replaying = None
            offline = (time.process_time() - t0) / args.replays * 1000
            offline_build = split.build / args.replays * 1000
            print(f"  replayed ({args.replays}x, no network):")
            print(f"    decode answers {decode:7.3f} ms per poll")
            print(f"    build samples  {rebuild:7.3f} ms per poll")
            print(f"    whole poll     {offline:7.3f} ms per poll, the walk's part"
                  f" {offline - offline_build:.3f} ms (the answers given back at once)")  # fmt: skip
        finally:
            for p in probes:
                await p.close()
            agents.stop()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=20)
    p.add_argument("--rounds", type=int, default=50, help="polls of every device")
    p.add_argument("--replays", type=int, default=2000, help="replays of the last poll")
    p.add_argument("--ports", type=int, default=30, help="veth interfaces (even)")
    return p.parse_args()


if __name__ == "__main__":
    ns = parse_args()
    if os.environ.get("RW_BENCH_IN_NETNS") != "1":
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            raise SystemExit("needs root and unshare: the devices live in a network namespace")
        env = dict(os.environ, RW_BENCH_IN_NETNS="1")
        sys.exit(subprocess.call(["unshare", "-n", sys.executable, *sys.argv], env=env))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    asyncio.run(main(ns))
