"""The hand-written protobuf frame of Feishu's long connection: what is encoded decodes to
the same frame, bytes made by the rules of the wire format (written out here) decode right,
and truncated input is an error, not a crash."""

from __future__ import annotations

import pytest

from alerting.chat.pbbp2 import DATA, Frame, FrameError, decode, encode


def test_a_frame_survives_encoding() -> None:
    frame = Frame(
        seq_id=2**40,
        log_id=5,
        service=-3,  # int32 negatives are written as ten-byte varints
        method=DATA,
        headers=[("type", "event"), ("message_id", "m-1"), ("sum", "1")],
        payload='{"a": "机房"}'.encode(),
        log_id_new="L",
    )
    back = decode(encode(frame))
    assert back.headers == frame.headers and back.payload == frame.payload
    assert (back.seq_id, back.log_id, back.method, back.log_id_new) == (2**40, 5, DATA, "L")
    assert back.service == -3


def test_bytes_by_the_wire_rules_decode() -> None:
    # SeqID=1, LogID=0, service=7, method=1, headers {type: ping}, payload "x"
    header = b"\x0a\x04type" + b"\x12\x04ping"
    raw = (
        b"\x08\x01\x10\x00\x18\x07\x20\x01" + b"\x2a" + bytes([len(header)]) + header + b"\x42\x01x"
    )
    frame = decode(raw)
    assert (frame.seq_id, frame.service, frame.method) == (1, 7, 1)
    assert frame.header("type") == "ping" and frame.payload == b"x"


@pytest.mark.parametrize("raw", [b"\x08", b"\x42\x05ab", b"\x0f\x01"])
def test_broken_frames_are_an_error(raw: bytes) -> None:
    with pytest.raises(FrameError):
        decode(raw)
