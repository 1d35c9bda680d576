"""The lean BER codec against pysnmp/pyasn1's, on the same messages."""

from __future__ import annotations

import pytest
from pyasn1.codec.ber import decoder as asn1_decoder
from pyasn1.codec.ber import encoder as asn1_encoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api, rfc1902, rfc1905

from probes.snmp import ber
from tests.fixtures.peers import shared_fixture
from tests.fixtures.snmp_fake import parse_snmprec

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def pysnmp_response(varbinds: list[tuple[str, object]], request_id: int = 77) -> bytes:
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    V2C.apiPDU.set_varbinds(pdu, varbinds)
    msg = V2C.Message()
    V2C.apiMessage.set_defaults(msg)
    V2C.apiMessage.set_community(msg, "public")
    V2C.apiMessage.set_pdu(msg, pdu)
    return bytes(asn1_encoder.encode(msg))


def test_every_value_type_decodes_as_pysnmp_encoded_it() -> None:
    data = pysnmp_response(
        [
            ("1.3.6.1.2.1.1.1.0", rfc1902.OctetString(b"Linux box\x00")),
            ("1.3.6.1.2.1.1.2.0", rfc1902.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10")),
            ("1.3.6.1.2.1.1.3.0", rfc1902.TimeTicks(4294967295)),
            ("1.3.6.1.2.1.2.2.1.7.1", rfc1902.Integer(-2147483648)),
            ("1.3.6.1.2.1.2.2.1.10.1", rfc1902.Counter32(4294967295)),
            ("1.3.6.1.2.1.2.2.1.5.1", rfc1902.Gauge32(1000000000)),
            ("1.3.6.1.2.1.31.1.1.1.6.1", rfc1902.Counter64(18446744073709551615)),
            ("1.3.6.1.2.1.4.20.1.1.10", rfc1902.IpAddress("10.1.2.3")),
            ("1.3.6.1.4.1.2.200000.7", rfc1905.NoSuchObject()),
            ("1.3.6.1.4.1.2.3", rfc1905.NoSuchInstance()),
            ("1.3.6.1.4.1.2.4", rfc1905.EndOfMibView()),
        ]
    )
    response = ber.decode_response(data)
    assert response.request_id == 77
    assert response.error_status == 0
    assert response.varbinds == [
        ((1, 3, 6, 1, 2, 1, 1, 1, 0), ber.OCTET_STRING, b"Linux box\x00"),
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), ber.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)),
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), ber.TIMETICKS, 4294967295),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 7, 1), ber.INTEGER, -2147483648),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), ber.COUNTER32, 4294967295),
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 5, 1), ber.GAUGE32, 1000000000),
        ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1), ber.COUNTER64, 18446744073709551615),
        ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10), ber.IP_ADDRESS, "10.1.2.3"),
        ((1, 3, 6, 1, 4, 1, 2, 200000, 7), ber.NO_SUCH_OBJECT, None),
        ((1, 3, 6, 1, 4, 1, 2, 3), ber.NO_SUCH_INSTANCE, None),
        ((1, 3, 6, 1, 4, 1, 2, 4), ber.END_OF_MIB_VIEW, None),
    ]


def test_a_long_response_with_multi_byte_lengths_decodes() -> None:
    varbinds = [(f"1.3.6.1.2.1.2.2.1.2.{i}", rfc1902.OctetString(b"x" * 300)) for i in range(200)]
    response = ber.decode_response(pysnmp_response(varbinds))
    assert len(response.varbinds) == 200
    assert response.varbinds[199] == ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 199), 4, b"x" * 300)


@pytest.mark.parametrize("pdu_tag", [ber.GET_REQUEST, ber.GET_NEXT_REQUEST, ber.GET_BULK_REQUEST])
def test_requests_decode_with_pyasn1_to_what_was_asked(pdu_tag: int) -> None:
    oids = [(1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 4, 1, 2636, 3, 1, 13, 1, 8, 9, 1, 0, 0)]
    data = ber.encode_request(
        ber.VERSION_2C, b"s3cret", pdu_tag, 123456789, ber.encode_varbind_list(oids), 0, 25
    )
    msg, rest = asn1_decoder.decode(data, asn1Spec=V2C.Message())
    assert rest == b""
    assert str(V2C.apiMessage.get_community(msg)) == "s3cret"
    pdu = V2C.apiMessage.get_pdu(msg)
    assert int(V2C.apiPDU.get_request_id(pdu)) == 123456789
    assert [tuple(o) for o, _ in V2C.apiPDU.get_varbinds(pdu)] == oids
    if pdu_tag == ber.GET_BULK_REQUEST:
        assert int(V2C.apiBulkPDU.get_max_repetitions(pdu)) == 25


