"""The `local` probe: settings, the sample set it yields on this machine, unit checks via a
stand-in `systemctl`, and the docstring's inventory example."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import psutil
import pytest
import yaml
from pydantic import ValidationError

import probes.local as local
from probes.local import HostReading, LocalProbe, LocalSettings, host_samples
from probes.registry import probe_class

HOST_METRICS = {
    "cpu.usage",
    "load.1",
    "load.5",
    "load.15",
    "memory.used_percent",
    "swap.used_percent",
    "disk.used_percent",
    "disk.free_bytes",
    "net.rx_bytes",
    "net.tx_bytes",
    "uptime.seconds",
}


def make_probe(**settings: object) -> LocalProbe:
    return LocalProbe("box", LocalSettings.model_validate({"type": "local", **settings}))


def test_registry_resolves_local_to_local_probe() -> None:
    assert probe_class("local") is LocalProbe


def test_list_settings_accept_comma_separated_strings_from_the_command_line() -> None:
    settings = LocalSettings.model_validate(
        {"type": "local", "mounts": "/, /var", "processes": "sshd,cron", "units": "ssh.service"}
    )
    assert settings.mounts == ["/", "/var"]
    assert settings.processes == ["sshd", "cron"]
    assert settings.units == ["ssh.service"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("units", ["nginx; rm -rf /"]),
        ("units", ["--now"]),
        ("units", ["a b.service"]),
        ("mounts", ["var"]),
        ("nics", ["eth0 "]),
        ("processes", [""]),
        ("mount", ["/"]),  # a typo of a key is an error, not ignored
    ],
)
def test_settings_reject_values_that_are_not_names(key: str, value: object) -> None:
    with pytest.raises(ValidationError):
        LocalSettings.model_validate({"type": "local", key: value})


def test_cli_target_needs_no_address_and_refuses_another_host() -> None:
    assert LocalProbe.cli_target("") == {}
    assert LocalProbe.cli_target("localhost") == {}
    with pytest.raises(ValueError, match="this machine only"):
        LocalProbe.cli_target("10.0.0.1")


async def test_poll_yields_every_host_metric_of_this_machine() -> None:
    probe = make_probe()
    samples = await probe.poll(1_800_000_000.0)
    metrics = {s.metric for s in samples}
    assert metrics >= HOST_METRICS
    assert all(s.device == "box" and s.ts == 1_800_000_000.0 for s in samples)
    cpu = next(s for s in samples if s.metric == "cpu.usage")
    assert isinstance(cpu.value, float)
    assert 0.0 <= cpu.value <= 100.0
    mounts = {s.labels["mount"] for s in samples if s.metric == "disk.used_percent"}
    assert "/" in mounts
    assert not any(m.startswith(("/proc", "/sys", "/dev")) for m in mounts)
    nics = {s.labels["nic"] for s in samples if s.metric == "net.rx_bytes"}
    assert "lo" not in nics


async def test_second_poll_measures_cpu_against_the_previous_poll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = make_probe(mounts=["/"])
    await probe.poll(1.0)
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("probes.local.asyncio.sleep", no_sleep)
    samples = await probe.poll(2.0)
    assert slept == []  # no extra window: the previous poll is the baseline
    assert {"load.1", "memory.used_percent"} <= {s.metric for s in samples}


async def test_listed_mounts_and_nics_limit_the_samples_and_unknown_ones_are_skipped() -> None:
    probe = make_probe(mounts=["/", "/no/such/mount"], nics=["lo", "nosuchnic0"])
    samples = await probe.poll(5.0)
    assert {s.labels["mount"] for s in samples if s.metric.startswith("disk.")} == {"/"}
    assert {s.labels["nic"] for s in samples if s.metric.startswith("net.")} == {"lo"}


async def test_a_listed_mount_point_that_is_not_mounted_yields_no_disk_sample(
    tmp_path: Path,
) -> None:
    # A plain directory (a data disk that did not mount) must not report the usage of the
    # filesystem beneath it under its own name (pytest tmp dirs are plain directories).
    probe = make_probe(mounts=["/", str(tmp_path)])
    samples = await probe.poll(5.0)
    assert {s.labels["mount"] for s in samples if s.metric.startswith("disk.")} == {"/"}


async def test_process_running_is_one_for_this_process_and_zero_for_a_missing_name() -> None:
    own = psutil.Process(os.getpid()).name()
    probe = make_probe(processes=[own, "no-such-daemon"])
    samples = await probe.poll(5.0)
    running = {s.labels["name"]: s.value for s in samples if s.metric == "process.running"}
    assert running == {own: 1, "no-such-daemon": 0}


def fake_systemctl(directory: Path, output: str, exit_status: int) -> Path:
    script = directory / "systemctl"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\nexit {exit_status}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


async def test_service_active_follows_systemctl_output_despite_its_non_zero_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = fake_systemctl(tmp_path, "active\\nfailed\\n", 3)
    monkeypatch.setattr("probes.local.shutil.which", lambda name: str(script))
    probe = make_probe(mounts=[], nics=[], units=["ssh.service", "cron.service"])
    samples = await probe.poll(5.0)
    active = {s.labels["unit"]: s.value for s in samples if s.metric == "service.active"}
    assert active == {"ssh.service": 1, "cron.service": 0}


async def test_without_systemctl_no_service_sample_is_invented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("probes.local.shutil.which", lambda name: None)
    samples = await make_probe(mounts=[], units=["ssh.service"]).poll(5.0)
    assert "service.active" not in {s.metric for s in samples}


async def test_systemctl_that_prints_an_error_instead_of_states_yields_no_service_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a machine where systemd is not PID 1: nothing on stdout, exit 1.
    script = fake_systemctl(tmp_path, "", 1)
    monkeypatch.setattr("probes.local.shutil.which", lambda name: str(script))
    samples = await make_probe(mounts=[], units=["ssh.service"]).poll(5.0)
    assert "service.active" not in {s.metric for s in samples}


def test_host_samples_name_units_and_labels_as_the_design_says() -> None:
    reading = HostReading(
        cpu_usage=12.345,
        load=(0.5, 0.25, 0.125),
        memory_used_percent=40.0,
        swap_used_percent=0.0,
        disks={"/srv/my data": (71.5, 1024)},
        nics={"eth0": (10, 20)},
        uptime_s=3600.0,
        processes={"sshd": True},
        units={"ssh.service": "activating"},
    )
    got = {
        (s.metric, tuple(s.labels.items())): (s.value, s.unit)
        for s in host_samples("h", reading, 9.0)
    }
    assert got == {
        ("cpu.usage", ()): (12.35, "%"),
        ("load.1", ()): (0.5, None),
        ("load.5", ()): (0.25, None),
        ("load.15", ()): (0.125, None),
        ("memory.used_percent", ()): (40.0, "%"),
        ("swap.used_percent", ()): (0.0, "%"),
        ("disk.used_percent", (("mount", "/srv/my data"),)): (71.5, "%"),
        ("disk.free_bytes", (("mount", "/srv/my data"),)): (1024, "B"),
        ("net.rx_bytes", (("nic", "eth0"),)): (10, "B"),
        ("net.tx_bytes", (("nic", "eth0"),)): (20, "B"),
        ("uptime.seconds", ()): (3600.0, "s"),
        ("process.running", (("name", "sshd"),)): (1, None),
        ("service.active", (("unit", "ssh.service"),)): (0, None),
    }


def test_absent_readings_yield_no_samples_rather_than_zeros() -> None:
    assert host_samples("h", HostReading(), 1.0) == []


def test_docstring_inventory_example_is_valid_settings() -> None:
    doc = local.__doc__ or ""
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    device = yaml.safe_load(block)[0]
    for entry in device["probes"]:
        settings = LocalSettings.model_validate(entry)
        assert settings.interval == 30.0
        assert settings.units == ["roomwatch.service"]
    assert re.search(r"type: local", block)
