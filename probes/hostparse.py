"""Pure parsers for what a Linux host prints: /proc files, `df -P`, `systemctl is-active`.

The `ssh` probe reads these texts from a remote host and the `local` probe shares the
arithmetic (CPU usage from two readings, which filesystems are real). Everything here takes
text or numbers and returns values; nothing reads a file or the clock.

Parsers are lenient in what they skip (a line they do not understand is ignored, so a kernel
that adds a field or a `df` in another language still yields the rest) and strict in what they
return (a value is either parsed from the text or absent, never guessed)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Filesystems that hold no user data: kernel interfaces, memory-backed scratch, read-only
# images (snaps). Everything else (ext4, xfs, btrfs, zfs, nfs, cifs, overlay roots of
# containers, fuse mounts of real storage) is a "real" filesystem worth watching.
PSEUDO_FILESYSTEMS = frozenset(
    {
        "autofs",
        "binfmt_misc",
        "bpf",
        "cgroup",
        "cgroup2",
        "configfs",
        "debugfs",
        "devfs",
        "devpts",
        "devtmpfs",
        "efivarfs",
        "fusectl",
        "hugetlbfs",
        "mqueue",
        "nsfs",
        "proc",
        "pstore",
        "ramfs",
        "rootfs",
        "rpc_pipefs",
        "securityfs",
        "selinuxfs",
        "squashfs",
        "sysfs",
        "tmpfs",
        "tracefs",
        "fuse.gvfsd-fuse",
        "fuse.portal",
        "fuse.lxcfs",
        "nfsd",
    }
)

# /proc/<pid>/comm holds at most 15 characters of a process name (TASK_COMM_LEN - 1).
COMM_LENGTH = 15


def is_real_filesystem(fstype: str) -> bool:
    return fstype not in PSEUDO_FILESYSTEMS


def is_default_mount(mount: str, fstype: str) -> bool:
    """Whether a mount is watched when the settings list none: real filesystems, and an
    overlay only as a container's root (elsewhere overlays are container layers of the host,
    one per container, and their usage is the host filesystem's)."""
    if fstype == "overlay":
        return mount == "/"
    return is_real_filesystem(fstype)


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Cumulative CPU time in any unit (jiffies or seconds): busy part and total."""

    busy: float
    total: float


def cpu_times_from_fields(
    user: float,
    nice: float,
    system: float,
    idle: float,
    iowait: float = 0.0,
    irq: float = 0.0,
    softirq: float = 0.0,
    steal: float = 0.0,
) -> CpuTimes:
    # guest and guest_nice are already counted in user and nice, so they are left out.
    total = user + nice + system + idle + iowait + irq + softirq + steal
    return CpuTimes(busy=total - idle - iowait, total=total)


def cpu_usage_percent(previous: CpuTimes, current: CpuTimes) -> float | None:
    """Busy share of the CPU between two readings, 0–100. None when the readings cannot be
    compared (no time passed, or the counters went back: the host rebooted)."""
    total = current.total - previous.total
    busy = current.busy - previous.busy
    if total <= 0 or busy < 0:
        return None
    return max(0.0, min(100.0, 100.0 * busy / total))


def parse_proc_stat(text: str) -> CpuTimes | None:
    """The aggregate `cpu` line of /proc/stat (first 4 fields are mandatory)."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0] == "cpu":
            try:
                values = [float(v) for v in fields[1:9]]
            except ValueError:
                return None
            return cpu_times_from_fields(*values)
    return None


def parse_loadavg(text: str) -> tuple[float, float, float] | None:
    fields = text.split()
    if len(fields) < 3:
        return None
    try:
        return float(fields[0]), float(fields[1]), float(fields[2])
    except ValueError:
        return None


def parse_uptime(text: str) -> float | None:
    fields = text.split()
    if not fields:
        return None
    try:
        return float(fields[0])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Memory:
    used_percent: float
    swap_used_percent: float


