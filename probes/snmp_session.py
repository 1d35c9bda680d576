"""SNMP sessions: how the snmp probe sends one GET, GETNEXT or GETBULK to one agent.

Three implementations behind one small interface (`SnmpSession`):

- `LeanSession` (v1, v2c): our own BER codec (`snmp_ber`) over one UDP socket shared by every
  session of the event loop, requests matched to answers by request id. This is the hot path:
  no pyasn1 objects, no MIB resolution.
- `LeanV3Session` (v3 with MD5/SHA/SHA-2 auth and AES-128 or DES privacy): the same, with the USM
  message security of `snmp_usm` (engine discovery, keys, time window) done here.
- `PysnmpSession` (v3 with 3DES/AES-192/256, or any version when asked): pysnmp 7's
  asyncio API on one shared engine per event loop; the reference the tests compare against.

All return varbinds as `snmp_ber.Varbind` tuples and raise only probe errors:
ProbeTimeout (no answer after the retries), ProbeAuthError (v3 keys or user refused; a v1/v2c
agent that stays silent to our community but answers SNMPv3 discovery, which almost always
means a wrong community; on the pysnmp path too; error-status authorizationError),
`SnmpErrorStatus` (a ProbeProtocolError carrying the agent's
error-status) and ProbeProtocolError (an answer that is not SNMP).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import random
import socket
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from probes import snmp_ber as ber
from probes import snmp_usm as usm
from probes.base import ProbeAuthError, ProbeProtocolError, ProbeTimeout, ProbeUnreachable
from probes.snmp_ber import Oid, Varbind


class SnmpErrorStatus(ProbeProtocolError):
    """The agent answered with a non-zero error-status (tooBig, noSuchName, genErr, …).
    `index` is 1-based into the request's varbinds, 0 when the agent did not say."""

    def __init__(self, message: str, status: int, index: int) -> None:
        super().__init__(message)
        self.status = status
        self.index = index


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
    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> list[Varbind]: ...

    async def close(self) -> None:
        return None


# --- lean v1/v2c ----------------------------------------------------------------------------


class _SharedSocket(asyncio.DatagramProtocol):
    """One UDP socket per event loop and address family for every lean session. Answers are
    routed by request id (unique across the socket) and accepted only from the address the
    request went to; anything else (late duplicates, garbage, strangers) is dropped."""

    # event loop → address family → socket; weak, so a finished loop takes its sockets along
    _by_loop: ClassVar[
        weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, _SharedSocket]]
    ] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiters: dict[int, tuple[tuple[str, int], asyncio.Future[bytes]]] = {}
        self._ids = itertools.count(random.randrange(1, 1 << 30))

    @classmethod
    async def for_loop(cls, family: int) -> _SharedSocket:
        loop = asyncio.get_running_loop()
        per_loop = cls._by_loop.setdefault(loop, {})
        shared = per_loop.get(family)
        if (
            shared is not None
            and shared.transport is not None
            and not shared.transport.is_closing()
        ):
            return shared
        shared = cls()
        sock = socket.socket(family, socket.SOCK_DGRAM)
        # A large receive buffer: many agents answering at once must not overflow it (each
        # drop costs a whole retry timeout).
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
        sock.setblocking(False)
        await loop.create_datagram_endpoint(lambda: shared, sock=sock)
        per_loop[family] = shared
        return shared

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for _, fut in self.waiters.values():
            if not fut.done():
                fut.set_exception(ProbeUnreachable("SNMP socket closed"))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like arrive here without saying which request they
        # belong to; the request then times out, which is what the admin sees from snmpget.
        return None

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        peeked = ber.peek_request_id(data)
        if peeked is None:
            return
        waiter = self.waiters.get(peeked[1])
        if waiter is None:
            return
        (host, port), fut = waiter
        if addr[0] != host or addr[1] != port or fut.done():
            return
        fut.set_result(data)

    def next_request_id(self) -> int:
        rid = next(self._ids)
        if rid >= (1 << 31) - 1:
            self._ids = itertools.count(1)
            rid = next(self._ids)
        return rid

    async def exchange(
        self, addr: tuple[str, int], build: Any, per_try_s: float, retries: int
    ) -> bytes:
        """Send `build(request_id)` and wait for the answer, retrying with the same request
        id (a late answer to an earlier attempt is as good as a fresh one)."""
        if self.transport is None:
            raise ProbeUnreachable("SNMP socket closed")
        loop = asyncio.get_running_loop()
        rid = self.next_request_id()
        payload = build(rid)
        try:
            for _ in range(retries + 1):
                fut: asyncio.Future[bytes] = loop.create_future()
                self.waiters[rid] = (addr, fut)
                self.transport.sendto(payload, addr)
                handle = loop.call_later(per_try_s, _expire, fut)
                try:
                    return await fut
                except TimeoutError:
                    continue
                finally:
                    handle.cancel()
            raise ProbeTimeout(f"no SNMP answer from {addr[0]}:{addr[1]} after {retries + 1} tries")
        finally:
            self.waiters.pop(rid, None)


