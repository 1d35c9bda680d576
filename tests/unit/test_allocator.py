"""The malloc arena limit: set on glibc unless the admin's MALLOC_ARENA_MAX says otherwise
(its effect on RSS is measured in bench/README.md, not here)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GLIBC = platform.libc_ver()[0] == "glibc"


def _limit_in_fresh_process(env_value: str | None) -> str:
    env = {"PATH": "/usr/bin:/bin"}
    if env_value is not None:
        env["MALLOC_ARENA_MAX"] = env_value
    done = subprocess.run(
        [sys.executable, "-c", "from collector import allocator; print(allocator.limit_arenas())"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt")
def test_the_limit_is_set_on_glibc() -> None:
    assert _limit_in_fresh_process(None) == "True"


def test_an_admins_malloc_arena_max_is_kept() -> None:
    assert _limit_in_fresh_process("4") == "False"
