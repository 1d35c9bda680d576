"""The garbage collector set for a daemon that keeps a large, slowly replaced heap.

The daemon holds every series' latest reading and counter state (600,000 samples at 1,000
switches) and replaces most of it every interval. With CPython's default thresholds (700, 10,
10), each of those objects survives into the oldest generation, and the "25 % of the heap is
new" rule then starts a full collection every few seconds, each walking the whole heap: a
profile at 1,000 devices put 28 % of the main thread's time in the collector. Reference
counting frees almost everything the daemon drops; the cycle collector is only needed for the
rare cycles (an exception's traceback, a cancelled task), which die young. So: young
collections less often (10,000 allocations), full ones after 100 middle-aged collections
(about every 10 million allocations, minutes apart at 5,000 devices), and the objects made
at start-up (modules, compiled profiles, the loaded configuration) moved out of the
collector's sight with gc.freeze()."""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 100)


def tune() -> None:
    """At start, before the configuration is loaded."""
    gc.set_threshold(*THRESHOLDS)


def freeze_startup() -> None:
    """Once the services run: what exists now lives as long as the process, or until a
    reload replaces it (see after_reload)."""
    gc.collect()
    gc.freeze()


def after_reload() -> None:
    """What the reload replaced is freed by reference counting; a cycle among it could only
    be found unfrozen, so thaw, collect once, and freeze what is left."""
    gc.unfreeze()
    freeze_startup()
