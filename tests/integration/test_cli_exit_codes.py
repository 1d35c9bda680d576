"""Every command through the installed `roomwatch` console script, for each kind of outcome:
the exit code of the README's table (0 ok, 1 a finding, 2 bad usage or config, 3 a device or
the store did not answer, 130 Ctrl-C) and, for a failure, one line on stderr that says why,
never a Python traceback. The devices are real: a website on loopback, and a port that
takes the connection and never answers (a hung device)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from alerting.store import open_store
from tests.fixtures.website import Website

pytestmark = pytest.mark.integration

ROOMWATCH = Path(sys.executable).with_name("roomwatch")  # the console script pip installed


@dataclass
class Room:
    dir: Path
    site_port: int
    hung_port: int


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def device(device_id: str, port: int) -> str:
    return f"""
        devices:
          - id: {device_id}
            kind: website
            criticality: 2
            probes:
              - {{type: http, url: "http://127.0.0.1:{port}/", timeout: 1s}}
        """


def config(inventory: str, state: str = "state") -> str:
    return f"""
        inventory: {inventory}
        rules: [rules/]
        state_dir: {state}
        api: {{enabled: false}}
        """


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    site = Website()
    hung = socket.create_server(("127.0.0.1", 0))  # listens, never accepts: no answer
    here = tmp_path_factory.mktemp("room")
    write(here / "inventory.yaml", device("shop", site.port))
    write(here / "hung-inventory.yaml", device("stuck", hung.getsockname()[1]))
    write(
        here / "bad-inventory.yaml",
        "devices:\n  - {id: box, kind: server, criticality: 2, knd: x}\n",
    )
    write(
        here / "rules" / "web.yaml",
        """
        groups:
          - name: web
            rules:
              - {name: website-down, select: {kind: website}, metric: http.up, levels: {2: "== 0"}}
        """,
    )
    write(
        here / "bad-rules" / "web.yaml",
        """
        groups:
          - name: web
            rules:
              - {name: website-down, select: {kind: website}, metric: http.up, levels: {2: "== 0"}, fro: 1m}
        """,
    )
    for name, level in (("pass", 2), ("fail", 1)):
        write(
            here / "ruletests" / f"{name}.yaml",
            f"""
            rule_files: [../rules/web.yaml]
            inventory:
              devices:
                - {{id: web1, kind: website, criticality: 2}}
            interval: 1m
            tests:
              - name: a site down is a level-2 fault
                input_series:
                  - {{device: web1, metric: http.up, values: "0x2"}}
                expect:
                  - at: 1m
                    faults:
                      - {{rule: website-down, device: web1, level: {level}}}
            """,
        )
    write(here / "roomwatch.yaml", config("inventory.yaml"))
    write(here / "hung.yaml", config("hung-inventory.yaml", "hung-state"))
    write(here / "bad-inventory-config.yaml", config("bad-inventory.yaml", "bad-state"))
    write(here / "no-store.yaml", config("inventory.yaml", "never-ran"))
    write(
        here / "store-in-a-file.yaml",
        config("inventory.yaml", "file-state") + f"store: sqlite:///{here / 'a-file' / 'x.db'}\n",
    )
    (here / "a-file").write_text("not a directory\n", encoding="utf-8")
    write(here / "bad-yaml.yaml", "inventory: [inventory.yaml\n")
    (here / "garbage.db").write_bytes(b"this is no SQLite database\n" * 100)

    async def make_store() -> None:  # the store the daemon would have made
        store = await open_store(f"sqlite:///{here / 'state' / 'roomwatch.db'}")
        await store.close()

    asyncio.run(make_store())
    yield Room(here, site.port, hung.getsockname()[1])
    hung.close()
    site.close()


def roomwatch(room: Room, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    argv = [a.format(dir=room.dir, site=room.site_port, hung=room.hung_port) for a in args]
    return subprocess.run(
        [str(ROOMWATCH), *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=room.dir,
    )


C = "{dir}/roomwatch.yaml"
SITE = "http://127.0.0.1:{site}/"
HUNG = "http://127.0.0.1:{hung}/"

# (command line, exit code, the one stderr line says this; None: stderr may say nothing or
# carry notes, and the outcome shows on stdout)
CASES: list[tuple[str, int, str | None]] = [
    # 0: it worked
    (f"check -c {C}", 0, None),
    (f"poll -c {C}", 0, None),
    (f"probe http {SITE}", 0, None),
    (f"incidents list -c {C}", 0, None),
    (f"oncall now -c {C}", 0, None),
    ("rules check {dir}/rules", 0, None),
    ("rules test {dir}/ruletests/pass.yaml", 0, None),
    ("maintenance list --file {dir}/maintenance.yaml", 0, None),
    (f"report monthly --month 2026-01 --format md -c {C}", 0, None),
    (f"report inspection --format md -c {C}", 0, None),
    (f"store migrate -c {C}", 0, None),
    # 1: a finding
    ("check -c {dir}/bad-inventory-config.yaml", 1, "unknown key 'knd'"),
    ("check -c {dir}/missing.yaml", 1, "missing.yaml: config file not found"),
    ("rules check {dir}/bad-rules", 1, "unknown key 'fro'"),
    ("rules test {dir}/ruletests/fail.yaml", 1, None),
    (f"incidents show 99 -c {C}", 1, "no incident 99"),
    ("maintenance end mw-9 --file {dir}/maintenance.yaml", 1, "no window 'mw-9'"),
    # 2: bad usage or config
    ("", 2, "the following arguments are required: COMMAND"),
    ("no-such-command", 2, "invalid choice: 'no-such-command'"),
    ("incidents show abc", 2, "argument id: not an incident id or ticket number: 'abc'"),
    ("poll -c {dir}/missing.yaml", 2, "missing.yaml: config file not found"),
    ("oncall now -c {dir}/bad-yaml.yaml", 2, "bad-yaml.yaml:2:1: invalid YAML"),
    ("incidents list -c {dir}/bad-yaml.yaml", 2, "bad-yaml.yaml:2:1: invalid YAML"),
    ("report inspection -c {dir}/bad-inventory-config.yaml", 2, "unknown key 'knd'"),
    ("maintenance list -c {dir}/missing.yaml", 2, "config file not found"),
    (f"poll --device nope -c {C}", 2, "unknown device: nope"),
    (f"probe http {SITE} --colour red", 2, "--colour: unknown option"),
    ("probe telnet 10.0.0.1", 2, "telnet"),
    ("rules check", 2, "name rule files, or a config with -c"),
    (f"oncall now --at yesterday -c {C}", 2, "--at 'yesterday'"),
    (f"report monthly --month 2026-13 -c {C}", 2, "not a month or quarter: '2026-13'"),
    (f"report inspection --at soon -c {C}", 2, "not a time: 'soon'"),
    (
        "maintenance add --device shop --start noon --duration 1h --reason x"
        " --file {dir}/maintenance.yaml",
        2,
        "not a time: 'noon'",
    ),
    (
        f"report monthly --month 2026-01 -o {{dir}}/no-such-dir/r.html -c {C}",
        2,
        "cannot write",
    ),
    ("incidents list --store http://tickets.example.org/", 2, "unsupported store URL"),
    ("incidents list --store postgresql://rw:pw@db/rw", 2, "does not belong in the store URL"),
    (f"store copy --to http://tickets.example.org/ -c {C}", 2, "--to: expected postgresql://"),
    ("store migrate -c {dir}/bad-yaml.yaml", 2, "bad-yaml.yaml:2:1: invalid YAML"),
    ("run -c {dir}/bad-inventory-config.yaml", 2, "unknown key 'knd'"),
    # 3: a device or the store did not answer
    ("poll -c {dir}/hung.yaml", 3, "stuck (http): timeout"),
    (f"probe http {HUNG} --timeout 1s", 3, ": timeout: "),
    (f"probe http {SITE} --expect-text NOPE", 3, "content: it answered, but http.up is 0"),
    ("incidents show 1 -c {dir}/no-store.yaml", 3, "no ticket store at"),
    ("incidents list --store sqlite:///{dir}/garbage.db", 3, "file is not a database"),
    ("report monthly --month 2026-01 -c {dir}/no-store.yaml", 3, "no ticket store at"),
    ("store copy --to sqlite:///{dir}/copy.db -c {dir}/no-store.yaml", 3, "no ticket store at"),
    ("run -c {dir}/store-in-a-file.yaml", 3, "cannot open the ticket store"),
]


@pytest.mark.parametrize(("command", "code", "says"), CASES, ids=[c[0] or "(none)" for c in CASES])
def test_each_outcome_has_its_exit_code_and_one_line_on_stderr(
    room: Room, command: str, code: int, says: str | None
) -> None:
    done = roomwatch(room, *command.split())
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == code, (done.stdout[-2000:], done.stderr)
    if says is None:
        return
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    if command.startswith("run "):
        # the daemon logs for journald: one logfmt line per event, on stdout
        assert done.stderr == ""
        lines = [line for line in done.stdout.splitlines() if "level=error" in line]
    assert len(lines) == 1, done.stderr + done.stdout
    assert says in lines[0]


def test_a_finding_and_a_success_show_on_stdout(room: Room) -> None:
    """Where stderr stays quiet, the answer is on stdout (a failed rule test says FAIL)."""
    failed = roomwatch(room, "rules", "test", "{dir}/ruletests/fail.yaml")
    assert failed.returncode == 1
    assert "FAIL" in failed.stdout and "1 file(s) failed" in failed.stdout
    polled = roomwatch(room, "poll", "-c", C)
    assert polled.returncode == 0
    assert "http.up" in polled.stdout


@pytest.mark.parametrize("command", ["probe http {url} --timeout 30s", "poll -c {config}"])
def test_ctrl_c_is_a_quiet_exit_130(room: Room, tmp_path: Path, command: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as device_port:
        port = device_port.getsockname()[1]
        write(tmp_path / "inventory.yaml", device("slow", port).replace("1s", "30s"))
        write(tmp_path / "roomwatch.yaml", config("inventory.yaml"))
        argv = command.format(url=f"http://127.0.0.1:{port}/", config=tmp_path / "roomwatch.yaml")
        proc = subprocess.Popen(
            [str(ROOMWATCH), *argv.split()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        try:
            device_port.settimeout(30)
            connection, _ = device_port.accept()  # the poll is under way, waiting for an answer
            with connection:
                proc.send_signal(signal.SIGINT)
                _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130
    assert err.strip() == "interrupted"
