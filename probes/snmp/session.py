"""The session interface: how the snmp probe sends one GET, GETNEXT or GETBULK to one agent.

Two engines implement `SnmpSession` (`engines.make_session` picks one):

- the lean engine (`lean`): `LeanSession` (v1, v2c) and `LeanV3Session` (v3 with MD5/SHA/SHA-2
  auth and AES-128 or DES privacy), our own BER codec (`ber`) and USM code (`usm`) over one UDP
  socket shared by every session of the event loop (`transport`). The hot path.
- the pysnmp engine (`pysnmp_engine`): `PysnmpSession` (v3 with 3DES/AES-192/256, or any version
  when asked), pysnmp 7's asyncio API; the reference the tests compare against.

All return varbinds as `ber.Varbind` tuples and raise only probe errors:
ProbeTimeout (no answer after the retries), ProbeAuthError (only when the agent says so: a v3
Report of the usmStats kind, error-status authorizationError), `SnmpErrorStatus` (a
ProbeProtocolError carrying the agent's error-status) and `SnmpGarbled` (an answer that came
but cannot be decoded: truncated, corrupt). A varbind whose value alone cannot be decoded
comes back tagged `ber.UNDECODABLE`, the rest of the answer intact.

Silence is a timeout, never `auth`, at this level: whether a silent agent refuses our
credentials is for the whole poll to tell (`refused_hint`: nothing at all answered while the
agent answers SNMPv3 discovery), so one dropped request in a long poll is not read as a wrong
community.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from probes.base import ProbeAuthError, ProbeProtocolError
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind


class SnmpErrorStatus(ProbeProtocolError):
    """The agent answered with a non-zero error-status (tooBig, noSuchName, genErr, …).
    `index` is 1-based into the request's varbinds, 0 when the agent did not say."""

    def __init__(self, message: str, status: int, index: int) -> None:
        super().__init__(message)
        self.status = status
        self.index = index


class SnmpGarbled(ProbeProtocolError):
    """An answer to our request came, but it cannot be decoded (truncated, corrupt)."""


TOO_BIG = 1
NO_SUCH_NAME = 2
GEN_ERR = 5
AUTHORIZATION_ERROR = 16


def status_error(where: str, status: int, index: int) -> ProbeAuthError | SnmpErrorStatus:
    """The error for a non-zero error-status: authorizationError (RFC 3416: the access
    control of the agent refuses this community or user that view) is an `auth` failure the
    admin fixes in the agent's config; the rest are SnmpErrorStatus."""
    names = ber.ERROR_STATUS_NAMES
    label = names[status] if 0 <= status < len(names) else f"error {status}"
    if status == AUTHORIZATION_ERROR:
        return ProbeAuthError(
            f"{where} answered authorizationError: access refused to this community or user"
            " (the agent's access control: rocommunity/rouser, view, security level)"
        )
    return SnmpErrorStatus(f"{where} answered {label} (index {index})", status, index)


@dataclass(frozen=True)
class Target:
    """Where and how to ask: everything a session needs, secrets included (never printed)."""

    host: str
    port: int
    version: str  # "1", "2c" or "3"
    community: str = ""
    user: str = ""
    auth_protocol: str = "none"
    auth_key: str = ""
    priv_protocol: str = "none"
    priv_key: str = ""
    context: str = ""
    timeout: float = 2.0  # per attempt
    retries: int = 1

    def __repr__(self) -> str:
        return f"Target({self.host}:{self.port}, v{self.version})"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class SnmpSession(ABC):
    """One agent. Each call is one request (with retries); results keep the request order
    (GETBULK: row by row, as the agent sent them)."""

    version: str

    @abstractmethod
    async def get(self, oids: Sequence[Oid]) -> list[Varbind]: ...

    @abstractmethod
    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]: ...

    @abstractmethod
    async def get_bulk(
        self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[Varbind]:
        """GETBULK: the first `non_repeaters` OIDs are each answered once, as by GETNEXT, and
        come first in the answer; the rest are repeated up to `max_repetitions` times."""

    async def refused_hint(self) -> str | None:
        """Asked after a poll got no answer at all: why the agent may be refusing us (it
        answers SNMPv3 discovery, so it is there and speaks SNMP), or None when it seems
        absent. Default: None."""
        return None

    def longest_request_s(self) -> float | None:
        """The longest one request can take before the session gives up by itself (its
        per-try timeout times its tries), or None when it cannot say. `gaps.ask` sets no
        timer of its own on a request the poll's remaining time covers anyway."""
        return None

    def garbled_total(self) -> int:
        """Answers dropped undecoded by the engine itself since start (pysnmp counts them in
        snmpInASNParseErrs; the lean engine reports them as SnmpGarbled instead): 0 here."""
        return 0

    async def close(self) -> None:
        return None
