"""Memory the daemon holds per SNMP device between polls: the latest readings and the
counter state of the rates, for N switches polled twice from a real recording (a fake agent
serving tests/fixtures/recorded/snmp/ios_2960x.snmprec, so no network), measured with
tracemalloc. The whole daemon's RSS is bench_daemon.py's; this isolates the per-device part.

    .venv/bin/python bench/bench_latest_memory.py [--devices 1000] [--recording ios_2960x]
        [--own-aliases]

The devices are copies of one switch, so their ports have the same names and the probe's
row labels are shared between them (as in a room of one model); `--own-aliases` gives every
port of every device a description of its own (ifAlias), the case where they are not.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from collector.latest import LatestReadings  # noqa: E402
from collector.polling import poll_once  # noqa: E402
from probes.snmp import ber  # noqa: E402
from probes.snmp.probe import SnmpProbe, SnmpSettings  # noqa: E402
from tests.fixtures.peers import shared_fixture  # noqa: E402
from tests.fixtures.snmp_fake import FakeAgentSession  # noqa: E402

IF_ALIAS = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18)


def traffic(session: FakeAgentSession, seconds: int) -> None:
    for n, (oid, (tag, value)) in enumerate(sorted(session.mib.items())):
        if tag in (ber.COUNTER32, ber.COUNTER64) and isinstance(value, int):
            session.mib[oid] = (tag, value + 1_000 * (n + 1))
        elif oid == (1, 3, 6, 1, 2, 1, 1, 3, 0) and isinstance(value, int):
            session.mib[oid] = (tag, value + 100 * seconds)


async def main(args: argparse.Namespace) -> None:
    mib = FakeAgentSession.from_recording(shared_fixture("snmp", f"{args.recording}.snmprec")).mib
    config = SnmpSettings(type="snmp", address="192.0.2.1", community="c", profile=["system", "if-mib"])  # type: ignore[arg-type]  # fmt: skip
    probes = []
    for i in range(args.devices):
        session = FakeAgentSession(dict(mib))
        if args.own_aliases:
            for oid in [o for o in session.mib if o[: len(IF_ALIAS)] == IF_ALIAS]:
                session.mib[oid] = (ber.OCTET_STRING, f"sw{i:05d} port {oid[-1]}".encode())
        probes.append((SnmpProbe(f"sw{i:05d}", config, session=session), session))
    latest = LatestReadings()
    gc.collect()
    tracemalloc.start()
    samples = 0
    for t in (0, 60, 120):
        for probe, session in probes:
            traffic(session, 60)
            result = await poll_once(probe, 1_000.0 + t)
            latest.record_poll(result.device, 0, result.samples, result.up)
            samples = len(result.samples)
        del result
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    # Without the fake agents' own changes (the counters this script moves on).
    ours = snapshot.filter_traces(
        [tracemalloc.Filter(False, __file__), tracemalloc.Filter(False, "*snmp_fake.py")]
    )
    held = sum(stat.size for stat in ours.statistics("filename"))
    own = ", own aliases" if args.own_aliases else ""
    print(f"{args.devices} devices ({args.recording}{own}, system + if-mib, {samples} samples a poll):"
          f" {held / 2**20:.1f} MiB held after three polls, {held / args.devices / 1024:.1f} KiB"
          " a device")  # fmt: skip
    for stat in ours.statistics("lineno")[: args.top]:
        frame = stat.traceback[0]
        print(f"  {stat.size / 2**20:7.1f} MiB {stat.count:8d}  {frame.filename}:{frame.lineno}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--recording", default="ios_2960x")
    p.add_argument("--top", type=int, default=8)
    p.add_argument("--own-aliases", action="store_true", help="no two ports described alike")
    asyncio.run(main(p.parse_args()))
