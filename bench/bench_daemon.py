"""The whole daemon on N SNMP devices, side by side with Debian's prometheus-snmp-exporter.

Everything runs in a private network namespace (`unshare -n`, root): net-snmp's snmpd serves
N devices, each a UDP target of its own (127.1.x.y:161; one snmpd per 500 addresses), with
the namespace's PORTS veth interfaces as its ifTable. The real daemon (`roomwatch run`) polls
them with the shipped `system` + `if-mib` profiles, the example rules (examples/rules/) and the
InfluxDB sink to a VictoriaMetrics on loopback, as an install has them. In the same run the
exporter is scraped for the same N targets, the same columns, at the same pace (each target
once per interval, spread evenly). The script samples both processes' CPU and RSS from /proc
and the daemon's /metrics, and prints (never asserts):

- the daemon's CPU per device poll and per 1,000 varbinds, the exporter's per 1,000 varbinds,
  and their ratio (the same run, so a busy machine loads both alike);
- polls completed vs due, skipped slots by reason, poll lag;
- RSS after warm-up, its growth per hour (least squares over the measured window), the curve.

    .venv/bin/python bench/bench_daemon.py [--devices 500] [--interval 60] [--warmup 120]
        [--duration 300] [--profile 60 [--profile-gil]] [--no-exporter] [--no-sink]

--profile S records the daemon with py-spy for S seconds after warm-up and prints the top
functions (own and total share); --gc-stats also reports the share of time in the garbage
collector (a sitecustomize hook in bench/gcprobe/ that times gc.callbacks)."""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.daemon_parts import (  # noqa: E402
    Agents,
    ExporterScraper,
    ProcWatch,
    count_poll,
    daemon_metrics,
    exporter_config,
    make_interfaces,
    profile_summary,
    write_daemon_config,
)
from tests.fixtures.peers import free_port, stop_process, wait_until  # noqa: E402
from tests.fixtures.victoria_peer import VictoriaMetrics  # noqa: E402


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, value), per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    if den == 0:
        return 0.0
    return sum((t - mt) * (v - mv) for t, v in points) / den * 3600


SPOOL_DEPTH = 'roomwatch_sink_spool_depth{sink="vm"}'


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def udp_counters() -> dict[str, int]:
    """The namespace's UDP counters (this process lives in it): datagrams a full receive
    buffer dropped show as RcvbufErrors, a lost answer the daemon then waits out."""
    lines = [ln.split() for ln in Path("/proc/self/net/snmp").read_text().splitlines()]
    names, values = [ln for ln in lines if ln[0] == "Udp:"][:2]
    return dict(zip(names[1:], map(int, values[1:]), strict=True))


