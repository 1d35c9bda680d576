"""A maintenance window added at the console and one added through the API at the same
moment both survive: `roomwatch maintenance add` processes and POST /api/maintenance against
a real daemon race on one maintenance file, round after round, and afterwards every window is
in the file, once, under its own id, and the daemon lists them all."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rules.maintenance import load_windows
from tests.fixtures.ops_daemon import http, start_daemon, stop_daemon, write_config
from tests.fixtures.peers import REPO, env_without_proxy, free_port, wait_until

pytestmark = pytest.mark.integration

ROUNDS = 3
CONSOLES = 4  # `roomwatch maintenance add` processes started together in each round
# The API's side of a round: one POST every PACE seconds until the consoles are done (a
# console's write then falls, more often than not, inside one of the API's), at most
# POSTS_PER_ROUND. Paced, so the file stays small enough to rewrite quickly.
PACE = 0.03
POSTS_PER_ROUND = 150

INVENTORY = "devices:\n" + "".join(
    f"  - {{id: sw{i}, name: Switch {i}, kind: switch, criticality: 2}}\n" for i in range(4)
)


def _answers(url: str) -> bool:
    try:
        return http("GET", url).status == 200
    except OSError:
        return False


def console_add(config: Path, device: str, reason: str) -> list[str]:
    return [
        *(sys.executable, "-m", "collector.cli", "maintenance", "add", "-c", str(config)),
        *("--device", device, "--duration", "2h", "--by", "console", "--reason", reason),
    ]


class Poster(threading.Thread):
    """POSTs windows one after another until told to stop (or its bound is reached)."""

    def __init__(self, base: str, tag: str) -> None:
        super().__init__(daemon=True)
        self.base, self.tag = base, tag
        self.done = threading.Event()
        self.added: list[str] = []
        self.refused: list[str] = []

    def run(self) -> None:
        for n in range(POSTS_PER_ROUND):
            if self.done.is_set():
                return
            reason = f"{self.tag}-{n}"
            body = {"select": {"id": f"sw{n % 4}"}, "duration": "2h", "reason": reason}
            reply = http("POST", self.base + "/api/maintenance", body=body | {"by": "api"})
            if reply.status == 201:
                self.added.append(reason)
            else:
                self.refused.append(f"{reply.status} {reply.text}")
            self.done.wait(PACE)


def test_windows_added_at_once_from_the_console_and_the_api_all_survive(tmp_path: Path) -> None:
    port = free_port()
    files = write_config(tmp_path, INVENTORY, f'{{listen: "127.0.0.1:{port}"}}', api_port=port)
    base = f"http://127.0.0.1:{port}"
    proc = start_daemon(files)
    expected: list[str] = []
    try:
        wait_until(lambda: _answers(base + "/api/health"), timeout=30)
        for round_ in range(ROUNDS):
            poster = Poster(base, f"api-{round_}")
            poster.start()
            while not poster.added and poster.is_alive():  # the API is writing already
                time.sleep(0.01)
            consoles = {
                f"cli-{round_}-{i}": subprocess.Popen(
                    console_add(files.config, f"sw{i}", f"cli-{round_}-{i}"),
                    cwd=REPO,
                    env=env_without_proxy(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for i in range(CONSOLES)
            }
            outcomes = {reason: p.communicate(timeout=120) for reason, p in consoles.items()}
            poster.done.set()
            poster.join(timeout=60)
            for reason, p in consoles.items():
                assert p.returncode == 0, outcomes[reason]
                assert outcomes[reason][0].startswith("added mw-"), outcomes[reason]
            assert poster.refused == []
            # the API wrote before, during and after the consoles did
            assert len(poster.added) > 1
            expected += [*consoles, *poster.added]

        windows = load_windows(files.directory / "state" / "maintenance.yaml")
        assert sorted(w.reason for w in windows) == sorted(expected)  # none lost, none doubled
        assert len({w.id for w in windows}) == len(windows)
        listed = http("GET", base + "/api/maintenance").json()["windows"]
        assert len(listed) == len(expected)
    finally:
        assert stop_daemon(proc) == 0
