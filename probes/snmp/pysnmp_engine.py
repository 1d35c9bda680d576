"""The pysnmp engine: any SNMP version through pysnmp 7's asyncio API (`PysnmpSession`), one
engine per event loop. It serves what the lean engine does not (v3 with 3DES or AES-192/256)
and `engine: pysnmp`, and is the reference the tests compare the lean engine against.

pysnmp itself is imported on first use only. The engines are closed by the probe registry's
shutdown (registered below).
"""

from __future__ import annotations

import asyncio
import socket
import weakref
from collections.abc import Sequence
from typing import Any, ClassVar

from probes import registry
from probes.base import ProbeAuthError, ProbeProtocolError, ProbeTimeout, ProbeUnreachable
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.session import SnmpSession, Target, status_error
from probes.snmp.transport import answers_discovery, resolve

# pysnmp error indications that mean "your credentials were refused".
_AUTH_INDICATIONS = frozenset(
    (
        "WrongDigest",
        "UnknownUserName",
        "UnknownSecurityName",
        "AuthenticationFailure",
        "AuthenticationError",
        "DecryptionError",
        "UnsupportedSecurityLevel",
        "UnknownCommunityName",
        "NoAuthentication",
        "NoEncryption",
    )
)


class PysnmpSession(SnmpSession):
    """Any version through pysnmp 7's asyncio API, one engine per event loop, MIB lookup off
    (numeric OIDs only: it doubles the CPU per varbind and we need no names)."""

    # event loop → its SnmpEngine
    _engines: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, target: Target) -> None:
        self.target = target
        self.version = target.version
        self._auth: Any = None
        self._transport: Any = None
        self._context: Any = None

    @classmethod
    def _engine(cls) -> Any:
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

        loop = asyncio.get_running_loop()
        engine = cls._engines.get(loop)
        if engine is None:
            engine = cls._engines[loop] = SnmpEngine()
        return engine

    @classmethod
    def close_engines(cls) -> None:
        """Close the engine of the running loop (the daemon calls this at shutdown)."""
        engine = cls._engines.pop(asyncio.get_running_loop(), None)
        if engine is not None:
            engine.close_dispatcher()

    def _auth_data(self) -> Any:
        import pysnmp.hlapi.v3arch.asyncio as h

        t = self.target
        if t.version in ("1", "2c"):
            return h.CommunityData(t.community, mpModel=0 if t.version == "1" else 1)
        auth = {
            "none": h.usmNoAuthProtocol,
            "md5": h.usmHMACMD5AuthProtocol,
            "sha": h.usmHMACSHAAuthProtocol,
            "sha224": h.usmHMAC128SHA224AuthProtocol,
            "sha256": h.usmHMAC192SHA256AuthProtocol,
            "sha384": h.usmHMAC256SHA384AuthProtocol,
            "sha512": h.usmHMAC384SHA512AuthProtocol,
        }[t.auth_protocol]
        priv = {
            "none": h.usmNoPrivProtocol,
            "des": h.usmDESPrivProtocol,
            "3des": h.usm3DESEDEPrivProtocol,
            "aes": h.usmAesCfb128Protocol,
            "aes128": h.usmAesCfb128Protocol,
            # AES-192/256 keys are extended from the passphrase in two incompatible ways:
            # net-snmp's (Blumenthal draft) and Cisco's (Reeder draft, pysnmp's "plain" one).
            "aes192": h.usmAesBlumenthalCfb192Protocol,
            "aes256": h.usmAesBlumenthalCfb256Protocol,
            "aes192c": h.usmAesCfb192Protocol,
            "aes256c": h.usmAesCfb256Protocol,
        }[t.priv_protocol]
        return h.UsmUserData(
            t.user,
            authKey=t.auth_key or None,
            privKey=t.priv_key or None,
            authProtocol=auth,
            privProtocol=priv,
        )

    async def _prepare(self) -> None:
        if self._transport is not None:
            return
        import pysnmp.hlapi.v3arch.asyncio as h

        try:
            family, addr = await resolve(self.target.host, self.target.port)
            # pysnmp has one transport class per address family.
            kind = h.Udp6TransportTarget if family == socket.AF_INET6 else h.UdpTransportTarget
            self._transport = await kind.create(
                addr, timeout=self.target.timeout, retries=self.target.retries
            )
        except Exception as exc:  # pysnmp wraps resolution failures in its own error
            raise ProbeUnreachable(f"cannot resolve {self.target.host}: {exc}") from None
        self._auth = self._auth_data()
        self._context = h.ContextData(contextName=self.target.context.encode())

    async def _run(
        self, kind: str, oids: Sequence[Oid], max_rep: int = 0, non_repeaters: int = 0
    ) -> list[Varbind]:
        import pysnmp.hlapi.v3arch.asyncio as h

        await self._prepare()
        engine = self._engine()
        objects = [h.ObjectType(h.ObjectIdentity(ber.format_oid(o))) for o in oids]
        args = (engine, self._auth, self._transport, self._context)
        if kind == "get":
            result = await h.get_cmd(*args, *objects, lookupMib=False)
        elif kind == "next":
            result = await h.next_cmd(*args, *objects, lookupMib=False)
        else:
            result = await h.bulk_cmd(*args, non_repeaters, max_rep, *objects, lookupMib=False)
        indication, status, index, varbinds = result
        if indication:
            name = type(indication).__name__
            if name == "RequestTimedOut":
                t = self.target
                raise ProbeTimeout(f"no SNMP answer from {t.where} after {t.retries + 1} tries")
            if name in _AUTH_INDICATIONS:
                raise ProbeAuthError(f"{self.target.where} refused our credentials ({indication})")
            raise ProbeProtocolError(f"{self.target.where}: {indication}")
        if int(status):
            raise status_error(self.target.where, int(status), int(index))
        return [from_pysnmp(oid, value) for oid, value in varbinds]

    async def refused_hint(self) -> str | None:
        t = self.target
        # As on the lean path: agents drop a wrong community, or what they cannot decrypt,
        # without a word; answering discovery shows they are there.
        if t.version == "3" and t.priv_protocol == "none":
            return None
        if not await answers_discovery(t.host, t.port, min(t.timeout, 1.0)):
            return None
        if t.version != "3":
            what = "this community (wrong community, or this address is not allowed)"
        else:
            what = "our encrypted requests (wrong priv key or priv protocol?)"
            if t.priv_protocol.startswith(("aes192", "aes256")):
                other = t.priv_protocol[:6] + ("" if t.priv_protocol[-1] == "c" else "c")
                what = what[:-2] + f", or try {other}: the other AES key extension?)"
        return f"{t.where} answers SNMP but not {what}"

    def garbled_total(self) -> int:
        """pysnmp drops an answer it cannot decode (and counts it in snmpInASNParseErrs):
        the request then times out. The engine-wide count lets the walk tell garbage from
        silence."""
        engine = self._engines.get(asyncio.get_running_loop())
        if engine is None:
            return 0
        (counter,) = engine.get_mib_builder().import_symbols("__SNMPv2-MIB", "snmpInASNParseErrs")
        return int(counter.syntax)

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._run("get", oids)

    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._run("next", oids)

    async def get_bulk(
        self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[Varbind]:
        if self.version == "1":
            raise ValueError("SNMPv1 has no GETBULK")
        return await self._run("bulk", oids, max_repetitions, non_repeaters)


def from_pysnmp(oid: Any, value: Any) -> Varbind:
    """A pysnmp (pyasn1) varbind as the lean codec's tuple, so both paths compare equal."""
    tag_obj = value.tagSet[-1] if len(value.tagSet) else None
    tag = (tag_obj.tagClass | tag_obj.tagId) if tag_obj is not None else ber.NULL
    py: ber.VarValue
    if tag in ber.EXCEPTION_TAGS or tag == ber.NULL:
        py = None
    elif tag == ber.OCTET_STRING or tag == ber.OPAQUE:
        py = bytes(value.asOctets())
    elif tag == ber.OBJECT_IDENTIFIER:
        py = tuple(int(x) for x in value)
    elif tag == ber.IP_ADDRESS:
        py = ".".join(str(b) for b in value.asOctets())
    else:
        py = int(value)
    return tuple(int(x) for x in oid), tag, py


registry.on_shutdown(PysnmpSession.close_engines)
