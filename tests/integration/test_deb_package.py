"""The Debian package on this machine: `packaging/build-deb` builds it, `dpkg -i` installs it
(roomwatch in /opt/roomwatch/venv, the unit, the `roomwatch` user, a starter /etc/roomwatch),
`roomwatch check` passes on the packaged configuration (as the service user), `systemd-analyze
verify` on the installed unit; an upgrade in place keeps the admin's configuration and the
state and migrates an older ticket store after copying it; purge removes it all.

It installs for real, as root, so it takes a lock (one such test at a time on the machine),
refuses to run where roomwatch is already installed, and purges in any case. The upgrade
package is the same build repacked with a higher version and no compression (seconds, where
compressing 90 MB again would take most of a minute)."""

from __future__ import annotations

import grp
import os
import pwd
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.machine_lock import machine_lock
from tests.fixtures.peers import env_without_proxy, require_binary
from tests.fixtures.source_copy import copy_tree

pytestmark = pytest.mark.integration

ETC = Path("/etc/roomwatch")
STATE = Path("/var/lib/roomwatch")
APP = Path("/opt/roomwatch")
UNIT = Path("/lib/systemd/system/roomwatch.service")


def run(
    *args: str, timeout: float = 300, user: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = ["runuser", "-u", user, "--", *args] if user else list(args)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def dpkg(*args: str) -> subprocess.CompletedProcess[str]:
    """dpkg, waiting (bounded) while another package manager holds dpkg's lock."""
    deadline = time.monotonic() + 300
    while True:
        done = run("dpkg", *args)
        locked = "lock" in done.stderr and ("held" in done.stderr or "locked" in done.stderr)
        if not locked or time.monotonic() > deadline:
            return done
        time.sleep(2)


def installed() -> str | None:
    done = run("dpkg-query", "-W", "-f=${Status} ${Version}", "roomwatch")
    return done.stdout.split()[-1] if "install ok installed" in done.stdout else None


def exists(name: str, db: str) -> bool:
    try:
        (pwd.getpwnam if db == "passwd" else grp.getgrnam)(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_binary("dpkg-deb")
    tree = copy_tree(tmp_path_factory.mktemp("deb") / "src")
    out = tree.parent / "out"
    done = subprocess.run(
        [str(tree / "packaging" / "build-deb"), "--out", str(out)],
        capture_output=True, text=True, timeout=900, env=env_without_proxy(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (package,) = out.glob("roomwatch_*.deb")
    return package


@pytest.fixture
def machine() -> Iterator[None]:
    """The machine to install on, to ourselves, and left as it was found."""
    if os.geteuid() != 0:
        pytest.fail("installing a package needs root (CI and this machine run tests as root)")
    with machine_lock(exclusive=True):
        if installed() or ETC.exists() or APP.exists():
            pytest.fail("roomwatch is installed on this machine already: not touching it")
        had_user, had_group = exists("roomwatch", "passwd"), exists("roomwatch", "group")
        try:
            yield
        finally:
            if installed() or run("dpkg-query", "-W", "roomwatch").returncode == 0:
                dpkg("--purge", "roomwatch")
            if not had_user and exists("roomwatch", "passwd"):
                run("userdel", "roomwatch")
            if not had_group and exists("roomwatch", "group"):
                run("groupdel", "roomwatch")


def repacked(deb: Path, version: str, tmp: Path) -> Path:
    tree = tmp / "repack"
    assert run("dpkg-deb", "-R", str(deb), str(tree)).returncode == 0
    control = tree / "DEBIAN" / "control"
    lines = control.read_text().splitlines()
    control.write_text(
        "\n".join(f"Version: {version}" if line.startswith("Version:") else line for line in lines)
        + "\n"
    )
    out = tmp / f"roomwatch_{version}.deb"
    done = run("dpkg-deb", "--root-owner-group", "-Znone", "-b", str(tree), str(out))
    assert done.returncode == 0, done.stderr
    return out


def old_ticket_store(path: Path) -> None:
    """A ticket store as the release before the newest migration left it: the packaged
    migrations but the last, applied in order."""
    steps = sorted(
        (APP / "venv/lib").glob("python3*/site-packages/alerting/store/migrations/*.sqlite.sql")
    )
    db = sqlite3.connect(path)
    for step in steps[:-1]:
        db.executescript(step.read_text())
    db.execute(f"PRAGMA user_version = {len(steps) - 1}")
    db.commit()
    db.close()
    user = pwd.getpwnam("roomwatch")
    os.chown(path, user.pw_uid, user.pw_gid)


@pytest.mark.usefixtures("machine")
def test_install_check_upgrade_in_place_and_purge(deb: Path, tmp_path: Path) -> None:
    done = dpkg("-i", str(deb))
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed() == deb.name.split("_")[1]

    # what the package put where
    assert run("roomwatch", "--version").stdout.startswith("roomwatch ")
    assert os.path.realpath("/usr/bin/roomwatch") == str(APP / "venv/bin/roomwatch")
    user = pwd.getpwnam("roomwatch")
    assert user.pw_shell == "/usr/sbin/nologin"
    assert "roomwatch" in grp.getgrnam("dialout").gr_mem
    credentials = (ETC / "credentials.yaml").stat()
    assert (oct(credentials.st_mode & 0o777), credentials.st_uid, credentials.st_gid) == (
        "0o640", 0, user.pw_gid,
    )  # fmt: skip
    assert STATE.stat().st_uid == user.pw_uid

    # the packaged configuration passes, read as the service reads it
    check = run(
        str(APP / "venv/bin/roomwatch"),
        "check",
        "-c",
        str(ETC / "roomwatch.yaml"),
        user="roomwatch",
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("ok: ")
    # the hot path runs compiled (docs/compiled.md), and the mypy that compiled it did not ship
    hot = run(
        str(APP / "venv/bin/python"),
        "-I",  # the package's modules, not a checkout's in the working directory
        "-c",
        "import probes.snmp.ber, rules.engine; from core.compiled import compiled_modules;"
        " print(*compiled_modules())",
    )
    assert {"probes.snmp.ber", "rules.engine"} <= set(hot.stdout.split()), hot.stderr
    assert not list((APP / "venv/lib").glob("python3*/site-packages/mypy"))
    verify = run(require_binary("systemd-analyze"), "verify", str(UNIT))
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # the admin's room, and a ticket store one schema behind the new version
    inventory = ETC / "inventory.yaml"
    inventory.write_text(inventory.read_text() + "# the admin was here\n")
    old_ticket_store(STATE / "roomwatch.db")
    stale = run(
        str(APP / "venv/bin/roomwatch"),
        "incidents",
        "list",
        "-c",
        str(ETC / "roomwatch.yaml"),
        user="roomwatch",
    )
    assert stale.returncode == 2 and "store migrate" in stale.stderr

    upgrade = repacked(deb, deb.name.split("_")[1].replace("-1", "-2"), tmp_path)
    done = dpkg("-i", str(upgrade))
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed() is not None and installed().endswith("-2")  # type: ignore[union-attr]
    assert inventory.read_text().endswith("# the admin was here\n")
    (backup,) = (STATE / "backups").glob("roomwatch-schema*.db")
    with sqlite3.connect(backup) as db:
        assert (
            db.execute("PRAGMA user_version").fetchone()[0]
            == len(
                list(
                    (APP / "venv/lib").glob(
                        "python3*/site-packages/alerting/store/migrations/*.sqlite.sql"
                    )
                )
            )
            - 1
        )
    listed = run(
        str(APP / "venv/bin/roomwatch"),
        "incidents",
        "list",
        "-c",
        str(ETC / "roomwatch.yaml"),
        user="roomwatch",
    )
    assert listed.returncode == 0, listed.stderr
    assert (
        run(
            str(APP / "venv/bin/roomwatch"),
            "check",
            "-c",
            str(ETC / "roomwatch.yaml"),
            user="roomwatch",
        ).returncode
        == 0
    )

    done = dpkg("--purge", "roomwatch")
    assert done.returncode == 0, done.stderr
    assert installed() is None
    for gone in (APP, ETC, STATE, UNIT, Path("/usr/bin/roomwatch")):
        assert not gone.exists() and not gone.is_symlink(), gone