def run(args: argparse.Namespace) -> None:
    exporter_bin = shutil.which("prometheus-snmp-exporter")
    if args.exporter and exporter_bin is None:
        raise SystemExit("prometheus-snmp-exporter is not installed (apt-get install it)")
    with tempfile.TemporaryDirectory(prefix="rw-bench-daemon-") as tmp:
        work = Path(tmp)
        interfaces = make_interfaces(args.ports)
        agents = Agents(work, args.devices).start()
        vm = VictoriaMetrics(work / "vm").start() if args.sink else None
        procs: list[subprocess.Popen[bytes]] = []
        scraper: ExporterScraper | None = None
        try:
            varbinds, samples = count_poll(agents.addresses[0])
            print(
                f"{args.devices} devices on {len(agents.procs)} snmpd, {interfaces} interfaces"
                f" each: {varbinds} varbinds, {samples} samples per poll; interval"
                f" {args.interval:g}s; event loop {args.event_loop}; load average at start"
                f" {loadavg()}",
                flush=True,
            )
            api_port = free_port()
            config = write_daemon_config(
                work, agents.addresses, args.interval, api_port, vm.url if vm else None,
                args.concurrency,
            )  # fmt: skip
            env = dict(os.environ)
            if args.tracemalloc:
                env["RW_TRACEMALLOC"] = str(work / "tracemalloc.txt")
            if args.gc_stats or args.tracemalloc:
                env["PYTHONPATH"] = f"{REPO / 'bench' / 'gcprobe'}:{env.get('PYTHONPATH', '')}"
            if args.gc_stats:
                env["RW_GC_STATS"] = str(work / "gc-stats.txt")
            log = (work / "daemon.log").open("wb")
            daemon = subprocess.Popen(
                [sys.executable, "-m", "collector.cli", "run", "-c", str(config),
                 "--event-loop", args.event_loop],
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env,
            )  # fmt: skip
            procs.append(daemon)
            metrics_url = f"http://127.0.0.1:{api_port}/metrics"
            try:
                wait_until(lambda: bool(daemon_metrics(metrics_url)), 120, "the daemon's /metrics")
            except TimeoutError:
                log.flush()
                tail = (work / "daemon.log").read_text(errors="replace")[-3000:]
                raise SystemExit(
                    f"the daemon's /metrics did not answer; its log ends:\n{tail}"
                ) from None
            said = (work / "daemon.log").read_text(errors="replace")
            how = re.search(r"compiled hot path: [^\n\"]*", said)
            print(f"daemon: {how.group(0) if how else 'compiled hot path: not said'}", flush=True)
            exporter = None
            if args.exporter and exporter_bin:
                exporter_config(work / "snmp.yml")
                exp_port = free_port()
                exporter = subprocess.Popen(
                    [exporter_bin, f"--config.file={work / 'snmp.yml'}",
                     f"--web.listen-address=127.0.0.1:{exp_port}", "--log.level=warn"],
                    stdout=subprocess.DEVNULL, stderr=(work / "exporter.log").open("wb"),
                )  # fmt: skip
                procs.append(exporter)
                scraper = ExporterScraper(exp_port, agents.addresses, args.interval)
                scraper.start()
            watch = ProcWatch({"daemon": daemon.pid, **({"exporter": exporter.pid} if exporter else {}),
                               **{f"snmpd{i}": p.pid for i, p in enumerate(agents.procs)}})  # fmt: skip
            started = time.monotonic()
            udp_before = udp_counters()
            print(f"warm-up {args.warmup:g}s …", flush=True)
            curve: list[tuple[float, float]] = []
            time.sleep(args.warmup)
            first = watch.read()
            m0 = daemon_metrics(metrics_url)
            s0 = scraper.snapshot() if scraper else None
            t0 = time.monotonic()
            rss0 = first["daemon"][1]
            curve.append((0.0, rss0))
            profiler = None
            if args.profile:
                profiler = concurrent.futures.ThreadPoolExecutor(1).submit(
                    profile_summary, daemon.pid, args.profile, work, args.profile_gil
                )
            next_print = 0.0
            while (elapsed := time.monotonic() - t0) < args.duration:
                time.sleep(min(args.sample_every, args.duration - elapsed))
                now = watch.read()
                elapsed = time.monotonic() - t0
                curve.append((elapsed, now["daemon"][1]))
                if daemon.poll() is not None:
                    # the work directory goes with the run: show the log's end here
                    tail = (work / "daemon.log").read_text(errors="replace").splitlines()[-30:]
                    raise SystemExit("the daemon exited; its log ends:\n" + "\n".join(tail))
                if elapsed >= next_print:
                    next_print += args.print_every
                    m = daemon_metrics(metrics_url)
                    print(f"  t+{elapsed:6.0f}s daemon RSS {now['daemon'][1]:7.1f} MiB,"
                          f" CPU {now['daemon'][0] - first['daemon'][0]:7.1f}s; polls in"
                          f" flight {m.get('roomwatch_polls_in_flight', 0):.0f}, waiting"
                          f" {m.get('roomwatch_polls_waiting', 0):.0f}, allowed"
                          f" {m.get('roomwatch_poll_concurrency', 0):.0f} of"
                          f" {m.get('roomwatch_poll_concurrency_ceiling', 0):.0f}; loop lag"
                          f" {m.get('roomwatch_event_loop_lag_seconds', 0):.2f}s;"
                          f" failed polls {m.get('roomwatch_poll_failures_total', 0):.0f};"
                          f" spool {m.get(SPOOL_DEPTH, 0):.0f};"
                          f" load {loadavg()}", flush=True)  # fmt: skip
            last = watch.read()
            m1 = daemon_metrics(metrics_url)
            window = time.monotonic() - t0
            s1 = scraper.snapshot() if scraper else None
            try:
                profile = profiler.result() if profiler else None
            except (OSError, subprocess.CalledProcessError) as exc:
                profile = f"py-spy failed: {exc}"
            report(args, first, last, m0, m1, s0, s1, window, varbinds, curve, started, t0)
            if scraper is not None:
                print(f"  exporter: {s1 and s1.pdus_per_scrape:.0f} varbinds per scrape (its own"
                      " snmp_scrape_pdus_returned)")  # fmt: skip
            if profile:
                print(profile)
            if args.tracemalloc:
                daemon.send_signal(signal.SIGUSR2)
                traced = work / "tracemalloc.txt"
                wait_until(traced.exists, 120, "the tracemalloc snapshot")
                time.sleep(2)
                print("memory by source line (tracemalloc):\n" + traced.read_text())
            gc_file = work / "gc-stats.txt"
            if args.gc_stats:
                daemon.send_signal(signal.SIGTERM)
                try:  # an overloaded daemon drains its polls first (collector.drain_timeout)
                    daemon.wait(timeout=180)
                except subprocess.TimeoutExpired:
                    print("the daemon did not stop within 180 s; no GC figures")
                if gc_file.exists():
                    print("garbage collector (whole run):", gc_file.read_text().strip())
            udp = {k: v - udp_before[k] for k, v in udp_counters().items()}
            print(
                f"UDP in the namespace (whole run): {udp['InDatagrams']} datagrams in,"
                f" {udp['RcvbufErrors']} dropped for a full receive buffer,"
                f" {udp['InErrors']} in errors"
            )
            print(f"load average at end {loadavg()}")
        finally:
            if scraper is not None:
                scraper.stop()
            for proc in procs:
                stop_process(proc)
            if vm is not None:
                vm.stop()
            agents.stop()


