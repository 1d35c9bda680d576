"""The `local` probe: host metrics of the machine roomwatch runs on, read with psutil.

It yields the host metrics of DESIGN §4 (`cpu.usage`, `load.*`, `memory.used_percent`,
`swap.used_percent`, `disk.*` per mount, `net.*` per NIC, `uptime.seconds`, `process.running`
per listed name, `service.active` per listed systemd unit). It also owns `HostSettings`, the
selection of mounts, NICs, processes and units that the `ssh` probe shares.

Inventory entry:

```yaml
- id: collector-1
  kind: server
  probes:
    - type: local
      interval: 30s
      mounts: [/, /var/lib/roomwatch]   # default: every real filesystem; a listed path
                                        # that is not mounted yields no disk.* sample
      nics: [eth0]                      # default: every NIC but loopback
      processes: [sshd, chronyd]        # process.running 1/0 per name
      units: [roomwatch.service]        # service.active 1/0 via `systemctl is-active`
```

`cpu.usage` is the busy share since the previous poll; the first poll of a probe measures it
over a 0.25 s window instead. A unit is reported only when `systemctl` answers (a host without
systemd yields no `service.active`, so an `absent` rule can catch it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

import psutil
from pydantic import AfterValidator, BeforeValidator, Field

from core.sample import Sample, Value
from probes.base import Probe, ProbeSettings, ProbeTimeout
from probes.hostparse import (
    COMM_LENGTH,
    CpuTimes,
    cpu_times_from_fields,
    cpu_usage_percent,
    is_default_mount,
    parse_systemctl_is_active,
    process_names_running,
)
from probes.metric_names import MetricNames

FIRST_CPU_WINDOW_S = 0.25

# systemd unit names: ASCII letters, digits, ":-_.\@" (systemd.unit(5)); nothing a shell or
# systemctl's option parser could read as something else.
_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]*$")
_NIC_NAME = re.compile(r"^[^\s/:]+$")


def _comma_list(value: Any) -> Any:
    """Accept a YAML list or, from the command line, "a,b,c"."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _check_all(pattern: re.Pattern[str], what: str) -> Any:
    def check(values: list[str] | None) -> list[str] | None:
        for value in values or []:
            if not pattern.match(value):
                raise ValueError(f"not a valid {what}: {value!r}")
        return values

    return check


def _check_process_names(values: list[str]) -> list[str]:
    for value in values:
        if not value or "\n" in value or "/" in value:
            raise ValueError(f"not a process name (write the name `ps -o comm` shows): {value!r}")
    return values


def _check_mounts(values: list[str] | None) -> list[str] | None:
    for value in values or []:
        if not value.startswith("/"):
            raise ValueError(f"a mount point is an absolute path: {value!r}")
    return values


NameList = Annotated[list[str], BeforeValidator(_comma_list)]
OptionalNameList = Annotated[list[str] | None, BeforeValidator(_comma_list)]


class HostSettings(ProbeSettings):
    """What to read on a host; shared by the `local` and `ssh` probes."""

    mounts: Annotated[OptionalNameList, AfterValidator(_check_mounts)] = None
    nics: Annotated[OptionalNameList, AfterValidator(_check_all(_NIC_NAME, "NIC name"))] = None
    processes: Annotated[NameList, AfterValidator(_check_process_names)] = Field(
        default_factory=list
    )
    units: Annotated[NameList, AfterValidator(_check_all(_UNIT_NAME, "systemd unit name"))] = Field(
        default_factory=list
    )


class LocalSettings(HostSettings):
    type: str = "local"


@dataclass(slots=True)
class HostReading:
    """One reading of a host, whatever the source. Absent values are left out of the
    samples, never replaced by a guess."""

    cpu_usage: float | None = None
    load: tuple[float, float, float] | None = None
    memory_used_percent: float | None = None
    swap_used_percent: float | None = None
    disks: dict[str, tuple[float, int]] = field(default_factory=dict)  # mount → (%, free B)
    nics: dict[str, tuple[int, int]] = field(default_factory=dict)  # nic → (rx B, tx B)
    uptime_s: float | None = None
    processes: dict[str, bool] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # unit → systemctl state


def host_samples(device: str, reading: HostReading, now: float) -> list[Sample]:
    """The DESIGN §4 host samples of one reading."""
    out: list[Sample] = []

    def add(
        metric: str, value: Value, unit: str | None, labels: dict[str, str] | None = None
    ) -> None:
        out.append(Sample(device, metric, value, labels or {}, unit, now))

    if reading.cpu_usage is not None:
        add("cpu.usage", round(reading.cpu_usage, 2), "%")
    if reading.load is not None:
        for name, value in zip(("load.1", "load.5", "load.15"), reading.load, strict=True):
            add(name, value, None)
    if reading.memory_used_percent is not None:
        add("memory.used_percent", round(reading.memory_used_percent, 2), "%")
    if reading.swap_used_percent is not None:
        add("swap.used_percent", round(reading.swap_used_percent, 2), "%")
    for mount, (percent, free) in sorted(reading.disks.items()):
        add("disk.used_percent", round(percent, 2), "%", {"mount": mount})
        add("disk.free_bytes", free, "B", {"mount": mount})
    for nic, (rx, tx) in sorted(reading.nics.items()):
        add("net.rx_bytes", rx, "B", {"nic": nic})
        add("net.tx_bytes", tx, "B", {"nic": nic})
    if reading.uptime_s is not None:
        add("uptime.seconds", round(reading.uptime_s, 1), "s")
    for name, running in sorted(reading.processes.items()):
        add("process.running", int(running), None, {"name": name})
    for unit, state in sorted(reading.units.items()):
        add("service.active", int(state == "active"), None, {"unit": unit})
    return out


