"""The frame of Feishu's long connection (长连接): protobuf message `pbbp2.Frame`, encoded by
hand (two message types do not justify a protobuf dependency).

    message Header { required string key = 1; required string value = 2; }
    message Frame {
      required uint64 SeqID = 1;   required uint64 LogID = 2;
      required int32 service = 3;  required int32 method = 4;    // 0 control, 1 data
      repeated Header headers = 5;
      optional string payload_encoding = 6;  optional string payload_type = 7;
      optional bytes payload = 8;            optional string LogIDNew = 9;
    }"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTROL = 0
DATA = 1


class FrameError(Exception):
    pass


@dataclass
class Frame:
    seq_id: int = 0
    log_id: int = 0
    service: int = 0
    method: int = CONTROL
    headers: list[tuple[str, str]] = field(default_factory=list)
    payload_encoding: str = ""
    payload_type: str = ""
    payload: bytes = b""
    log_id_new: str = ""

    def header(self, key: str) -> str | None:
        return next((v for k, v in self.headers if k == key), None)


def _varint(value: int) -> bytes:
    if value < 0:
        value &= (1 << 64) - 1  # int32 negatives are ten bytes, as protobuf writes them
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _bytes(number: int, data: bytes) -> bytes:
    return _key(number, 2) + _varint(len(data)) + data


def encode(frame: Frame) -> bytes:
    out = bytearray()
    for number, integer in (
        (1, frame.seq_id),
        (2, frame.log_id),
        (3, frame.service),
        (4, frame.method),
    ):
        out += _key(number, 0) + _varint(integer)
    for key, value in frame.headers:
        out += _bytes(5, _bytes(1, key.encode()) + _bytes(2, value.encode()))
    for number, label in ((6, frame.payload_encoding), (7, frame.payload_type)):
        if label:
            out += _bytes(number, label.encode())
    if frame.payload:
        out += _bytes(8, frame.payload)
    if frame.log_id_new:
        out += _bytes(9, frame.log_id_new.encode())
    return bytes(out)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise FrameError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    out: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _read_varint(data, at)
            out.append((number, value))
        elif wire == 2:
            length, at = _read_varint(data, at)
            if at + length > len(data):
                raise FrameError("truncated field")
            out.append((number, data[at : at + length]))
            at += length
        elif wire in (1, 5):  # fixed 64 / 32: not in Frame, skipped
            at += 8 if wire == 1 else 4
        else:
            raise FrameError(f"wire type {wire} in a frame")
    return out


def _int32(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def decode(data: bytes) -> Frame:
    frame = Frame()
    for number, value in _fields(data):
        if isinstance(value, int):
            if number == 1:
                frame.seq_id = value
            elif number == 2:
                frame.log_id = value
            elif number == 3:
                frame.service = _int32(value)
            elif number == 4:
                frame.method = _int32(value)
            continue
        if number == 5:
            pair = dict((n, v) for n, v in _fields(value) if isinstance(v, bytes))
            frame.headers.append(
                (
                    pair.get(1, b"").decode("utf-8", "replace"),
                    pair.get(2, b"").decode("utf-8", "replace"),
                )
            )
        elif number == 6:
            frame.payload_encoding = value.decode("utf-8", "replace")
        elif number == 7:
            frame.payload_type = value.decode("utf-8", "replace")
        elif number == 8:
            frame.payload = value
        elif number == 9:
            frame.log_id_new = value.decode("utf-8", "replace")
    return frame
