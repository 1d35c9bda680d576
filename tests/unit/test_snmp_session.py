"""The lean session against tiny misbehaving UDP "agents" on 127.0.0.1: garbage, truncated
answers, strangers and late duplicates never crash it or stall it past its timeout."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import cast

import pytest

from probes.base import ProbeAuthError, ProbeTimeout
from probes.snmp import ber
from probes.snmp.engines import close_shared, make_session
from probes.snmp.lean import LeanSession
from probes.snmp.session import SnmpErrorStatus, SnmpGarbled, Target

SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
Reply = Callable[[bytes], list[bytes]]


class FakeAgent(asyncio.DatagramProtocol):
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.transport: asyncio.DatagramTransport | None = None
        self.requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests += 1
        assert self.transport is not None
        for answer in self.reply(data):
            self.transport.sendto(answer, addr)


StartAgent = Callable[[Reply], Awaitable[tuple[FakeAgent, int]]]


def response(request: bytes, varbinds: bytes, error_status: int = 0, index: int = 0) -> bytes:
    peeked = ber.peek_request_id(request)
    assert peeked is not None
    body = (
        ber.encode_integer(peeked[1])
        + ber.encode_integer(error_status)
        + ber.encode_integer(index)
        + varbinds
    )
    return ber.tlv(
        0x30,
        ber.encode_integer(1) + ber.tlv(ber.OCTET_STRING, b"public") + ber.tlv(ber.RESPONSE, body),
    )


def good(request: bytes) -> bytes:
    vb = ber.tlv(0x30, ber.encode_oid(SYS_NAME) + ber.tlv(ber.OCTET_STRING, b"sw1"))
    return response(request, ber.tlv(0x30, vb))


@pytest.fixture
async def agent_factory() -> AsyncIterator[StartAgent]:
    started: list[FakeAgent] = []

    async def start(reply: Reply) -> tuple[FakeAgent, int]:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            lambda: FakeAgent(reply), local_addr=("127.0.0.1", 0)
        )
        started.append(proto)
        return proto, transport.get_extra_info("sockname")[1]

    yield start
    for proto in started:
        if proto.transport is not None:
            proto.transport.close()


def session(port: int) -> LeanSession:
    return LeanSession(Target("127.0.0.1", port, "2c", community="public", timeout=0.2, retries=1))


async def test_garbage_answers_are_ignored_and_the_request_times_out(
    agent_factory: StartAgent,
) -> None:
    agent, port = await agent_factory(lambda req: [b"\x00garbage", b"", bytes(range(200))])
    with pytest.raises(ProbeTimeout):
        await session(port).get([SYS_NAME])
    assert agent.requests >= 2  # retried


async def test_a_good_answer_after_garbage_and_a_duplicate_is_taken(
    agent_factory: StartAgent,
) -> None:
    _, port = await agent_factory(lambda req: [b"junk", good(req), good(req)])
    assert await session(port).get([SYS_NAME]) == [(SYS_NAME, ber.OCTET_STRING, b"sw1")]


async def test_a_truncated_answer_is_a_garbled_answer_not_silence(
    agent_factory: StartAgent,
) -> None:
    def truncated(req: bytes) -> list[bytes]:
        whole = good(req)
        return [whole[:-3]]

    agent, port = await agent_factory(truncated)
    # The header still says the full length, but the request id arrived: the request fails
    # at once as garbled (protocol), not after the retries as a timeout.
    with pytest.raises(SnmpGarbled, match="malformed SNMP answer"):
        await session(port).get([SYS_NAME])
    assert agent.requests == 1


async def test_an_undecodable_value_costs_only_its_varbind(agent_factory: StartAgent) -> None:
    other = (1, 3, 6, 1, 2, 1, 1, 6, 0)
    vbs = (
        ber.tlv(0x30, ber.encode_oid(SYS_NAME) + b"\x99\x01\x00")  # a tag no SNMP type has
        + ber.tlv(0x30, ber.encode_oid(other) + b"\x06\x00")  # an empty OID, as net-snmp sends
        + ber.tlv(0x30, ber.encode_oid(SYS_NAME) + ber.tlv(ber.OCTET_STRING, b"sw1"))
    )
    _, port = await agent_factory(lambda req: [response(req, ber.tlv(0x30, vbs))])
    assert await session(port).get([SYS_NAME, other, SYS_NAME]) == [
        (SYS_NAME, ber.UNDECODABLE, None),
        (other, ber.UNDECODABLE, None),
        (SYS_NAME, ber.OCTET_STRING, b"sw1"),
    ]


async def test_an_error_status_is_reported_with_its_name(agent_factory: StartAgent) -> None:
    _, port = await agent_factory(lambda req: [response(req, b"\x30\x00", 5, 1)])
    with pytest.raises(SnmpErrorStatus, match="genErr") as caught:
        await session(port).get([SYS_NAME])
    assert (caught.value.status, caught.value.index) == (5, 1)


async def test_authorization_error_is_an_auth_failure(agent_factory: StartAgent) -> None:
    # What an agent's access control answers a user or community it will not show the view.
    _, port = await agent_factory(lambda req: [response(req, b"\x30\x00", 16, 0)])
    with pytest.raises(ProbeAuthError, match="authorizationError"):
        await session(port).get([SYS_NAME])


async def test_a_dual_stack_name_is_reached_over_ipv4_as_snmpget_does(
    agent_factory: StartAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The resolver lists the AAAA record first; the agent listens on 127.0.0.1 only.
    _, port = await agent_factory(lambda req: [good(req)])
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def dual_stack(host: object, port: object, **kwargs: object) -> Sequence[object]:
        if host != "ups-1.example":
            return await real(host, port, **kwargs)  # type: ignore[arg-type]
        udp = (socket.SOCK_DGRAM, 17, "")
        return [
            (socket.AF_INET6, *udp, ("::1", port, 0, 0)),
            (socket.AF_INET, *udp, ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(loop, "getaddrinfo", dual_stack)
    target = Target("ups-1.example", port, "2c", community="public", timeout=0.5, retries=0)
    assert await LeanSession(target).get([SYS_NAME]) == [(SYS_NAME, ber.OCTET_STRING, b"sw1")]


@pytest.mark.parametrize("engine", ["lean", "pysnmp"])
async def test_an_ipv6_agent_is_reached_by_either_engine(engine: str) -> None:
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: FakeAgent(lambda req: [good(req)]), local_addr=("::1", 0)
        )
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        port = transport.get_extra_info("sockname")[1]
        target = Target("::1", port, "2c", community="public", timeout=1.0, retries=0)
        session = make_session(target, engine)
        assert await session.get([SYS_NAME]) == [(SYS_NAME, ber.OCTET_STRING, b"sw1")]
        await session.close()
    finally:
        transport.close()
        await close_shared()
