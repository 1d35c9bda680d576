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
    # What the youngest generation holds when it is collected, every 25th young collection:
    # its size and its most common types (a young generation far larger than the threshold
    # means old objects freed while new ones were made; see collector/gctune.py).
    _young_sizes: list[int] = []
    _young_types: dict[str, int] = {}

    def _look_at_young() -> None:
        young = gc.get_objects(generation=0)
        _young_sizes.append(len(young))
        for obj in young:
            name = type(obj).__qualname__
            _young_types[name] = _young_types.get(name, 0) + 1
        del young

    def _on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            if info["generation"] == 0 and _runs[0] % 25 == 0:
                _look_at_young()
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
            if _young_sizes:
                looked = len(_young_sizes)
                common = sorted(_young_types.items(), key=lambda kv: -kv[1])[:8]
                out.write(
                    f"  young generation when collected ({looked} looks): mean"
                    f" {sum(_young_sizes) / looked:,.0f} objects, max {max(_young_sizes):,};"
                    " most common: "
                    + ", ".join(f"{name} {count / looked:,.0f}" for name, count in common)
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
