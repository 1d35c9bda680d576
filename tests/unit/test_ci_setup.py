"""`.ci/setup` on a fresh machine: apt may be locked by unattended-upgrades in the first minutes.
The setup waits for the lock (bounded, saying so) instead of failing at once."""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APT_WAIT = REPO / ".ci" / "apt-wait"


def _run(lock: Path, wait_s: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APT_LOCK_FILES": str(lock), "APT_LOCK_WAIT": str(wait_s)}
    return subprocess.run([str(APT_WAIT)], env=env, capture_output=True, text=True, timeout=60)


def test_setup_waits_for_a_held_apt_lock_and_goes_on_when_it_is_released(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.touch()
    with open(lock, "r+") as held:
        fcntl.lockf(held, fcntl.LOCK_EX)  # as apt and dpkg take it: an fcntl lock
        threading.Timer(1.5, fcntl.lockf, (held, fcntl.LOCK_UN)).start()
        result = _run(lock, wait_s=30)
    assert result.returncode == 0, result.stderr
    assert "waiting for another package manager" in result.stderr
    assert f"pid {os.getpid()}" in result.stderr  # says who holds it
    assert "apt is free after" in result.stderr


def test_setup_gives_up_after_the_bound_and_says_what_to_do(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.touch()
    with open(lock, "r+") as held:
        fcntl.lockf(held, fcntl.LOCK_EX)
        result = _run(lock, wait_s=1)
    assert result.returncode == 1
    assert "still locked after 1s" in result.stderr
    assert "APT_LOCK_WAIT" in result.stderr


def test_a_free_apt_is_not_waited_for(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.touch()
    result = _run(lock, wait_s=5)
    assert result.returncode == 0
    assert result.stderr == ""


def test_setup_calls_apt_only_through_the_lock_wait() -> None:
    setup = (REPO / ".ci" / "setup").read_text(encoding="utf-8")
    calls = [
        line
        for line in setup.splitlines()
        if "apt-get " in line and "#" not in line and "command -v" not in line
    ]
    assert calls, "the setup installs system packages with apt-get"
    assert all("apt_get() {" in line or "DPkg::Lock::Timeout" in line for line in calls), calls