async def resolve(host: str, port: int) -> tuple[int, tuple[str, int]]:
    """(address family, (address, port)) of an agent. A name with both an IPv4 and an IPv6
    address is reached over IPv4, as snmpget (udp:) and pysnmp (UdpTransportTarget) do, so
    an agent listening on IPv4 only is not timed out over IPv6; an IPv6 literal, or a name
    with only IPv6 addresses, over IPv6. Raises OSError when the name does not resolve."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"no address for {host}")
    family, _, _, _, sockaddr = next((i for i in infos if i[0] == socket.AF_INET), infos[0])
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def _expire(fut: asyncio.Future[bytes]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


class LeanSession(SnmpSession):
    """v1/v2c over the lean codec."""

    def __init__(self, target: Target) -> None:
        if target.version not in ("1", "2c") and type(self) is LeanSession:
            raise ValueError("the lean session speaks v1 and v2c only (LeanV3Session: v3)")
        self.target = target
        self.version = target.version
        self._version_field = ber.VERSION_1 if target.version == "1" else ber.VERSION_2C
        self._community = target.community.encode()
        self._addr: tuple[str, int] | None = None
        self._family: int = socket.AF_INET
        self._shared: _SharedSocket | None = None
        # Encoded varbind lists by OID list: a poller asks the same questions every cycle.
        self._encoded: dict[tuple[Oid, ...], bytes] = {}

    async def _connect(self) -> _SharedSocket:
        if self._addr is None:
            try:
                self._family, self._addr = await resolve(self.target.host, self.target.port)
            except OSError as exc:
                raise ProbeUnreachable(f"cannot resolve {self.target.host}: {exc}") from None
        if self._shared is None or self._shared.transport is None:
            self._shared = await _SharedSocket.for_loop(self._family)
        return self._shared

    def _varbind_list(self, oids: Sequence[Oid]) -> bytes:
        key = tuple(oids)
        encoded = self._encoded.get(key)
        if encoded is None:
            if len(self._encoded) > 4096:
                self._encoded.clear()
            encoded = self._encoded[key] = ber.encode_varbind_list(list(key))
        return encoded

    async def _request(
        self, pdu_tag: int, oids: Sequence[Oid], non_repeaters: int = 0, max_rep: int = 0
    ) -> list[Varbind]:
        shared = await self._connect()
        assert self._addr is not None
        vbl = self._varbind_list(oids)
        version, community = self._version_field, self._community

        def build(rid: int) -> bytes:
            return ber.encode_request(version, community, pdu_tag, rid, vbl, non_repeaters, max_rep)

        try:
            data = await shared.exchange(
                self._addr, build, self.target.timeout, self.target.retries
            )
        except ProbeTimeout:
            if await self._answers_v3_discovery(shared):
                raise ProbeAuthError(
                    f"{self.target.where} answers SNMP but not to this community"
                    " (wrong community, or this address is not allowed to read)"
                ) from None
            raise
        try:
            response = ber.decode_response(data)
        except ber.BerError as exc:
            raise ProbeProtocolError(f"{self.target.where}: malformed SNMP answer: {exc}") from None
        if response.error_status:
            raise status_error(self.target.where, response.error_status, response.error_index)
        return response.varbinds

    async def _answers_v3_discovery(self, shared: _SharedSocket) -> bool:
        """True when the agent answers an SNMPv3 engine-discovery request: it is alive and
        speaking SNMP, so its silence to our v1/v2c request means the community is refused."""
        assert self._addr is not None

        def build(rid: int) -> bytes:
            return _v3_discovery_message(rid)

        try:
            await shared.exchange(self._addr, build, min(self.target.timeout, 1.0), 0)
        except ProbeTimeout:
            return False
        return True

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._request(ber.GET_REQUEST, oids)

    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._request(ber.GET_NEXT_REQUEST, oids)

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> list[Varbind]:
        if self.version == "1":
            raise ValueError("SNMPv1 has no GETBULK")
        return await self._request(ber.GET_BULK_REQUEST, oids, 0, max_repetitions)


class LeanV3Session(LeanSession):
    """SNMPv3 (USM: noAuth, MD5/SHA/SHA-2 auth, AES-128 or DES privacy) over the lean codec: engine
    discovery once, then every request authenticated and encrypted by `snmp_usm`. A Report
    saying our clock is out of the agent's time window resynchronises and retries once."""

    def __init__(self, target: Target) -> None:
        if target.version != "3" or not usm.lean_supports(
            target.auth_protocol, target.priv_protocol
        ):
            raise ValueError("LeanV3Session: v3 with MD5/SHA auth and AES-128/DES privacy only")
        super().__init__(target)
        self._engine: usm.Engine | None = None
        self._engine_at = 0.0  # monotonic time at which the agent's engine time was read
        self._creds: usm.Credentials | None = None
        self._context = target.context.encode()

    def _learn(self, engine: usm.Engine) -> None:
        if self._engine is None or engine.engine_id != self._engine.engine_id:
            t = self.target
            self._creds = usm.credentials(
                t.user, t.auth_protocol, t.auth_key, t.priv_protocol, t.priv_key, engine.engine_id
            )
        self._engine = engine
        self._engine_at = time.monotonic()

    async def _discover(self, shared: _SharedSocket) -> None:
        assert self._addr is not None
        data = await shared.exchange(
            self._addr, _v3_discovery_message, self.target.timeout, self.target.retries
        )
        try:
            answer = usm.decode_message(data, None)
        except (ber.BerError, usm.UsmError) as exc:
            raise ProbeProtocolError(
                f"{self.target.where}: bad SNMPv3 discovery answer: {exc}"
            ) from None
        if not answer.engine.engine_id:
            raise ProbeProtocolError(f"{self.target.where}: SNMPv3 discovery gave no engine id")
        self._learn(answer.engine)

    async def _request(
        self, pdu_tag: int, oids: Sequence[Oid], non_repeaters: int = 0, max_rep: int = 0
    ) -> list[Varbind]:
        shared = await self._connect()
        assert self._addr is not None
        if self._engine is None:
            await self._discover(shared)
        vbl = self._varbind_list(oids)
        for _ in range(2):
            engine, creds = self._engine, self._creds
            assert engine is not None and creds is not None
            engine_time = int(engine.time + (time.monotonic() - self._engine_at))
            build = functools.partial(
                _v3_message, creds, engine, engine_time, self._context, pdu_tag, vbl,
                non_repeaters, max_rep,
            )  # fmt: skip
            try:
                data = await shared.exchange(
                    self._addr, build, self.target.timeout, self.target.retries
                )
            except ProbeTimeout:
                if creds.priv_key and await self._answers_v3_discovery(shared):
                    # Agents drop what they cannot decrypt without a word.
                    raise ProbeAuthError(
                        f"{self.target.where} answers SNMPv3 discovery but not our encrypted"
                        " requests (wrong priv key or priv protocol?)"
                    ) from None
                raise
            try:
                answer = usm.decode_message(data, creds)
            except usm.UsmError as exc:
                if exc.auth:
                    raise ProbeAuthError(f"{self.target.where}: {exc}") from None
                raise ProbeProtocolError(f"{self.target.where}: {exc}") from None
            except ber.BerError as exc:
                raise ProbeProtocolError(
                    f"{self.target.where}: malformed SNMPv3 answer: {exc}"
                ) from None
            reason = answer.report_reason
            if reason in ("notInTimeWindow", "unknownEngineID"):
                self._learn(answer.engine)  # the agent's clock, or a new engine after a restart
                continue
            if reason is not None:
                if reason in _AUTH_REPORTS:
                    raise ProbeAuthError(f"{self.target.where} refused our credentials ({reason})")
                raise ProbeProtocolError(f"{self.target.where} answered with a Report ({reason})")
            if creds.auth_hash:
                self._learn(answer.engine)  # authenticated: a trustworthy clock reading
            if answer.error_status:
                raise status_error(self.target.where, answer.error_status, answer.error_index)
            return answer.varbinds
        raise ProbeAuthError(f"{self.target.where}: could not get into the agent's time window")


