"""A small SNMP v2c agent for the demo room: it answers GET, GETNEXT and GETBULK from a
recording (snmpsim's .snmprec format, `OID|TAG|VALUE`, `TAG` with an `x` suffix meaning a hex
value) plus the values the demo's fault script sets while it runs, so a switch port really
goes down on the wire and the daemon's real SNMP probe sees it. Any community is accepted;
writes are refused (the agent is read-only, like a monitored device should be).

It reuses the poller's BER codec (probes.snmp.ber) for reading requests and writes responses
with the same primitives. Loopback only; one agent per simulated device, each on its port."""

from __future__ import annotations

import asyncio
import bisect
import logging
from pathlib import Path
from typing import cast

from probes.snmp import ber
from probes.snmp.ber import Oid, VarValue

log = logging.getLogger("roomwatch.demo")

Mib = dict[Oid, tuple[int, VarValue]]
MAX_BULK = 60  # varbinds of one GETBULK answer: keeps a datagram well under 64 KiB


def load_snmprec(path: Path) -> Mib:
    """OID → (tag, value) of a snmpsim recording; the first of duplicated OIDs wins."""
    out: Mib = {}
    for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        if line.count("|") < 2 or line.startswith("#"):
            continue
        oid_text, type_text, raw = line.split("|", 2)
        try:
            oid = ber.parse_oid(oid_text)
            hexed = type_text.endswith("x")
            tag = int(type_text.rstrip("x"))
        except ValueError:
            continue
        if oid in out:
            continue
        data = bytes.fromhex(raw) if hexed else raw.encode("utf-8", errors="surrogateescape")
        value: VarValue
        if tag == ber.OCTET_STRING or tag == ber.OPAQUE:
            value = data
        elif tag == ber.OBJECT_IDENTIFIER:
            value = ber.parse_oid(raw)
        elif tag == ber.IP_ADDRESS:
            value = ".".join(map(str, data)) if hexed else raw
        elif tag == ber.NULL:
            value = None
        else:
            value = int(raw)
        out[oid] = (tag, value)
    return out


def encode_value(tag: int, value: VarValue) -> bytes:
    if tag == ber.INTEGER:
        assert isinstance(value, int)
        return ber.encode_integer(value)
    if tag in ber.UNSIGNED_TAGS:
        assert isinstance(value, int)
        return ber.tlv(tag, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big"))
    if tag in (ber.OCTET_STRING, ber.OPAQUE):
        assert isinstance(value, bytes)
        return ber.tlv(tag, value)
    if tag == ber.OBJECT_IDENTIFIER:
        assert isinstance(value, tuple)
        return ber.encode_oid(value)
    if tag == ber.IP_ADDRESS:
        assert isinstance(value, str)
        return ber.tlv(tag, bytes(int(part) for part in value.split(".")))
    return ber.tlv(tag, b"")  # NULL and the v2c exceptions carry no contents


def encode_response(
    community: bytes, request_id: int, varbinds: list[tuple[Oid, int, VarValue]]
) -> bytes:
    body = b"".join(
        ber.tlv(0x30, ber.encode_oid(oid) + encode_value(tag, value))
        for oid, tag, value in varbinds
    )
    pdu = (
        ber.encode_integer(request_id)
        + ber.encode_integer(0)
        + ber.encode_integer(0)
        + ber.tlv(0x30, body)
    )
    return ber.tlv(
        0x30,
        ber.encode_integer(ber.VERSION_2C)
        + ber.tlv(ber.OCTET_STRING, community)
        + ber.tlv(ber.RESPONSE, pdu),
    )


class SnmpAgent(asyncio.DatagramProtocol):
    def __init__(self, name: str, mib: Mib) -> None:
        self.name = name
        self.mib = dict(mib)
        self._order = sorted(self.mib)
        self.transport: asyncio.DatagramTransport | None = None
        self.requests = 0
        self.garbled = 0

    def set(self, oid: str, tag: int, value: VarValue) -> None:
        """Change (or add) one value: the fault script's lever."""
        key = ber.parse_oid(oid)
        if key not in self.mib:
            bisect.insort(self._order, key)
        self.mib[key] = (tag, value)

    def value(self, oid: str) -> VarValue:
        return self.mib[ber.parse_oid(oid)][1]

    def _next(self, oid: Oid) -> tuple[Oid, int, VarValue]:
        i = bisect.bisect_right(self._order, oid)
        if i >= len(self._order):
            return (oid, ber.END_OF_MIB_VIEW, None)
        found = self._order[i]
        tag, value = self.mib[found]
        return (found, tag, value)

    def answer(self, data: bytes) -> bytes | None:
        end = len(data)
        tag, pos, end = ber.read_header(data, 0, end)
        version, pos = ber.read_int(data, pos, end)
        if tag != 0x30 or version not in (ber.VERSION_1, ber.VERSION_2C):
            return None
        tag, start, pos = ber.read_header(data, pos, end)
        community = data[start:pos]
        pdu_tag, pos, pdu_end = ber.read_header(data, pos, end)
        request_id, pos = ber.read_int(data, pos, pdu_end)
        first, pos = ber.read_int(data, pos, pdu_end)  # error status / non-repeaters
        second, pos = ber.read_int(data, pos, pdu_end)  # error index / max-repetitions
        _, pos, list_end = ber.read_header(data, pos, pdu_end)
        asked = [oid for oid, _, _ in ber.decode_varbinds(data, pos, list_end)]
        out: list[tuple[Oid, int, VarValue]] = []
        if pdu_tag == ber.GET_REQUEST:
            for oid in asked:
                tag_value = self.mib.get(oid)
                out.append((oid, *tag_value) if tag_value else (oid, ber.NO_SUCH_INSTANCE, None))
        elif pdu_tag == ber.GET_NEXT_REQUEST:
            out = [self._next(oid) for oid in asked]
        elif pdu_tag == ber.GET_BULK_REQUEST:
            non_repeaters = max(0, min(first, len(asked)))
            out = [self._next(oid) for oid in asked[:non_repeaters]]
            cursors = list(asked[non_repeaters:])
            for _ in range(max(0, second)):
                if not cursors or len(out) + len(cursors) > MAX_BULK:
                    break
                # a column that ran out keeps answering endOfMibView, so the columns of
                # every repetition stay in step (RFC 3416 4.2.3)
                row = [self._next(oid) for oid in cursors]
                out.extend(row)
                if all(tag == ber.END_OF_MIB_VIEW for _, tag, _ in row):
                    break
                cursors = [oid for oid, _, _ in row]
        else:
            return None  # SET and the rest: a read-only agent stays silent
        return encode_response(community, request_id, out)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.requests += 1
        try:
            reply = self.answer(data)
        except (ber.BerError, ValueError, AssertionError):
            self.garbled += 1
            return
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


async def serve(
    name: str, mib: Mib, host: str, port: int
) -> tuple[SnmpAgent, asyncio.BaseTransport]:
    agent = SnmpAgent(name, mib)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: agent, local_addr=(host, port))
    return agent, transport