def select_names(
    available: Sequence[str], wanted: list[str] | None, default: Sequence[str]
) -> list[str]:
    """The listed names that exist, or the default selection when nothing is listed."""
    if wanted is None:
        return list(default)
    present = set(available)
    return [name for name in wanted if name in present]


def _psutil_cpu() -> CpuTimes:
    t = psutil.cpu_times()
    return cpu_times_from_fields(
        t.user,
        t.nice,
        t.system,
        t.idle,
        getattr(t, "iowait", 0.0),
        getattr(t, "irq", 0.0),
        getattr(t, "softirq", 0.0),
        getattr(t, "steal", 0.0),
    )


def _psutil_disks(wanted: list[str] | None) -> dict[str, tuple[float, int]]:
    real: list[str] = []
    seen: set[str] = set()
    partitions = psutil.disk_partitions(all=True)
    mounted = {part.mountpoint for part in partitions}
    for part in partitions:
        # One sample per filesystem: a device mounted at several points (bind mounts) is
        # reported at its first mount point only.
        key = part.device if part.device.startswith("/") else part.mountpoint
        if part.mountpoint in seen or key in seen:
            continue
        if not is_default_mount(part.mountpoint, part.fstype):
            continue
        seen.update((part.mountpoint, key))
        real.append(part.mountpoint)
    mounts = wanted if wanted is not None else real
    out: dict[str, tuple[float, int]] = {}
    for mount in mounts:
        if mount not in mounted and not os.path.ismount(mount):
            # A listed mount point whose filesystem is not mounted (a data disk that failed
            # to mount) is a plain directory: its usage would be the parent filesystem's,
            # reported under the wrong name. No reading, so an `absent` rule can see it.
            continue
        try:
            usage = psutil.disk_usage(mount)
        except OSError:
            continue  # unmounted or unreadable right now: no reading rather than a guess
        if usage.total > 0:
            out[mount] = (usage.percent, usage.free)
    return out


def _psutil_processes(wanted: list[str]) -> dict[str, bool]:
    if not wanted:
        return {}
    names: set[str] = set()
    for proc in psutil.process_iter(["name"]):
        name = proc.info.get("name")
        if name:
            # psutil lengthens a 15-character comm from the command line; keep both forms.
            names.update((name, name[:COMM_LENGTH]))
    return process_names_running(wanted, names)


def _read_host(settings: HostSettings, now: float) -> tuple[HostReading, CpuTimes]:
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    counters = psutil.net_io_counters(pernic=True)
    default_nics = [name for name in counters if name != "lo"]
    nics = select_names(list(counters), settings.nics, default_nics)
    reading = HostReading(
        load=psutil.getloadavg(),
        memory_used_percent=memory.percent,
        swap_used_percent=swap.percent if swap.total > 0 else 0.0,
        disks=_psutil_disks(settings.mounts),
        nics={n: (counters[n].bytes_recv, counters[n].bytes_sent) for n in nics},
        uptime_s=max(0.0, now - psutil.boot_time()),
        processes=_psutil_processes(settings.processes),
    )
    return reading, _psutil_cpu()


async def _unit_states(units: list[str], limit_s: float) -> dict[str, str]:
    """`systemctl is-active -- U…` (argv, no shell). Its exit status is non-zero whenever a
    unit is not active, so only its output counts."""
    systemctl = shutil.which("systemctl")
    if not units or systemctl is None:
        return {}
    proc = await asyncio.create_subprocess_exec(
        systemctl,
        "is-active",
        "--",
        *units,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), limit_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise ProbeTimeout(f"systemctl is-active did not answer in {limit_s:g}s") from None
    return parse_systemctl_is_active(units, out.decode("utf-8", "replace"))


HOST_METRICS = MetricNames(
    frozenset(
        {
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
            "process.running",
            "service.active",
        }
    )
)


class LocalProbe(Probe):
    type_name: ClassVar[str] = "local"
    settings_model: ClassVar[type[ProbeSettings]] = LocalSettings

    @classmethod
    def metric_names(cls, settings: ProbeSettings) -> MetricNames:
        return HOST_METRICS

    def __init__(self, device: str, settings: ProbeSettings) -> None:
        super().__init__(device, settings)
        if not isinstance(settings, HostSettings):
            raise TypeError("LocalProbe needs HostSettings")
        self.host_settings = settings
        self._previous_cpu: CpuTimes | None = None

    async def poll(self, now: float) -> Sequence[Sample]:
        settings = self.host_settings
        if self._previous_cpu is None:
            self._previous_cpu = await asyncio.to_thread(_psutil_cpu)
            await asyncio.sleep(FIRST_CPU_WINDOW_S)
        reading, cpu = await asyncio.to_thread(_read_host, settings, now)
        reading.cpu_usage = cpu_usage_percent(self._previous_cpu, cpu)
        self._previous_cpu = cpu
        reading.units = await _unit_states(settings.units, settings.timeout)
        return host_samples(self.device, reading, now)

    @classmethod
    def cli_target(cls, target: str) -> dict[str, object]:
        """`roomwatch probe local` needs no target; "localhost" is accepted too."""
        if target and target not in ("localhost", "127.0.0.1", "-"):
            raise ValueError(f"the local probe reads this machine only, not {target!r}")
        return {}