_AUTH_REPORTS = frozenset(
    ("wrongDigest", "unknownUserName", "decryptionError", "unsupportedSecLevel")
)


def _v3_message(
    creds: usm.Credentials,
    engine: usm.Engine,
    engine_time: int,
    context: bytes,
    pdu_tag: int,
    varbind_list: bytes,
    non_repeaters: int,
    max_repetitions: int,
    request_id: int,
) -> bytes:
    pdu = usm.encode_pdu(pdu_tag, request_id, varbind_list, non_repeaters, max_repetitions)
    return usm.encode_request(creds, engine, engine_time, context, request_id, pdu)


def _v3_discovery_message(msg_id: int) -> bytes:
    """An SNMPv3 noAuthNoPriv, reportable GET with an empty user and engine id (RFC 3414
    §4): every v3-capable agent answers it with a Report carrying its engine id. The shared
    socket routes the Report back by its msgID, which we set to the request id."""
    global_data = ber.tlv(
        0x30,
        ber.encode_integer(msg_id)
        + ber.encode_integer(65507)
        + ber.tlv(ber.OCTET_STRING, b"\x04")  # flags: reportable, noAuthNoPriv
        + ber.encode_integer(3),  # USM
    )
    usm = ber.tlv(
        ber.OCTET_STRING,
        ber.tlv(
            0x30,
            ber.tlv(ber.OCTET_STRING, b"")
            + ber.encode_integer(0)
            + ber.encode_integer(0)
            + ber.tlv(ber.OCTET_STRING, b"")
            + ber.tlv(ber.OCTET_STRING, b"")
            + ber.tlv(ber.OCTET_STRING, b""),
        ),
    )
    pdu = ber.tlv(
        ber.GET_REQUEST,
        ber.encode_integer(msg_id) + ber.encode_integer(0) + ber.encode_integer(0) + b"\x30\x00",
    )
    scoped = ber.tlv(0x30, ber.tlv(ber.OCTET_STRING, b"") + ber.tlv(ber.OCTET_STRING, b"") + pdu)
    return ber.tlv(0x30, ber.encode_integer(3) + global_data + usm + scoped)


