"""A lean BER codec for the hot SNMP path: v1/v2c GET, GETNEXT and GETBULK requests out,
their Response-PDUs in.

pysnmp decodes every value through pyasn1, which costs most of a poll's CPU; this module
encodes and decodes only what a poller needs, straight from bytes to Python values. SNMPv3
(USM security), traps and anything unusual stay with pysnmp. A varbind is a plain tuple
`(oid, tag, value)`: `oid` a tuple of ints (tuples compare the way SNMP orders OIDs), `tag`
the BER tag of the value (constants below) and `value` an int, bytes, an OID tuple, a dotted
IPv4 string or None.

Decoding failures raise `BerError` (a ValueError) with what was wrong and where.

(Longer than our modules' 400 lines: the codec stays in one module, its hot varbind loop with
the general path it falls back to, so the two are read and tested together.)
"""

from __future__ import annotations

from typing import Final

Oid = tuple[int, ...]
VarValue = int | bytes | tuple[int, ...] | str | None
Varbind = tuple[Oid, int, VarValue]

# Value tags (RFC 2578 / RFC 3416).
INTEGER: Final = 0x02
OCTET_STRING: Final = 0x04
NULL: Final = 0x05
OBJECT_IDENTIFIER: Final = 0x06
IP_ADDRESS: Final = 0x40
COUNTER32: Final = 0x41
GAUGE32: Final = 0x42
TIMETICKS: Final = 0x43
OPAQUE: Final = 0x44
COUNTER64: Final = 0x46
UINTEGER32: Final = 0x47  # RFC 1442's, obsolete, still sent by old agents
NO_SUCH_OBJECT: Final = 0x80
NO_SUCH_INSTANCE: Final = 0x81
END_OF_MIB_VIEW: Final = 0x82
# Not a BER tag: the decoder's mark for a varbind whose value (or name) could not be decoded
# (an empty OID, which net-snmp sends; an unknown tag). That varbind is no reading; the rest
# of the answer still is.
UNDECODABLE: Final = 0x1FF

# The three "exceptions" a v2c agent returns in place of a value.
EXCEPTION_TAGS: Final = frozenset((NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW))
UNSIGNED_TAGS: Final = frozenset((COUNTER32, GAUGE32, TIMETICKS, COUNTER64, UINTEGER32))
COUNTER_TAGS: Final = frozenset((COUNTER32, COUNTER64))

# PDU tags.
GET_REQUEST: Final = 0xA0
GET_NEXT_REQUEST: Final = 0xA1
RESPONSE: Final = 0xA2
GET_BULK_REQUEST: Final = 0xA5
REPORT: Final = 0xA8

VERSION_1: Final = 0
VERSION_2C: Final = 1

ERROR_STATUS_NAMES: Final = (
    "noError",
    "tooBig",
    "noSuchName",
    "badValue",
    "readOnly",
    "genErr",
    "noAccess",
    "wrongType",
    "wrongLength",
    "wrongEncoding",
    "wrongValue",
    "noCreation",
    "inconsistentValue",
    "resourceUnavailable",
    "commitFailed",
    "undoFailed",
    "authorizationError",
    "notWritable",
    "inconsistentName",
)


class BerError(ValueError):
    """The bytes are not a well-formed SNMP message."""


def parse_oid(text: str) -> Oid:
    """ "1.3.6.1.2.1.1.3.0" (a leading dot is allowed) → (1, 3, 6, 1, 2, 1, 1, 3, 0)."""
    parts = text.strip().lstrip(".").split(".")
    try:
        oid = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"not a numeric OID: {text!r}") from None
    if len(oid) < 2 or any(n < 0 for n in oid) or oid[0] > 2:
        raise ValueError(f"not a valid OID: {text!r}")
    return oid


def format_oid(oid: Oid) -> str:
    return ".".join(map(str, oid))


# --- encoding -------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def encode_integer(n: int) -> bytes:
    return tlv(INTEGER, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True))


def encode_oid(oid: Oid) -> bytes:
    if len(oid) < 2:
        raise ValueError("an OID needs at least two arcs")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(out))


def encode_varbind_list(oids: list[Oid]) -> bytes:
    """The varbind list of a read request: each OID with a NULL value."""
    return tlv(0x30, b"".join(tlv(0x30, encode_oid(o) + b"\x05\x00") for o in oids))


