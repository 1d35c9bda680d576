"""The UDP side of the lean engine: one socket per event loop and address family shared by
every lean session, answers routed back to their request by request id; name resolution;
and the SNMPv3 discovery exchange that tells a silent agent from an absent one.

The sockets are closed by the probe registry's shutdown (`close_sockets`, registered below),
so the daemon closes them at stop without knowing SNMP is in use.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import socket
import weakref
from typing import Any, ClassVar, cast

from probes import registry
from probes.base import ProbeTimeout, ProbeUnreachable
from probes.snmp import ber

SWEEP_S = 0.05  # how often unanswered tries are looked at (their timeouts' resolution)


class SharedSocket(asyncio.DatagramProtocol):
    """One UDP socket per event loop and address family for every lean session. Answers are
    routed by request id (unique across the socket) and accepted only from the address the
    request went to; anything else (late duplicates, garbage, strangers) is dropped."""

    # event loop → address family → socket; weak, so a finished loop takes its sockets along
    _by_loop: ClassVar[
        weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, SharedSocket]]
    ] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self._sock: socket.socket | None = None
        self.waiters: dict[int, tuple[tuple[str, int], asyncio.Future[bytes]]] = {}
        self._deadlines: dict[int, float] = {}  # request id → when its try times out
        self._sweeper: asyncio.TimerHandle | None = None
        # Ids that all encode in four bytes (ber.request_template), from a random start.
        self._ids = itertools.count(random.randrange(ber.REQUEST_ID_MIN, 1 << 30))

    @classmethod
    async def for_loop(cls, family: int) -> SharedSocket:
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
        shared._sock = sock
        per_loop[family] = shared
        return shared

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
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
        if rid >= ber.REQUEST_ID_END - 1:
            self._ids = itertools.count(ber.REQUEST_ID_MIN)
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
                self._deadlines[rid] = loop.time() + per_try_s
                if self._sweeper is None:
                    self._sweeper = loop.call_later(SWEEP_S, self._sweep, loop)
                self._send(payload, addr)
                try:
                    return await fut
                except TimeoutError:
                    continue
                finally:
                    self._deadlines.pop(rid, None)
            raise ProbeTimeout(f"no SNMP answer from {addr[0]}:{addr[1]} after {retries + 1} tries")
        finally:
            self.waiters.pop(rid, None)

    def _send(self, payload: bytes, addr: tuple[str, int]) -> None:
        """Straight to the socket: a request is one datagram and needs no ordering, and
        uvloop's transport checks the address of every sendto at a cost that was 17 % of the
        daemon at 1,000 switches (py-spy). The transport queues it when the socket's send
        buffer is full; a send that fails otherwise (no route) times out, as snmpget's does."""
        assert self.transport is not None
        if self._sock is not None:
            try:
                self._sock.sendto(payload, addr)
                return
            except (BlockingIOError, InterruptedError):
                pass  # the send buffer is full: the transport queues it
            except OSError:
                return
        self.transport.sendto(payload, addr)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Time out the tries whose deadline passed. One timer for the socket instead of one
        per request: nearly every request is answered, and each cancelled timer stayed in the
        event loop's heap until its time (the heap's upkeep was 5 % of the daemon's CPU at
        1,000 switches). A try times out up to SWEEP_S after its deadline."""
        self._sweeper = None
        now = loop.time()
        for rid, deadline in list(self._deadlines.items()):
            if deadline <= now:
                del self._deadlines[rid]
                waiter = self.waiters.get(rid)
                if waiter is not None and not waiter[1].done():
                    waiter[1].set_exception(TimeoutError())
        if self._deadlines and self.transport is not None:
            self._sweeper = loop.call_later(SWEEP_S, self._sweep, loop)


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


def discovery_message(msg_id: int) -> bytes:
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


async def answers_discovery(host: str, port: int, wait_s: float) -> bool:
    """True when the agent at host:port answers an SNMPv3 engine-discovery request."""
    try:
        family, addr = await resolve(host, port)
    except OSError:
        return False
    shared = await SharedSocket.for_loop(family)
    try:
        await shared.exchange(addr, discovery_message, wait_s, 0)
    except (ProbeTimeout, ProbeUnreachable):
        return False
    return True


def close_sockets() -> None:
    """Close this event loop's shared sockets (daemon shutdown, through the registry)."""
    for shared in SharedSocket._by_loop.pop(asyncio.get_running_loop(), {}).values():
        if shared.transport is not None:
            shared.transport.close()


registry.on_shutdown(close_sockets)