def test_error_status_and_index_are_read() -> None:
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, 5)
    V2C.apiPDU.set_error_status(pdu, 2)
    V2C.apiPDU.set_error_index(pdu, 1)
    V2C.apiPDU.set_varbinds(pdu, [("1.3.6.1.2.1.1.9.0", rfc1902.Null(""))])
    msg = V2C.Message()
    V2C.apiMessage.set_defaults(msg)
    V2C.apiMessage.set_pdu(msg, pdu)
    response = ber.decode_response(bytes(asn1_encoder.encode(msg)))
    assert (response.error_status, response.error_index, response.error_name) == (
        2,
        1,
        "noSuchName",
    )


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x00",
        b"hello world",
        b"\x30\x82\xff\xff\x02\x01\x01",  # length past the end
        b"\x30\x05\x02\x01\x09\x04\x00",  # version 9
    ],
)
def test_garbage_is_a_ber_error_not_a_crash(garbage: bytes) -> None:
    with pytest.raises(ber.BerError):
        ber.decode_response(garbage)
    assert ber.peek_request_id(garbage) is None


def test_every_truncation_of_a_response_is_rejected_cleanly() -> None:
    data = pysnmp_response([("1.3.6.1.2.1.1.5.0", rfc1902.OctetString(b"switch-1"))])
    for cut in range(len(data)):
        with pytest.raises(ber.BerError):
            ber.decode_response(data[:cut])


def test_oid_text_round_trip_and_bad_oids() -> None:
    assert ber.parse_oid(".1.3.6.1.2.1.1.3.0") == (1, 3, 6, 1, 2, 1, 1, 3, 0)
    assert ber.format_oid((1, 3, 6, 1)) == "1.3.6.1"
    for bad in ("", "1", "a.b.c", "1.3.-6", "3.1.2"):
        with pytest.raises(ValueError, match="OID"):
            ber.parse_oid(bad)


def test_large_arcs_encode_as_pysnmp_does() -> None:
    oid = (1, 3, 6, 1, 4, 1, 4294967295, 128, 16383, 16384)
    ours = ber.encode_oid(oid)
    theirs = bytes(asn1_encoder.encode(rfc1902.ObjectIdentifier(oid)))
    assert ours == theirs
    assert ber.decode_oid_body(ours[2:]) == oid


def test_obsolete_and_unknown_application_types_do_not_spoil_the_answer() -> None:
    # UInteger32 (RFC 1442, [APPLICATION 7]) and NsapAddress ([APPLICATION 5]) from old agents.
    def vb(oid: ber.Oid, tag: int, body: bytes) -> bytes:
        return ber.tlv(0x30, ber.encode_oid(oid) + ber.tlv(tag, body))

    vbl = ber.tlv(
        0x30,
        vb((1, 3, 6, 1, 2, 1, 1, 5, 0), 0x47, b"\x00\xff\xff\xff\xff")
        + vb((1, 3, 6, 1, 2, 1, 1, 6, 0), 0x45, b"\x01\x02")
        + vb((1, 3, 6, 1, 2, 1, 1, 7, 0), ber.INTEGER, b"\x48"),
    )
    body = ber.encode_integer(7) + ber.encode_integer(0) + ber.encode_integer(0) + vbl
    message = ber.tlv(
        0x30,
        ber.encode_integer(1) + ber.tlv(ber.OCTET_STRING, b"public") + ber.tlv(ber.RESPONSE, body),
    )
    assert ber.decode_response(message).varbinds == [
        ((1, 3, 6, 1, 2, 1, 1, 5, 0), 0x47, 4294967295),
        ((1, 3, 6, 1, 2, 1, 1, 6, 0), 0x45, b"\x01\x02"),
        ((1, 3, 6, 1, 2, 1, 1, 7, 0), ber.INTEGER, 72),
    ]


def response_of(varbind_tlvs: bytes) -> bytes:
    body = ber.encode_integer(7) + ber.encode_integer(0) + ber.encode_integer(0)
    pdu = ber.tlv(ber.RESPONSE, body + ber.tlv(0x30, varbind_tlvs))
    return ber.tlv(0x30, ber.encode_integer(1) + ber.tlv(ber.OCTET_STRING, b"public") + pdu)


