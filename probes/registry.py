"""The probe registry: probe type name → the module and class that implement it.

Adding a protocol is one module in `probes/` and one line here. Modules are imported on first
use, so a daemon that polls only websites never imports pysnmp."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Awaitable, Callable

from probes.base import Probe, ProbeSettings

log = logging.getLogger("roomwatch.probes")

# What a probe module shares between its probes (sockets, engines) and must close when the
# daemon stops: a sync or async callable of no arguments, run on the daemon's event loop.
ShutdownHook = Callable[[], Awaitable[None] | None]
_shutdown_hooks: list[ShutdownHook] = []

PROBES: dict[str, str] = {
    "local": "probes.local:LocalProbe",
    "ssh": "probes.ssh:SshProbe",
    "http": "probes.http:HttpProbe",
    "snmp": "probes.snmp.probe:SnmpProbe",
    "megatec": "probes.megatec:MegatecProbe",
    "modbus-rtu": "probes.modbus:ModbusRtuProbe",
    "modbus-tcp": "probes.modbus:ModbusTcpProbe",
    "nut": "probes.nut:NutProbe",
    "serial-line": "probes.serial_line:SerialLineProbe",
}


class UnknownProbeType(KeyError):
    def __str__(self) -> str:
        known = ", ".join(sorted(PROBES))
        return f"unknown probe type {self.args[0]!r} (known: {known})"


def probe_class(type_name: str) -> type[Probe]:
    try:
        target = PROBES[type_name]
    except KeyError:
        raise UnknownProbeType(type_name) from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Probe)):
        raise TypeError(f"{target} is not a Probe")
    return cls


def settings_model(type_name: str) -> type[ProbeSettings]:
    return probe_class(type_name).settings_model


def known_types() -> list[str]:
    return sorted(PROBES)


def on_shutdown(hook: ShutdownHook) -> None:
    """Have `shutdown()` call `hook`. A probe module registers its hooks when it is imported,
    so only the protocols in use are shut down; registering the same hook twice runs it once."""
    if hook not in _shutdown_hooks:
        _shutdown_hooks.append(hook)


async def shutdown() -> None:
    """Run every registered hook, in registration order (the daemon calls this at stop,
    after closing the probes). A failing hook is logged and does not keep the others from
    running."""
    for hook in list(_shutdown_hooks):
        try:
            result = hook()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("probe shutdown hook %s failed", getattr(hook, "__qualname__", hook))
