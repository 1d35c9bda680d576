"""The shared UDP socket's tries and timeouts, against real loopback sockets: an agent that
answers, one that never does, and many requests of both kinds at once."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
import uvloop

from probes.base import ProbeTimeout
from probes.snmp import ber
from probes.snmp.transport import SWEEP_S, SharedSocket


def request(rid: int) -> bytes:
    """A v2c GET whose request id the socket routes the answer by."""
    pdu = ber.tlv(
        ber.GET_REQUEST,
        ber.encode_integer(rid) + ber.encode_integer(0) + ber.encode_integer(0) + b"\x30\x00",
    )
    return ber.tlv(0x30, ber.encode_integer(1) + ber.tlv(ber.OCTET_STRING, b"public") + pdu)


class Echo(asyncio.DatagramProtocol):
    """An agent that answers every request with the request itself (same request id)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)  # type: ignore[attr-defined]


@pytest.fixture
def silent() -> Iterator[tuple[str, int]]:
    """A bound UDP port that reads nothing and answers nothing."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()
    finally:
        sock.close()


async def test_answered_and_unanswered_tries_each_end_as_they_should(
    silent: tuple[str, int],
) -> None:
    await answered_and_unanswered(silent)


def test_the_same_on_uvloop(silent: tuple[str, int]) -> None:
    """The daemon runs on uvloop when it is installed (`roomwatch run --event-loop`)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(answered_and_unanswered(silent))


PER_TRY_S = 2.0  # long against an echo's answer, even on a busy box
LOADED_BOX_S = 1.5  # how late a loop may wake on a 2-core box running the suite twice


async def answered_and_unanswered(silent: tuple[str, int]) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    echo = transport.get_extra_info("sockname")
    shared = await SharedSocket.for_loop(socket.AF_INET)
    try:
        started = time.monotonic()
        answer = await shared.exchange(echo, request, per_try_s=5.0, retries=0)
        assert ber.peek_request_id(answer) is not None
        assert time.monotonic() - started < 2.0  # not held until a timeout (5 s)

        started = time.monotonic()
        with pytest.raises(ProbeTimeout, match="after 2 tries"):
            await shared.exchange(silent, request, per_try_s=0.2, retries=1)
        took = time.monotonic() - started
        # never early; late by at most the sweeps (and what a loaded test box adds)
        assert 0.4 <= took <= 0.4 + 2 * SWEEP_S + LOADED_BOX_S, took

        # Many at once: the answered ones are not held until the silent ones time out, and
        # every silent one times out, none early; nothing is left waiting afterwards.
        async def timed(addr: tuple[str, int]) -> tuple[bool, float]:
            began = time.monotonic()
            try:
                await shared.exchange(addr, request, per_try_s=PER_TRY_S, retries=0)
            except ProbeTimeout:
                return False, time.monotonic() - began
            return True, time.monotonic() - began

        outcomes = await asyncio.gather(*(timed(echo if i % 2 else silent) for i in range(200)))
        answered = [t for ok, t in outcomes if ok]
        unanswered = [t for ok, t in outcomes if not ok]
        assert len(answered) == len(unanswered) == 100
        assert max(answered) < PER_TRY_S - 0.5
        assert all(PER_TRY_S <= t <= PER_TRY_S + 2 * SWEEP_S + LOADED_BOX_S for t in unanswered)
        assert shared.waiters == {} and shared._deadlines == {}
    finally:
        transport.close()
        if shared.transport is not None:
            shared.transport.close()
        await asyncio.sleep(0)
