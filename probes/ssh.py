"""The `ssh` probe: host metrics of a Linux server without an agent, over one SSH connection.

paramiko runs in a worker thread; the connection is opened on the first poll, reused by the
following ones and reopened once, within the same poll, when it turns out to have dropped. Each
poll is one round trip: the fixed script of `probes.hostscript` fed to `sh -s`, whose output
becomes the host metrics of DESIGN §4 (the same as the `local` probe's).

Security: the host key is checked against a known_hosts file (default `~/.ssh/known_hosts` of
the service user; `[host]:port` form for other ports, hashed entries allowed). A host that is
missing from it, or whose key changed, fails as `auth` with a message saying which; keys are
never accepted automatically. Authentication by key file (ed25519, ECDSA, RSA; optionally
encrypted), by the SSH agent (`use_agent: true`), or by password. The password and the key
passphrase are secrets: they live in the credentials file. An optional jump host (`jump_host:
user@host:port`) is reached with the same keys and the same known_hosts file.

Inventory entry:

```yaml
- id: db-1
  kind: server
  probes:
    - type: ssh
      address: 10.0.0.21
      port: 22
      user: roomwatch
      key_file: /etc/roomwatch/ssh/id_ed25519
      known_hosts: /etc/roomwatch/ssh/known_hosts
      timeout: 10s
      mounts: [/, /var/lib/postgresql]
      processes: [postgres]
      units: [postgresql.service]
```

`cpu.usage` compares /proc/stat with the previous poll of the same host; the first poll reads it
twice, 0.25 s apart, in the same round trip."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import ClassVar

from core.sample import Sample
from probes.base import (
    Probe,
    ProbeProtocolError,
    ProbeSettings,
)
from probes.hostparse import CpuTimes
from probes.hostscript import build_script, has_host_metrics, read_output
from probes.local import HOST_METRICS, host_samples
from probes.metric_names import MetricNames
from probes.ssh_connection import Connection, SshSettings, parse_target

# Failures reach the collector as ProbeErrors, which it logs once per transition; paramiko's
# own tracebacks would otherwise repeat on every failed poll of an unreachable host.
logging.getLogger("paramiko").setLevel(logging.CRITICAL)


class SshProbe(Probe):
    type_name: ClassVar[str] = "ssh"
    settings_model: ClassVar[type[ProbeSettings]] = SshSettings

    @classmethod
    def metric_names(cls, settings: ProbeSettings) -> MetricNames:
        return HOST_METRICS

    def __init__(self, device: str, settings: ProbeSettings) -> None:
        super().__init__(device, settings)
        if not isinstance(settings, SshSettings):
            raise TypeError("SshProbe needs SshSettings")
        self.ssh_settings = settings
        self._connection = Connection(device, settings)
        self._previous_cpu: CpuTimes | None = None

    async def poll(self, now: float) -> Sequence[Sample]:
        s = self.ssh_settings
        script = build_script(s.units, bool(s.processes), first_poll=self._previous_cpu is None)
        status, output = await asyncio.to_thread(self._connection.run, script)
        result = read_output(
            output,
            previous_cpu=self._previous_cpu,
            mounts=s.mounts,
            nics=s.nics,
            processes=s.processes,
            units=s.units,
        )
        if not has_host_metrics(result.reading):
            first = next((line for line in output.splitlines() if line.strip()), "")[:120]
            raise ProbeProtocolError(
                f"{self.device}: no Linux host readings (exit status {status}; first line {first!r})"
            )
        if result.cpu is not None:
            self._previous_cpu = result.cpu
        return host_samples(self.device, result.reading, now)

    async def close(self) -> None:
        await asyncio.to_thread(self._connection.close)

    @classmethod
    def cli_target(cls, target: str) -> dict[str, object]:
        """`user@host:port` → address, user and port settings (port defaults to 22)."""
        parsed = parse_target(target)
        out: dict[str, object] = {"address": parsed.host}
        if parsed.user is not None:
            out["user"] = parsed.user
        if parsed.port is not None:
            out["port"] = parsed.port
        return out