def parse_meminfo(text: str) -> Memory | None:
    """/proc/meminfo → used memory and swap shares. "Used" is what `free` and psutil call
    used: total minus available (kernels before 3.14 have no MemAvailable; free + buffers +
    cached stands in). A host without swap reports 0 % swap used."""
    kb: dict[str, float] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        fields = rest.split()
        if fields:
            try:
                kb[name.strip()] = float(fields[0])
            except ValueError:
                continue
    total = kb.get("MemTotal")
    if not total:
        return None
    available = kb.get("MemAvailable")
    if available is None:
        available = kb.get("MemFree", 0.0) + kb.get("Buffers", 0.0) + kb.get("Cached", 0.0)
    used = max(0.0, min(100.0, 100.0 * (total - available) / total))
    swap_total = kb.get("SwapTotal", 0.0)
    swap_used = 0.0
    if swap_total > 0:
        swap_used = 100.0 * (swap_total - kb.get("SwapFree", swap_total)) / swap_total
        swap_used = max(0.0, min(100.0, swap_used))
    return Memory(used_percent=used, swap_used_percent=swap_used)


@dataclass(frozen=True, slots=True)
class NicCounters:
    rx_bytes: int
    tx_bytes: int


def parse_net_dev(text: str) -> dict[str, NicCounters]:
    """/proc/net/dev: `name: rx_bytes rx_packets … (8 rx fields) tx_bytes …`."""
    out: dict[str, NicCounters] = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if not sep or "|" in line:
            continue
        fields = rest.split()
        if len(fields) < 9:
            continue
        try:
            out[name.strip()] = NicCounters(rx_bytes=int(fields[0]), tx_bytes=int(fields[8]))
        except ValueError:
            continue
    return out


def unescape_mount(text: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes (\\040 …)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_proc_mounts(text: str) -> dict[str, str]:
    """/proc/mounts → mount point → filesystem type (the last mount of a point wins, as the
    kernel shows the topmost one)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            out[unescape_mount(fields[1])] = fields[2]
    return out


@dataclass(frozen=True, slots=True)
class DiskUsage:
    mount: str
    filesystem: str
    used_percent: float
    free_bytes: int


_DF_ROW = re.compile(
    r"^(?P<fs>\S.*?)\s+(?P<size>\d+)\s+(?P<used>\d+)\s+(?P<avail>-?\d+)\s+(?P<cap>\d+%|-)\s+(?P<mount>/.*)$"
)
_DF_BLOCK = re.compile(r"(\d+)([KkMm]?)-")


def _df_block_size(header: str) -> int:
    """Bytes per block named in the header ("1024-blocks", "512-blocks", "1K-blocks"); POSIX
    `df -P -k` prints 1024, and a header in another language falls back to that."""
    match = _DF_BLOCK.search(header)
    if not match:
        return 1024
    scale = {"": 1, "k": 1024, "m": 1024 * 1024}[match.group(2).lower()]
    return int(match.group(1)) * scale


def parse_df(text: str) -> list[DiskUsage]:
    """`df -P -k` output. Handles any column widths, mount points and device names with
    spaces, a header in any language, device names wrapped onto their own line (non-POSIX
    `df`), and rows of filesystems with no size (skipped: they have no usage to report)."""
    lines = [line.rstrip("\n") for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    block = 1024
    if not _DF_ROW.match(lines[0]):
        block = _df_block_size(lines[0])
        lines = lines[1:]
    out: list[DiskUsage] = []
    pending = ""
    for line in lines:
        match = _DF_ROW.match(pending + " " + line if pending else line)
        if not match:
            # A long device name printed alone; its numbers follow on the next line.
            pending = line.strip()
            continue
        pending = ""
        size, used, avail = int(match["size"]), int(match["used"]), int(match["avail"])
        if size <= 0:
            continue
        # df's capacity is used / (used + avail), rounded up: the share a user can still
        # fill, which is what admins compare to df's own output.
        denominator = used + max(avail, 0)
        percent = 100.0 * used / denominator if denominator > 0 else 0.0
        out.append(
            DiskUsage(
                mount=match["mount"],
                filesystem=match["fs"],
                used_percent=percent,
                free_bytes=max(avail, 0) * block,
            )
        )
    return out


def parse_systemctl_is_active(units: list[str], text: str) -> dict[str, str]:
    """`systemctl is-active U1 U2 …` prints one state per unit, in order. Returns unit →
    state; units with no line (systemctl failed early) are left out."""
    states = [line.strip() for line in text.splitlines() if line.strip()]
    if len(states) != len(units):
        return {}
    return dict(zip(units, states, strict=True))


def process_names_running(wanted: Iterable[str], comms: Iterable[str]) -> dict[str, bool]:
    """Which wanted names have a process. A name matches a process's `comm` (as `pgrep -x`
    does); names longer than the kernel keeps are compared on their first 15 characters."""
    running = {c.strip() for c in comms if c.strip()}
    return {name: name[:COMM_LENGTH] in running for name in wanted}
