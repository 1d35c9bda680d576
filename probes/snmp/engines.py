"""Which engine serves a target: the lean one (`lean`) unless pysnmp is asked for or the v3
protocols need it; and closing both engines' shared state at once."""

from __future__ import annotations

from probes.snmp import usm
from probes.snmp.lean import LeanSession, LeanV3Session
from probes.snmp.pysnmp_engine import PysnmpSession
from probes.snmp.session import SnmpSession, Target
from probes.snmp.transport import close_sockets


def make_session(target: Target, engine: str = "auto") -> SnmpSession:
    """The lean sessions unless pysnmp is asked for or the v3 protocols need it (3DES,
    AES-192/256)."""
    if engine == "pysnmp":
        return PysnmpSession(target)
    if target.version == "3":
        if usm.lean_supports(target.auth_protocol, target.priv_protocol):
            return LeanV3Session(target)
        if engine == "lean":
            raise ValueError(f"engine lean cannot do {target.priv_protocol} privacy")
        return PysnmpSession(target)
    return LeanSession(target)


async def close_shared() -> None:
    """Close this event loop's shared lean sockets and pysnmp engine. The daemon gets the same
    through the probe registry's shutdown; tests that run many loops call this."""
    close_sockets()
    PysnmpSession.close_engines()