def report(
    args: argparse.Namespace,
    first: dict[str, tuple[float, float]],
    last: dict[str, tuple[float, float]],
    m0: dict[str, float],
    m1: dict[str, float],
    s0: object,
    s1: object,
    window: float,
    varbinds: int,
    curve: list[tuple[float, float]],
    started: float,
    t0: float,
) -> None:
    def delta(key: str) -> float:
        return m1.get(key, 0.0) - m0.get(key, 0.0)

    cpu = last["daemon"][0] - first["daemon"][0]
    polls = delta("roomwatch_polls_total")
    failed = delta("roomwatch_poll_failures_total")
    due = args.devices * window / args.interval
    print(f"\nmeasured window {window:.0f}s (after {t0 - started:.0f}s warm-up):")
    # Per answered poll: a poll that timed out costs little and brings no varbind, so counting
    # it would flatter the daemon (the exporter's figure, likewise, is per varbind returned).
    answered = polls - failed
    per_poll = cpu / answered if answered > 0 else float("nan")
    daemon_k = per_poll / varbinds * 1000
    print(f"  daemon: {cpu:.1f}s CPU ({cpu / window * 100:.0f}% of a core), {polls:.0f} polls"
          f" completed of {due:.0f} due, {failed:.0f} of them without an answer in time;"
          f" {per_poll * 1000:.2f} ms CPU per answered device poll,"
          f" {daemon_k * 1000:.2f} ms per 1,000 varbinds")  # fmt: skip
    print(f"  skipped slots: {delta('roomwatch_poll_skipped_total'):.0f} in the window")
    by_reason: dict[str, list[float]] = {}
    for key, value in m1.items():
        if key.startswith("roomwatch_device_poll_skipped_total{"):
            reason = key.partition('reason="')[2].partition('"')[0]
            got = by_reason.setdefault(reason, [0.0, 0.0])
            got[0] += value - m0.get(key, 0.0)
            got[1] += 1
    for reason, (slots, devices) in sorted(by_reason.items()):
        print(f"    {reason}: {slots:.0f} slots in the window, {devices:.0f} devices since start")
    lag_sum, lag_count = (
        delta("roomwatch_poll_lag_seconds_sum"),
        delta("roomwatch_poll_lag_seconds_count"),
    )
    if lag_count:
        shares = []
        for key in sorted(m1):
            bound = key.partition('le="')[2].rstrip('"}')
            if key.startswith("roomwatch_poll_lag_seconds_bucket") and bound in ("0.1", "1", "10"):
                shares.append(f"<= {bound}s {100 * delta(key) / lag_count:.1f}%")
        print(f"  poll lag (due -> started): mean {lag_sum / lag_count * 1000:.1f} ms; "
              + ", ".join(shares))  # fmt: skip
    for key in sorted(m1):
        if "queue_depth" in key or key.startswith("roomwatch_sink_spool_depth"):
            print(f"  {key} at end: {m1[key]:.0f}")
    rss = [v for _, v in curve]
    print(f"  daemon RSS after warm-up {rss[0]:.1f} MiB, at end {rss[-1]:.1f} MiB, max"
          f" {max(rss):.1f}; growth {slope_per_hour(curve):+.1f} MiB/hour (least squares)")  # fmt: skip
    step = max(1, len(curve) // 12)
    print("  RSS curve (s: MiB): " + ", ".join(f"{t:.0f}: {v:.1f}" for t, v in curve[::step]))
    for name in sorted(k for k in last if k.startswith("snmpd")):
        agent_cpu = last[name][0] - first[name][0]
        print(f"  {name}: {agent_cpu:.1f}s CPU")
    if "exporter" in last and s0 is not None and s1 is not None:
        exp_cpu = last["exporter"][0] - first["exporter"][0]
        scrapes = s1.done - s0.done  # type: ignore[attr-defined]
        exp_vb = s1.pdus - s0.pdus  # type: ignore[attr-defined]
        exp_k = exp_cpu / exp_vb * 1000 if exp_vb else float("nan")
        print(f"  exporter: {exp_cpu:.1f}s CPU, {scrapes} scrapes completed of"
              f" {s1.due - s0.due} due ({s1.failed - s0.failed} failed), RSS"  # type: ignore[attr-defined]
              f" {last['exporter'][1]:.1f} MiB; {exp_k * 1000:.2f} ms CPU per 1,000 varbinds")  # fmt: skip
        print(f"  ratio daemon / exporter per 1,000 varbinds: {daemon_k / exp_k:.2f}x"
              " (goal ≤ 0.5x)")  # fmt: skip


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--devices", type=int, default=500)
    p.add_argument("--interval", type=float, default=60.0, help="poll interval, seconds")
    p.add_argument("--warmup", type=float, default=120.0, help="seconds before measuring")
    p.add_argument("--duration", type=float, default=300.0, help="measured seconds")
    p.add_argument("--ports", type=int, default=30, help="veth interfaces per device (even)")
    p.add_argument("--concurrency", type=int, default=None,
                   help="collector.concurrency (default: the daemon's own)")  # fmt: skip
    p.add_argument("--profile", type=float, default=0, help="py-spy seconds after warm-up")
    p.add_argument("--profile-gil", action="store_true",
                   help="py-spy samples only the thread holding the GIL")  # fmt: skip
    p.add_argument("--tracemalloc", action="store_true", help="where the memory is (slow)")
    p.add_argument("--gc-stats", action="store_true", help="time the garbage collector")
    p.add_argument("--sample-every", type=float, default=10.0)
    p.add_argument("--print-every", type=float, default=60.0)
    p.add_argument(
        "--event-loop",
        default="auto",
        choices=["auto", "uvloop", "asyncio"],
        help="the daemon's --event-loop",
    )
    p.add_argument("--no-exporter", dest="exporter", action="store_false")
    p.add_argument("--no-sink", dest="sink", action="store_false")
    return p.parse_args()


if __name__ == "__main__":
    ns = parse_args()
    if os.environ.get("RW_BENCH_IN_NETNS") != "1":
        if os.geteuid() != 0 or shutil.which("unshare") is None:
            raise SystemExit("needs root and unshare: the devices live in a network namespace")
        env = dict(os.environ, RW_BENCH_IN_NETNS="1")
        sys.exit(subprocess.call(["unshare", "-n", sys.executable, *sys.argv], env=env))
    # SIGTERM (or Ctrl-C) ends the run through its clean-up: every peer it started stops.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run(ns)
