"""Reading one reply off a serial line (probes.serial_bus), against a scripted port: where a
reply ends, and what is reported when no proper line comes."""

from __future__ import annotations

import time

from probes.serial_bus import _read_reply


class ScriptedPort:
    """Hands out the given chunks, one per read, then nothing."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)
        self.timeout: float | None = 0.05

    @property
    def in_waiting(self) -> int:
        return len(self.chunks[0]) if self.chunks else 0

    def read(self, size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


def read(port: ScriptedPort, *, discard_first_line: bool = False) -> tuple[bytes, bool]:
    reply = _read_reply(
        port,  # type: ignore[arg-type]
        b"\r\n",
        time.monotonic() + 0.3,
        0.1,
        4096,
        discard_first_line,
    )
    return reply.data, reply.terminated


def test_reply_ends_at_the_terminator() -> None:
    assert read(ScriptedPort(b"T=1", b"2 H=3\r\nrest")) == (b"T=12 H=3\r\n", True)


def test_listening_drops_the_partial_first_line() -> None:
    got = read(ScriptedPort(b"5,45.2\r\n", b"235,318,45.2\r\n"), discard_first_line=True)
    assert got == (b"235,318,45.2\r\n", True)


def test_a_stream_without_line_ends_is_returned_not_taken_for_silence() -> None:
    # A streaming sensor read at the wrong speed sends garbage and never a line end. Before the
    # fix the bytes were thrown away and the poll said "no answer" (timeout) instead of what
    # came (an incomplete reply: protocol).
    assert read(ScriptedPort(b"\xf0\x0f\xaa", b"\x55\xf0"), discard_first_line=True) == (
        b"\xf0\x0f\xaa\x55\xf0",
        False,
    )


def test_a_reply_of_several_lines_ends_at_the_last_one() -> None:
    port = ScriptedPort(b"T:23.5\r\nH:", b"45.2\r\nnext")
    reply = _read_reply(port, b"\r\n", time.monotonic() + 0.3, 0.1, 4096, False, 2)  # type: ignore[arg-type]
    assert (reply.data, reply.terminated) == (b"T:23.5\r\nH:45.2\r\n", True)
