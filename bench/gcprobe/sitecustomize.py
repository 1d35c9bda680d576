"""Benchmark-only hook (bench_daemon.py --gc-stats puts this folder on PYTHONPATH): times every
garbage collection through gc.callbacks (CPU time of the collecting thread, so a busy machine
does not inflate it) and, at exit, writes the total next to the process's CPU time to the file
named by RW_GC_STATS. Never on the daemon's own path."""

import atexit
import gc
import os
import time

_target = os.environ.get("RW_GC_STATS")
if _target:
    _started = [0.0]
    _spent = [0.0, 0.0, 0.0]
    _runs = [0, 0, 0]

    def _on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _started[0] = time.thread_time()
        else:
            generation = info["generation"]
            _spent[generation] += time.thread_time() - _started[0]
            _runs[generation] += 1

    def _write() -> None:
        cpu = time.process_time()
        spent = sum(_spent)
        with open(_target, "w") as out:
            out.write(
                f"{spent:.2f}s in {sum(_runs)} collections = {100 * spent / cpu:.1f}% of the"
                f" process's {cpu:.1f}s CPU; by generation (runs, s): "
                + ", ".join(f"gen{g} {_runs[g]}, {_spent[g]:.2f}" for g in range(3))
                + "\n"
            )

    gc.callbacks.append(_on_gc)
    atexit.register(_write)

# RW_TRACEMALLOC=FILE: trace allocations; on SIGUSR2, write the 40 source lines holding the
# most memory to FILE (the benchmark sends it once the RSS curve is flat).
_trace_target = os.environ.get("RW_TRACEMALLOC")
if _trace_target:
    import signal
    import tracemalloc

    tracemalloc.start(1)

    def _dump(_signum: int, _frame: object) -> None:
        snapshot = tracemalloc.take_snapshot()
        stats = snapshot.statistics("lineno")
        total = sum(s.size for s in stats)
        with open(_trace_target, "w") as out:
            out.write(f"traced: {total / 2**20:.1f} MiB in {sum(s.count for s in stats)} blocks\n")
            for stat in stats[:40]:
                frame = stat.traceback[0]
                out.write(
                    f"{stat.size / 2**20:8.1f} MiB {stat.count:9d}  {frame.filename}:{frame.lineno}\n"
                )

    signal.signal(signal.SIGUSR2, _dump)
