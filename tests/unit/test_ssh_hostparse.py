"""Host output parsing on captured outputs of several distributions
(tests/fixtures/hostoutputs/, see its MANIFEST.md), and the parsers' edge cases one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.hostparse import (
    CpuTimes,
    cpu_usage_percent,
    parse_df,
    parse_loadavg,
    parse_meminfo,
    parse_net_dev,
    parse_proc_mounts,
    parse_proc_stat,
    parse_systemctl_is_active,
    parse_uptime,
    process_names_running,
)
from probes.hostscript import ScriptResult, read_output, split_sections

OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "hostoutputs"


def read(
    name: str,
    *,
    previous_cpu: CpuTimes | None = None,
    mounts: list[str] | None = None,
    nics: list[str] | None = None,
    processes: list[str] | None = None,
    units: list[str] | None = None,
) -> ScriptResult:
    return read_output(
        (OUTPUTS / name).read_text(encoding="utf-8"),
        previous_cpu=previous_cpu,
        mounts=mounts,
        nics=nics,
        processes=processes or [],
        units=units or [],
    )


# --- whole outputs, one distribution each -----------------------------------------------


def test_debian12_vm_capture() -> None:
    result = read(
        "debian12-vm.txt", processes=["sshd", "cron"], units=["ssh.service", "cron.service"]
    )
    r = result.reading
    assert result.complete
    # first poll: /proc/stat twice in the round trip; 1 busy tick of 49
    assert r.cpu_usage == pytest.approx(100 / 49)
    assert r.load == (0.92, 0.41, 0.17)
    assert r.memory_used_percent == pytest.approx(100 * (24684084 - 24237784) / 24684084)
    assert r.swap_used_percent == 0.0
    assert r.uptime_s == 717.72
    assert set(r.disks) == {"/"}
    percent, free = r.disks["/"]
    assert percent == pytest.approx(100 * 23591280 / (23591280 + 82799632))
    assert free == 82799632 * 1024
    assert r.nics["eth0"] == (224808142, 250473)
    assert "lo" not in r.nics
    assert r.processes == {"sshd": True, "cron": False}
    # systemd is not PID 1 there: systemctl printed nothing, so no unit state is invented
    assert r.units == {}


def test_ubuntu2204_with_snaps_lvm_docker_and_a_login_banner() -> None:
    result = read(
        "ubuntu2204-snaps-lvm.txt",
        previous_cpu=CpuTimes(busy=2887952 - 100, total=94761824 - 1000),
        processes=["nginx", "postgres", "systemd-journald", "mysqld"],
        units=["ssh.service", "nginx.service", "apache2.service"],
    )
    r = result.reading
    assert r.cpu_usage == pytest.approx(10.0)
    assert r.memory_used_percent == pytest.approx(100 * (8135076 - 3657284) / 8135076)
    assert r.swap_used_percent == pytest.approx(100 * (2097148 - 1572860) / 2097148)
    # snaps (squashfs), tmpfs and docker's overlay layers are left out by default
    assert set(r.disks) == {"/", "/boot", "/boot/efi", "/srv/data"}
    assert r.disks["/srv/data"][0] == pytest.approx(100 * 498830336 / (498830336 + 25201664))
    assert set(r.nics) == {"ens18", "docker0", "vethd3b1c2a"}
    assert r.nics["ens18"] == (98231445102, 14302119873)
    # a name longer than the kernel's 15-character comm still matches
    assert r.processes == {
        "nginx": True,
        "postgres": True,
        "systemd-journald": True,
        "mysqld": False,
    }
    assert r.units == {
        "ssh.service": "active",
        "nginx.service": "failed",
        "apache2.service": "inactive",
    }


def test_rhel7_with_nfs_long_device_names_and_rootfs_shadowed() -> None:
    r = read(
        "rhel7-nfs-long-names.txt",
        units=["sshd.service", "nosuch.service"],
        processes=["ora_pmon_orcl"],
    ).reading
    assert r.load == (12.5, 10.02, 8.75)
    assert r.memory_used_percent == pytest.approx(80.0, abs=0.001)
    assert r.swap_used_percent == pytest.approx(100 * 11200 / 8388604)
    assert set(r.disks) == {"/", "/boot", "/var/lib/oracle", "/mnt/backups"}
    assert r.disks["/mnt/backups"][0] == pytest.approx(60.0)
    assert r.disks["/mnt/backups"][1] == 4294967296 * 1024
    assert r.nics["eth0"] == (1234567890123, 987654321098)  # no space after the colon
    assert set(r.nics) == {"eth0", "bond0"}
    assert r.units == {"sshd.service": "active", "nosuch.service": "unknown"}
    assert r.processes == {"ora_pmon_orcl": True}


def test_centos6_without_memavailable_and_without_systemctl() -> None:
    r = read(
        "centos6-no-memavailable-no-systemctl.txt",
        previous_cpu=CpuTimes(busy=0.0, total=0.0),
        units=["mysqld.service"],
    ).reading
    free_buffers_cached = 1374408 + 32688 + 370540
    assert r.memory_used_percent == pytest.approx(100 * (1921988 - free_buffers_cached) / 1921988)
    assert r.swap_used_percent == 0.0
    assert r.units == {}  # no systemctl: nothing reported, nothing guessed
    # tmpfs is not in /proc/mounts' list here; df's own filesystem column rules it out
    assert set(r.disks) == {"/", "/boot"}
    assert r.cpu_usage is not None


def test_alpine_container_with_busybox_df_overlay_root_and_no_swap() -> None:
    r = read("alpine-container-busybox.txt", processes=["nginx", "php-fpm82"]).reading
    assert r.cpu_usage == pytest.approx(100 * 15 / 55)
    assert r.swap_used_percent == 0.0
    # overlay at / is the container's root; /dev/sda1 is reported once, at its first mount
    assert set(r.disks) == {"/", "/etc/hosts"}
    assert r.processes == {"nginx": True, "php-fpm82": True}


def test_mount_points_with_spaces_are_reported_when_listed() -> None:
    r = read("alpine-container-busybox.txt", mounts=["/var/www/My Site", "/missing"]).reading
    assert list(r.disks) == ["/var/www/My Site"]
    percent, free = r.disks["/var/www/My Site"]
    assert percent == pytest.approx(100 * 9805760 / (9805760 + 48308408))
    assert free == 48308408 * 1024


def test_other_locale_header_and_a_wrapped_device_name() -> None:
    r = read("other-locale-wrapped-df.txt").reading
    assert r.disks["/srv/Archiv Kunden 2025"][0] == pytest.approx(50.0)
    assert r.disks["/srv/Archiv Kunden 2025"][1] == 52403200 * 1024
    assert r.disks["/media/ops/My Passport"][1] == 18397376 * 1024
    assert r.load == (0.5, 0.4, 0.3)
    # no end marker, no meminfo: those metrics are absent, the rest stands
    assert r.memory_used_percent is None


def test_output_cut_short_is_marked_incomplete_and_keeps_what_arrived() -> None:
    text = (OUTPUTS / "debian12-vm.txt").read_text()
    cut = text[: text.index("@@roomwatch netdev")]
    result = read_output(cut, previous_cpu=None, mounts=None, nics=None, processes=[], units=[])
    assert not result.complete
    assert result.reading.load == (0.92, 0.41, 0.17)
    assert result.reading.nics == {}


def test_output_of_a_host_without_proc_has_no_host_readings() -> None:
    text = "@@roomwatch stat\n@@roomwatch loadavg\n@@roomwatch meminfo\n@@roomwatch uptime\n@@roomwatch end\n"
    r = read_output(text, previous_cpu=None, mounts=None, nics=None, processes=[], units=[]).reading
    assert (r.load, r.memory_used_percent, r.uptime_s, r.cpu_usage) == (None, None, None, None)


# --- the parsers one by one ------------------------------------------------------------


def test_sections_ignore_text_before_the_first_marker() -> None:
    assert split_sections("motd\n@@roomwatch a\n1\n2\n@@roomwatch b\n") == {"a": "1\n2", "b": ""}


def test_cpu_usage_is_none_when_counters_go_back_after_a_reboot() -> None:
    assert cpu_usage_percent(CpuTimes(500, 1000), CpuTimes(10, 100)) is None
    assert cpu_usage_percent(CpuTimes(500, 1000), CpuTimes(500, 1000)) is None
    assert cpu_usage_percent(CpuTimes(500, 1000), CpuTimes(550, 1100)) == 50.0


def test_proc_stat_with_only_the_four_oldest_fields() -> None:
    cpu = parse_proc_stat("cpu 10 0 10 80\n")
    assert cpu == CpuTimes(busy=20.0, total=100.0)


@pytest.mark.parametrize("text", ["", "garbage", "cpu x y z w\n", "cpu0 1 2 3 4\n"])
def test_proc_stat_garbage_gives_nothing(text: str) -> None:
    assert parse_proc_stat(text) is None


@pytest.mark.parametrize("text", ["", "0.1 0.2", "a b c"])
def test_loadavg_garbage_gives_nothing(text: str) -> None:
    assert parse_loadavg(text) is None


def test_uptime_garbage_gives_nothing() -> None:
    assert parse_uptime("") is None
    assert parse_uptime("up 3 days") is None


def test_meminfo_without_memtotal_gives_nothing() -> None:
    assert parse_meminfo("MemFree: 10 kB\n") is None


def test_net_dev_skips_headers_and_short_lines() -> None:
    text = "Inter-|   Receive |  Transmit\n face |bytes packets\n eth0: 1 2 3\n wg0: 5 0 0 0 0 0 0 0 7 0 0 0 0 0 0 0\n"
    assert parse_net_dev(text) == {"wg0": parse_net_dev(text)["wg0"]}
    assert parse_net_dev(text)["wg0"].tx_bytes == 7


def test_proc_mounts_unescapes_spaces_and_the_last_mount_wins() -> None:
    text = (
        "rootfs / rootfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/My\\040Disk xfs rw 0 0\n"
    )
    assert parse_proc_mounts(text) == {"/": "ext4", "/mnt/My Disk": "xfs"}


def test_df_with_512_byte_blocks_and_a_dash_capacity() -> None:
    text = (
        "Filesystem 512-blocks Used Available Capacity Mounted on\n"
        "/dev/sda1 2000 1000 1000 50% /\n"
        "none 0 0 0 - /proc/fs/nfsd\n"
    )
    rows = parse_df(text)
    assert [(r.mount, r.free_bytes, r.used_percent) for r in rows] == [("/", 512000, 50.0)]


def test_df_garbage_yields_no_rows() -> None:
    assert parse_df("df: /mnt/gone: Transport endpoint is not connected\n") == []


def test_systemctl_output_that_does_not_match_the_unit_list_is_not_used() -> None:
    assert parse_systemctl_is_active(["a", "b"], "active\n") == {}
    assert parse_systemctl_is_active(["a"], "Failed to connect to bus\nHost is down\n") == {}
    assert parse_systemctl_is_active(["a", "b"], "active\nactivating\n") == {
        "a": "active",
        "b": "activating",
    }


def test_process_names_match_whole_names_only() -> None:
    assert process_names_running(["ssh", "sshd"], ["sshd", "bash"]) == {"ssh": False, "sshd": True}
