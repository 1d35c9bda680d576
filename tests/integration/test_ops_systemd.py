"""The systemd unit and the install script, checked with systemd's own tools.

`systemd-analyze verify` fails on fatal errors but only warns (exit 0) on an unknown or
misspelt key, so stderr is read too. It also insists that ExecStart exists on this machine,
so the unit is checked with /opt/roomwatch/venv/bin/roomwatch pointed at this checkout's
roomwatch command; nothing else is changed."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.machine_lock import machine_lock
from tests.fixtures.peers import REPO, require_binary

pytestmark = pytest.mark.integration

UNIT = REPO / "systemd" / "roomwatch.service"
INSTALL = REPO / "systemd" / "install.sh"
INSTALLED_COMMAND = "/opt/roomwatch/venv/bin/roomwatch"


@pytest.fixture(autouse=True, scope="module")
def no_package_install_meanwhile() -> Iterator[None]:
    """systemd-analyze reads the unit search path, where the package test (maybe in another
    pytest-xdist worker) installs roomwatch.service: not while these tests look."""
    with machine_lock(exclusive=False):
        yield


def local_command() -> str:
    command = Path(sys.executable).parent / "roomwatch"
    assert command.exists(), f"{command}: run `pip install -e .` (.ci/setup) first"
    return str(command)


def checkable_copy(unit: Path, directory: Path) -> Path:
    text = unit.read_text(encoding="utf-8")
    assert INSTALLED_COMMAND in text
    copy = directory / "roomwatch.service"
    copy.write_text(text.replace(INSTALLED_COMMAND, local_command()), encoding="utf-8")
    return copy


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    analyze = require_binary("systemd-analyze")
    return subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )


def unit_settings(unit: Path) -> dict[str, list[str]]:
    """`Key=value` lines of the unit (keys may repeat, like DeviceAllow)."""
    out: dict[str, list[str]] = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_the_unit_verifies_with_no_unknown_key_or_other_warning(tmp_path: Path) -> None:
    result = verify(checkable_copy(UNIT, tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Unknown key" not in result.stderr
    assert "Unknown section" not in result.stderr
    # any complaint about the file itself names it as path:line
    assert not re.search(r"roomwatch\.service:\d+:", result.stderr), result.stderr


def test_a_misspelt_key_would_be_caught(tmp_path: Path) -> None:
    # the check above is only worth something if systemd-analyze reports such keys here
    broken = UNIT.read_text(encoding="utf-8").replace("WatchdogSec=", "WatchdogSecs=")
    (tmp_path / "in").mkdir()
    source = tmp_path / "in" / "roomwatch.service"
    source.write_text(broken, encoding="utf-8")
    result = verify(checkable_copy(source, tmp_path))
    assert "Unknown key" in result.stderr


def test_the_unit_is_type_notify_with_watchdog_check_reload_and_its_own_user() -> None:
    settings = unit_settings(UNIT)
    single = {k: v[-1] for k, v in settings.items()}
    assert single["Type"] == "notify"
    assert single["NotifyAccess"] == "main"
    assert single["WatchdogSec"] == "30s"
    assert single["ExecStartPre"].split()[1:3] == ["check", "-c"]
    assert single["ExecStart"].split()[1:3] == ["run", "-c"]
    assert single["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert (single["User"], single["SupplementaryGroups"]) == ("roomwatch", "dialout")
    assert (single["StateDirectory"], single["ConfigurationDirectory"]) == ("roomwatch",) * 2
    assert single["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert single["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "DevicePolicy": "closed",
    }.items():
        assert single[key] == value, key
    assert "char-ttyUSB rw" in settings["DeviceAllow"]


def test_the_unit_keeps_a_low_exposure_score(tmp_path: Path) -> None:
    analyze = require_binary("systemd-analyze")
    unit = checkable_copy(UNIT, tmp_path)
    result = subprocess.run(
        [analyze, "security", "--offline=true", "--threshold=30", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # exit 0 means an overall exposure of at most 3.0 of 10 ("OK")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Overall exposure level for roomwatch.service" in result.stdout


def run_install(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), "--skip-venv"],
        capture_output=True,
        text=True,
        timeout=60,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_install_script_lays_out_config_and_unit_and_keeps_an_edited_config(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    first = run_install(root)
    assert first.returncode == 0, first.stderr
    etc = root / "etc" / "roomwatch"
    assert mode(etc) == 0o750
    for name in ("roomwatch.yaml", "inventory.yaml", "credentials.yaml", "rules/roomwatch.yaml"):
        assert mode(etc / name) == 0o640, name
    installed_unit = root / "etc" / "systemd" / "system" / "roomwatch.service"
    assert installed_unit.read_bytes() == UNIT.read_bytes()
    assert (root / "opt" / "roomwatch" / "share" / "README.md").exists()

    # the starter configuration is valid as installed
    check = subprocess.run(
        [local_command(), "check", "-c", str(etc / "roomwatch.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_PROXY": "*"},
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("ok: 1 devices")
    assert "warning" not in check.stderr  # credentials file not readable by others

    # an admin's edit survives a second run (an upgrade)
    (etc / "inventory.yaml").write_text("devices: []\n", encoding="utf-8")
    second = run_install(root)
    assert second.returncode == 0, second.stderr
    assert (etc / "inventory.yaml").read_text(encoding="utf-8") == "devices: []\n"
    assert "kept existing" in second.stdout
    # an upgrade leaves the old code running: the admin is told to restart, not to enable
    assert "systemctl restart roomwatch" in second.stdout
    assert "enable --now" not in second.stdout
    assert "systemctl enable --now roomwatch" in first.stdout


def test_install_script_refuses_to_run_as_a_normal_user_without_a_root_dir(
    tmp_path: Path,
) -> None:
    if os.geteuid() == 0:
        nobody = subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True)
        command = [
            "setpriv",
            f"--reuid={nobody.stdout.strip()}",
            "--regid=65534",
            "--clear-groups",
            "bash",
            str(INSTALL),
            "--skip-venv",
        ]
    else:
        command = ["bash", str(INSTALL), "--skip-venv"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 1
    assert "run as root" in result.stderr