_PYSNMP_TYPES = {
    ber.INTEGER: rfc1902.Integer,
    ber.OCTET_STRING: rfc1902.OctetString,
    ber.OBJECT_IDENTIFIER: rfc1902.ObjectIdentifier,
    ber.IP_ADDRESS: rfc1902.IpAddress,
    ber.COUNTER32: rfc1902.Counter32,
    ber.GAUGE32: rfc1902.Gauge32,
    ber.TIMETICKS: rfc1902.TimeTicks,
    ber.OPAQUE: rfc1902.Opaque,
    ber.COUNTER64: rfc1902.Counter64,
}


@pytest.mark.parametrize("name", sorted(p.stem for p in shared_fixture("snmp").glob("*.snmprec")))
def test_every_recording_decodes_alike_with_its_heads_new_and_remembered(name: str) -> None:
    """Each recording's varbinds, encoded by pysnmp 40 to a message, decode to the recorded
    values the first time (every head parsed and checked) and again (heads remembered)."""
    recorded = parse_snmprec(shared_fixture("snmp", f"{name}.snmprec"))
    expected: list[ber.Varbind] = []
    encoded: list[tuple[str, object]] = []
    for oid, (tag, value) in recorded.items():
        if tag == ber.NULL:
            encoded.append((ber.format_oid(oid), rfc1902.Null("")))
        elif tag in _PYSNMP_TYPES:
            try:
                encoded.append((ber.format_oid(oid), _PYSNMP_TYPES[tag](value)))
            except PyAsn1Error:
                continue  # an anonymised value ("<private>" for an IpAddress)
        else:
            continue
        expected.append((oid, tag, value))
    messages = [pysnmp_response(encoded[i : i + 40]) for i in range(0, len(encoded), 40)]
    ber._HEADS.clear()
    ber._OID_CACHE.clear()
    for _ in range(2):
        decoded = [vb for m in messages for vb in ber.decode_response(m).varbinds]
        assert decoded == expected
    assert ber._HEADS  # the second round read remembered heads


def test_a_remembered_head_still_checks_its_value() -> None:
    name = ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 2, 0))
    good = ber.tlv(0x30, name + ber.encode_oid((1, 3, 6, 1, 4, 1, 9)))
    ber.decode_response(response_of(good))  # remembered
    bad = ber.tlv(0x30, name + ber.tlv(ber.OBJECT_IDENTIFIER, b"\x2b\x86"))  # a cut-off arc
    assert ber.decode_response(response_of(bad)).varbinds == [
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), ber.UNDECODABLE, None)
    ]
    # a remembered head whose value runs past the varbind list is refused
    counter = ber.tlv(
        0x30, ber.encode_oid((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1)) + b"\x41\x02\x01\x02"
    )
    ber.decode_response(response_of(counter))
    with pytest.raises(ber.BerError):
        ber.decode_varbinds(counter[:-1], 0, len(counter) - 1)


@pytest.mark.parametrize("tail", [b"\x30", b"\x30\x05", b"\x30\x05\x06", b"\x30\x81"])
def test_a_varbind_list_ending_inside_a_header_is_a_ber_error(tail: bytes) -> None:
    counter = ber.tlv(0x30, ber.encode_oid((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1)) + b"\x41\x01\x05")
    with pytest.raises(ber.BerError):
        ber.decode_response(response_of(counter + tail))


@pytest.mark.parametrize("oids", [1, 3, 40])  # short and long-form lengths around the id
@pytest.mark.parametrize("pdu_tag", [ber.GET_REQUEST, ber.GET_BULK_REQUEST])
def test_a_request_template_gives_the_request_for_every_id_in_range(
    oids: int, pdu_tag: int
) -> None:
    vbl = ber.encode_varbind_list([(1, 3, 6, 1, 2, 1, 2, 2, 1, 10, i) for i in range(oids)])
    head, tail = ber.request_template(ber.VERSION_2C, b"public", pdu_tag, vbl, 5, 12)
    for rid in (ber.REQUEST_ID_MIN, 1 << 24, 123_456_789, ber.REQUEST_ID_END - 1):
        expected = ber.encode_request(ber.VERSION_2C, b"public", pdu_tag, rid, vbl, 5, 12)
        assert head + rid.to_bytes(4, "big") + tail == expected
