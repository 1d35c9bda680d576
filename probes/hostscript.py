"""The fixed shell script the `ssh` probe runs on a host, and the reading it makes of the output.

One round trip: the script prints each source behind a marker line (`@@roomwatch NAME`), so a
missing tool or an unreadable file only empties its own section. It needs no root: every file it
reads is world-readable on Linux. The only inventory text that reaches it is the list of systemd
unit names, already validated as unit names by the settings and quoted with `shlex.quote` here.
Process names never reach the host: the script lists every process name and the match is made
here. The script forces the C locale, and the parsers accept other locales anyway.

Both functions are pure: `build_script(units, first_poll)` returns text, `read_output(text, …)`
returns a `HostReading` and the CPU counters to keep for the next poll."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from probes.hostparse import (
    CpuTimes,
    cpu_usage_percent,
    is_default_mount,
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
from probes.local import HostReading, select_names

MARKER = "@@roomwatch "
NO_SYSTEMCTL = "no-systemctl"
FIRST_CPU_WINDOW_S = 0.25


def build_script(units: Sequence[str], processes: bool, first_poll: bool) -> str:
    """The script, fed to `sh -s` on the host (so the login shell's syntax does not matter).

    On the first poll /proc/stat is read twice, FIRST_CPU_WINDOW_S apart, so that `cpu.usage`
    is there from the start; later polls compare with the previous poll's reading."""
    lines = [
        "LC_ALL=C; LANG=C; export LC_ALL LANG",
        # The login PATH comes first; sbin directories are added for hosts that leave them out.
        "PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH",
        "exec 2>/dev/null",
        f"echo '{MARKER}stat'; cat /proc/stat",
    ]
    if first_poll:
        # Fractional sleep is in GNU coreutils and busybox; a strict POSIX sleep takes 1 s.
        lines.append(f"sleep {FIRST_CPU_WINDOW_S} || sleep 1; echo '{MARKER}stat2'; cat /proc/stat")
    lines += [
        f"echo '{MARKER}loadavg'; cat /proc/loadavg",
        f"echo '{MARKER}meminfo'; cat /proc/meminfo",
        f"echo '{MARKER}uptime'; cat /proc/uptime",
        f"echo '{MARKER}netdev'; cat /proc/net/dev",
        f"echo '{MARKER}mounts'; cat /proc/mounts",
        f"echo '{MARKER}df'; df -P -k",
    ]
    if processes:
        lines.append(f"echo '{MARKER}comm'; cat /proc/[0-9]*/comm")
    if units:
        quoted = " ".join(shlex.quote(unit) for unit in units)
        lines.append(
            f"echo '{MARKER}systemctl'; if command -v systemctl >/dev/null; "
            f"then systemctl is-active -- {quoted}; else echo '{MARKER}{NO_SYSTEMCTL}'; fi"
        )
    lines.append(f"echo '{MARKER}end'")
    return "\n".join(lines) + "\n"


def split_sections(text: str) -> dict[str, str]:
    """Output → section name → its text. Lines before the first marker are dropped (a
    login banner or a profile script's chatter)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(MARKER):
            name = line[len(MARKER) :].strip()
            current = sections.setdefault(name, [])
            continue
        if current is not None:
            current.append(line)
    return {name: "\n".join(body) for name, body in sections.items()}


@dataclass(frozen=True, slots=True)
class ScriptResult:
    reading: HostReading
    cpu: CpuTimes | None  # the latest /proc/stat reading, the baseline for the next poll
    complete: bool  # the script ran to its end marker


def _disks(sections: dict[str, str], wanted: list[str] | None) -> dict[str, tuple[float, int]]:
    fstypes = parse_proc_mounts(sections.get("mounts", ""))
    rows = {row.mount: row for row in parse_df(sections.get("df", ""))}
    if wanted is None:
        # Without /proc/mounts, df's filesystem column ("tmpfs", "proc") is the best clue.
        # A device mounted at several points (bind mounts) is reported once, at its first
        # mount point, which df lists in mount order.
        selected = []
        seen: set[str] = set()
        for mount, row in rows.items():
            device = row.filesystem if row.filesystem.startswith("/") else mount
            if device not in seen and is_default_mount(mount, fstypes.get(mount, row.filesystem)):
                seen.add(device)
                selected.append(mount)
    else:
        selected = [mount for mount in wanted if mount in rows]
    return {m: (rows[m].used_percent, rows[m].free_bytes) for m in selected}


def read_output(
    text: str,
    *,
    previous_cpu: CpuTimes | None,
    mounts: list[str] | None,
    nics: list[str] | None,
    processes: list[str],
    units: list[str],
) -> ScriptResult:
    """Turn the script's output into a reading. Sections that are missing or unparsable leave
    their metrics out; the caller decides whether what is left is an answer at all."""
    sections = split_sections(text)
    if "stat2" in sections:
        baseline = parse_proc_stat(sections.get("stat", ""))
        cpu = parse_proc_stat(sections["stat2"])
    else:
        baseline, cpu = previous_cpu, parse_proc_stat(sections.get("stat", ""))
    cpu_usage = cpu_usage_percent(baseline, cpu) if baseline and cpu else None

    memory = parse_meminfo(sections.get("meminfo", ""))
    counters = parse_net_dev(sections.get("netdev", ""))
    default_nics = [name for name in counters if name != "lo"]
    reading = HostReading(
        cpu_usage=cpu_usage,
        load=parse_loadavg(sections.get("loadavg", "")),
        memory_used_percent=memory.used_percent if memory else None,
        swap_used_percent=memory.swap_used_percent if memory else None,
        disks=_disks(sections, mounts),
        nics={
            n: (counters[n].rx_bytes, counters[n].tx_bytes)
            for n in select_names(list(counters), nics, default_nics)
        },
        uptime_s=parse_uptime(sections.get("uptime", "")),
    )
    if processes and "comm" in sections:
        reading.processes = process_names_running(processes, sections["comm"].splitlines())
    systemctl = sections.get("systemctl")
    if units and systemctl is not None and NO_SYSTEMCTL not in sections:
        reading.units = parse_systemctl_is_active(units, systemctl)
    return ScriptResult(reading=reading, cpu=cpu, complete="end" in sections)


def has_host_metrics(reading: HostReading) -> bool:
    """Whether the output was a Linux host's at all (some of the core /proc files parsed)."""
    return any(
        value is not None for value in (reading.load, reading.memory_used_percent, reading.uptime_s)
    )
