"""Reading an admin's text file as UTF-8, and saying exactly where it is not.

Config, inventory, rule and profile files are UTF-8. A file saved by an editor in GBK/GB18030
(common on Chinese Windows desktops) or Latin-1 fails to decode; the admin needs the line and
column of the first bad byte to find it, not Python's byte offset."""

from __future__ import annotations

from pathlib import Path


class NotUtf8Error(ValueError):
    """`line` and `col` are 1-based; the column counts characters, as an editor shows it."""

    def __init__(self, line: int, col: int, reason: str) -> None:
        self.line = line
        self.col = col
        self.reason = reason
        super().__init__(f"line {line}, column {col}: {reason}")


def decode_utf8(data: bytes) -> str:
    """`data` as text. Raises NotUtf8Error naming the line and column of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _located(data, exc) from None


def read_text_file(path: str | Path) -> str:
    """The file's text. Raises OSError (cannot read) or NotUtf8Error."""
    return decode_utf8(Path(path).read_bytes())


def _located(data: bytes, exc: UnicodeDecodeError) -> NotUtf8Error:
    start = exc.start
    line_start = data.rfind(b"\n", 0, start) + 1
    line = data.count(b"\n", 0, start) + 1
    col = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        hint = "the file is UTF-16; save it as UTF-8"
    else:
        hint = "save the file as UTF-8 (it looks like another encoding, such as GBK or Latin-1)"
    return NotUtf8Error(
        line, col, f"not UTF-8 text: byte 0x{data[start]:02x} cannot be read; {hint}"
    )