def encode_request(
    version: int,
    community: bytes,
    pdu_tag: int,
    request_id: int,
    varbind_list: bytes,
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """A whole v1/v2c message. `varbind_list` comes from `encode_varbind_list` (callers cache
    it: a poller asks for the same OIDs every cycle). For GETBULK the two error fields carry
    non-repeaters and max-repetitions."""
    pdu = (
        encode_integer(request_id)
        + encode_integer(non_repeaters)
        + encode_integer(max_repetitions)
        + varbind_list
    )
    return tlv(0x30, encode_integer(version) + tlv(OCTET_STRING, community) + tlv(pdu_tag, pdu))


# Request ids from here up to 2**31 - 1 all encode in four bytes, so a request's bytes around
# its id are the same for every id (`request_template`).
REQUEST_ID_MIN: Final = 1 << 23
REQUEST_ID_END: Final = 1 << 31


def request_template(
    version: int,
    community: bytes,
    pdu_tag: int,
    varbind_list: bytes,
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> tuple[bytes, bytes]:
    """(head, tail): `encode_request` of the same fields is head + the request id's four bytes
    (big-endian) + tail, for any id from REQUEST_ID_MIN up to (not including) REQUEST_ID_END.
    A poller sends the same requests every cycle: each is then one concatenation, not the
    message built field by field."""
    message = encode_request(
        version, community, pdu_tag, REQUEST_ID_MIN, varbind_list, non_repeaters, max_repetitions
    )
    # The id's four bytes are followed by the rest of the PDU, which ends the message.
    after = len(encode_integer(non_repeaters) + encode_integer(max_repetitions) + varbind_list)
    return message[: -(after + 4)], message[-after:]


# --- decoding -------------------------------------------------------------------------------

# Raw OID bytes → decoded tuple. A device returns the same OIDs every poll, so decoding each
# one once saves a good part of the CPU; the cache is bounded and simply restarts when full.
_OID_CACHE: dict[bytes, Oid] = {}
_OID_CACHE_MAX = 500_000


def decode_oid_body(body: bytes) -> Oid:
    cached = _OID_CACHE.get(body)
    if cached is not None:
        return cached
    if not body:
        raise BerError("empty OID")
    arcs: list[int] = []
    n = 0
    for b in body:
        n = (n << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(n)
            n = 0
    if body[-1] & 0x80:
        raise BerError("truncated OID")
    first = arcs[0]
    if first < 40:
        head: tuple[int, int] = (0, first)
    elif first < 80:
        head = (1, first - 40)
    else:
        head = (2, first - 80)
    oid = head + tuple(arcs[1:])
    if len(_OID_CACHE) >= _OID_CACHE_MAX:
        _OID_CACHE.clear()
    _OID_CACHE[body] = oid
    return oid


def read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of the contents, end of the contents) of the TLV at `pos`."""
    if pos + 2 > end:
        raise BerError(f"truncated at byte {pos}")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise BerError(f"bad length at byte {pos - 1}")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    stop = pos + length
    if stop > end:
        raise BerError(f"length at byte {pos} runs past the end of the message")
    return tag, pos, stop


def read_int(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag, start, stop = read_header(data, pos, end)
    if tag != INTEGER:
        raise BerError(f"expected INTEGER at byte {pos}, found tag 0x{tag:02x}")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


class Response:
    """A decoded Response-PDU (or Report): request id, error status and index, varbinds."""

    __slots__ = ("community", "error_index", "error_status", "pdu_tag", "request_id", "varbinds")

    def __init__(
        self,
        pdu_tag: int,
        community: bytes,
        request_id: int,
        error_status: int,
        error_index: int,
        varbinds: list[Varbind],
    ) -> None:
        self.pdu_tag = pdu_tag
        self.community = community
        self.request_id = request_id
        self.error_status = error_status
        self.error_index = error_index
        self.varbinds = varbinds

    @property
    def error_name(self) -> str:
        s = self.error_status
        return ERROR_STATUS_NAMES[s] if 0 <= s < len(ERROR_STATUS_NAMES) else f"error {s}"


def peek_request_id(data: bytes) -> tuple[int, int] | None:
    """(version, request id) of a v1/v2c message without decoding its varbinds (for v3: the
    msgID), or None when the datagram is not SNMP (so garbage is dropped cheaply). A message
    cut short (a length runs past the datagram) still yields its id when the id is inside what
    arrived, so the request it answers fails as garbled instead of timing out."""
    try:
        end = len(data)
        tag, pos, _ = _clamped_header(data, 0, end)
        if tag != 0x30:
            return None
        version, pos = read_int(data, pos, end)
        tag, start, stop = _clamped_header(data, pos, end)
        if version == 3 and tag == 0x30:  # v3: msgID opens msgGlobalData
            return version, read_int(data, start, stop)[0]
        if tag != OCTET_STRING:
            return None
        tag, pos, pdu_end = _clamped_header(data, stop, end)
        request_id, _ = read_int(data, pos, pdu_end)
        return version, request_id
    except BerError:
        return None


def _clamped_header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """`read_header`, with a length that runs past `end` cut at `end` (a truncated message)."""
    if pos + 2 > end:
        raise BerError(f"truncated at byte {pos}")
    length = data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or start + count > end:
            raise BerError(f"bad length at byte {pos + 1}")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return data[pos], start, min(start + length, end)


def decode_response(data: bytes) -> Response:
    """Decode a v1/v2c message carrying a Response-PDU. Raises BerError."""
    end = len(data)
    tag, pos, end = read_header(data, 0, end)
    if tag != 0x30:
        raise BerError("not an SNMP message (no outer SEQUENCE)")
    version, pos = read_int(data, pos, end)
    if version not in (VERSION_1, VERSION_2C):
        raise BerError(f"unsupported SNMP version field {version}")
    tag, start, pos = read_header(data, pos, end)
    if tag != OCTET_STRING:
        raise BerError("community is not an OCTET STRING")
    community = data[start:pos]
    return Response(*decode_pdu(data, pos, end, community))


def decode_pdu(
    data: bytes, pos: int, end: int, community: bytes = b""
) -> tuple[int, bytes, int, int, int, list[Varbind]]:
    """A Response- or Report-PDU at `pos` (of any SNMP version): its tag, `community` as given,
    request id, error status and index, and varbinds. Raises BerError."""
    pdu_tag, pos, pdu_end = read_header(data, pos, end)
    if pdu_tag not in (RESPONSE, REPORT):
        raise BerError(f"not a Response or Report PDU (tag 0x{pdu_tag:02x})")
    request_id, pos = read_int(data, pos, pdu_end)
    error_status, pos = read_int(data, pos, pdu_end)
    error_index, pos = read_int(data, pos, pdu_end)
    tag, pos, list_end = read_header(data, pos, pdu_end)
    if tag != 0x30:
        raise BerError("varbind list is not a SEQUENCE")
    varbinds = decode_varbinds(data, pos, list_end)
    return pdu_tag, community, request_id, error_status, error_index, varbinds


# A varbind's head is its bytes up to its value: the SEQUENCE header, the name and the value's
# tag and length, when all three lengths are short-form (nearly every varbind). An agent sends
# the same heads every poll (a counter's changes only with its value's length in bytes), so
# each head is parsed and checked once and remembered with what it says: (name, tag, how to
# read the value, the value's length). A remembered head is its own proof: bytes equal to it
# are a well-formed head with those fields. Bounded like the OID cache, restarting when full.
_HEADS: dict[bytes, tuple[Oid, int, int, int]] = {}
_HEADS_MAX = 100_000  # about 80 bytes each besides the name (shared with the OID cache)
# How a remembered head's value is read.
_AS_UNSIGNED, _AS_SIGNED, _AS_BYTES, _AS_NONE, _AS_OTHER = range(5)


def decode_varbinds(data: bytes, pos: int, end: int) -> list[Varbind]:
    """The varbinds between `pos` and `end`. This loop is the hot path: a varbind whose head
    is remembered costs a slice, a dict lookup and its value's conversion; any other goes
    through `_decode_varbind`, which checks everything and remembers the head."""
    out: list[Varbind] = []
    append = out.append
    from_bytes = int.from_bytes
    remembered = _HEADS.get
    value: VarValue
    try:
        while pos < end:
            start = pos + data[pos + 3] + 6  # the value's, if this head is short-form
            head = remembered(data[pos:start])
            if head is None:
                pos = _decode_varbind(data, pos, end, out)
                continue
            oid, tag, kind, length = head
            stop = start + length
            if stop > end:
                raise BerError(f"varbind at byte {pos} runs past the end")
            if kind == _AS_UNSIGNED:
                value = from_bytes(data[start:stop], "big")
            elif kind == _AS_SIGNED:
                value = from_bytes(data[start:stop], "big", signed=True)
            elif kind == _AS_BYTES:
                value = data[start:stop]
            elif kind == _AS_NONE:
                value = None
            else:
                tag, value = _other_value(tag, data[start:stop])
            append((oid, tag, value))
            pos = stop
    except IndexError:
        raise BerError(f"a varbind at byte {pos} is cut short") from None
    return out


def _length_at(data: bytes, pos: int) -> tuple[int, int]:
    """(where the contents start, their length) of the TLV whose tag is at `pos`, its length
    in the short form (one byte) or the long one."""
    length = data[pos + 1]
    if length < 0x80:
        return pos + 2, length
    count = length & 0x7F
    return pos + 2 + count, int.from_bytes(data[pos + 2 : pos + 2 + count], "big")


def _decode_varbind(data: bytes, pos: int, end: int, out: list[Varbind]) -> int:
    """Decode the varbind at `pos` into `out`, checking every header, and remember its head
    when it can be (see `_HEADS`). Returns where the next varbind starts."""
    begin = pos
    from_bytes = int.from_bytes
    # SEQUENCE { name, value }
    if data[pos] != 0x30:
        raise BerError(f"varbind at byte {pos} is not a SEQUENCE")
    start, length = _length_at(data, pos)
    short = start == pos + 2  # all three lengths short-form: the head can be remembered
    pos = start
    vb_end = pos + length
    if vb_end > end:
        raise BerError(f"varbind at byte {pos} runs past the end")
    # name
    if data[pos] != OBJECT_IDENTIFIER:
        raise BerError(f"varbind name at byte {pos} is not an OID")
    start, length = _length_at(data, pos)
    short = short and start == pos + 2
    pos = start
    oid: Oid
    try:
        oid = decode_oid_body(data[pos : pos + length])
    except BerError:
        oid = ()  # a nameless varbind: kept in its place (GETBULK rows are positional)
    pos += length
    # value
    if pos + 2 > vb_end:
        raise BerError(f"varbind value at byte {pos} is missing")
    tag = data[pos]
    start, length = _length_at(data, pos)
    short = short and start == pos + 2
    pos = start
    if pos + length != vb_end:
        raise BerError(f"varbind value at byte {pos} has a bad length")
    value: VarValue
    kind = _AS_OTHER
    body = data[pos:vb_end]
    if tag in UNSIGNED_TAGS:
        value, kind = from_bytes(body, "big"), _AS_UNSIGNED
    elif tag == INTEGER:
        value, kind = from_bytes(body, "big", signed=True), _AS_SIGNED
    elif tag in (OCTET_STRING, OPAQUE):
        value, kind = body, _AS_BYTES
    elif tag == NULL or tag in EXCEPTION_TAGS:
        value, kind = None, _AS_NONE
    else:
        tag, value = _other_value(tag, body)
    if not oid:
        tag, value = UNDECODABLE, None
    elif short and tag != UNDECODABLE:
        if len(_HEADS) >= _HEADS_MAX:
            _HEADS.clear()
        _HEADS[data[begin:pos]] = (oid, tag, kind, length)
    out.append((oid, tag, value))
    return vb_end


def _other_value(tag: int, body: bytes) -> tuple[int, VarValue]:
    """(tag, value) of the rarer types; UNDECODABLE for a value that cannot be read."""
    if tag == OBJECT_IDENTIFIER:
        try:
            return tag, decode_oid_body(body)
        except BerError:
            return UNDECODABLE, None
    if tag == IP_ADDRESS:
        return tag, ".".join(map(str, body))
    if tag & 0xE0 == 0x40:
        # Another primitive APPLICATION type (NsapAddress, a vendor's own): its bytes, so
        # one odd value does not make the whole answer unreadable.
        return tag, body
    return UNDECODABLE, None  # a tag no SNMP type has: this value only is lost