# --- pysnmp (v3 and the reference path) -----------------------------------------------------

AUTH_PROTOCOLS = ("none", "md5", "sha", "sha224", "sha256", "sha384", "sha512")
PRIV_PROTOCOLS = ("none", "des", "3des", "aes", "aes128", "aes192", "aes256", "aes192c", "aes256c")

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

    async def _run(self, kind: str, oids: Sequence[Oid], max_rep: int = 0) -> list[Varbind]:
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
            result = await h.bulk_cmd(*args, 0, max_rep, *objects, lookupMib=False)
        indication, status, index, varbinds = result
        if indication:
            name = type(indication).__name__
            if name == "RequestTimedOut":
                t = self.target
                # As on the lean path: agents drop a wrong community, or what they cannot
                # decrypt, without a word; answering discovery shows they are there.
                if (t.version != "3" or t.priv_protocol != "none") and await answers_discovery(
                    t.host, t.port, min(t.timeout, 1.0)
                ):
                    what = "our encrypted requests (wrong priv key or priv protocol?)"
                    if t.priv_protocol.startswith(("aes192", "aes256")):
                        other = t.priv_protocol[:6] + ("" if t.priv_protocol[-1] == "c" else "c")
                        what = what[:-2] + f", or try {other}: the other AES key extension?)"
                    if t.version != "3":
                        what = "this community (wrong community, or this address is not allowed)"
                    raise ProbeAuthError(f"{t.where} answers SNMP but not {what}")
                raise ProbeTimeout(f"no SNMP answer from {t.where} after {t.retries + 1} tries")
            if name in _AUTH_INDICATIONS:
                raise ProbeAuthError(f"{self.target.where} refused our credentials ({indication})")
            raise ProbeProtocolError(f"{self.target.where}: {indication}")
        if int(status):
            raise status_error(self.target.where, int(status), int(index))
        return [from_pysnmp(oid, value) for oid, value in varbinds]

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._run("get", oids)

    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._run("next", oids)

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> list[Varbind]:
        if self.version == "1":
            raise ValueError("SNMPv1 has no GETBULK")
        return await self._run("bulk", oids, max_repetitions)


async def answers_discovery(host: str, port: int, wait_s: float) -> bool:
    """True when the agent at host:port answers an SNMPv3 engine-discovery request."""
    try:
        family, addr = await resolve(host, port)
    except OSError:
        return False
    shared = await _SharedSocket.for_loop(family)
    try:
        await shared.exchange(addr, _v3_discovery_message, wait_s, 0)
    except (ProbeTimeout, ProbeUnreachable):
        return False
    return True


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
    """Close this event loop's shared lean sockets and pysnmp engine (daemon shutdown)."""
    for shared in _SharedSocket._by_loop.pop(asyncio.get_running_loop(), {}).values():
        if shared.transport is not None:
            shared.transport.close()
    PysnmpSession.close_engines()
