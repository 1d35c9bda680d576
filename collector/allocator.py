"""glibc's malloc set for a daemon whose worker threads come and go: two arenas, not sixteen.

glibc gives a thread that allocates while another holds the main arena an arena of its own,
up to 8 per core, and each arena keeps what its threads freed for their later use. The
daemon's threads (the sink's spool and the reading history writing SQLite, the store's and
asyncio.to_thread's workers) each ended up with one, holding memory the main thread could
not reuse: at 1,000 SNMP devices two arenas instead of one per thread are about 12 MiB less
RSS (bench/README.md, "Memory"). This is what MALLOC_ARENA_MAX=2 does; an admin who sets that
variable keeps their value. Another C library (musl, macOS) has no such arenas: nothing to do."""

from __future__ import annotations

import ctypes
import os
import platform

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """At start, before worker threads allocate. Returns whether the limit was set."""
    if "MALLOC_ARENA_MAX" in os.environ or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count))
