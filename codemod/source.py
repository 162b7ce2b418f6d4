"""Bytes as read from disk, and the normalised text the engine works on (no BOM, LF line ends)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"
_GENERATED = re.compile(rb"^// Code generated .* DO NOT EDIT\.\r?$", re.M)
_PACKAGE = re.compile(rb"^package\s+(\w+)", re.M)


class SourceError(Exception):
    """The file cannot be processed; the message is one line for the user."""


@dataclass(frozen=True)
class SourceText:
    raw: bytes
    body: bytes
    bom: bool
    crlf: bool

    @classmethod
    def from_raw(cls, raw: bytes) -> SourceText:
        bom = raw.startswith(BOM)
        body = raw[len(BOM) :] if bom else raw
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = body.count(b"\n", 0, exc.start) + 1
            raise SourceError(f"not valid UTF-8 (line {line}); convert it to UTF-8 first") from None
        crlf = b"\r\n" in body and body.count(b"\r\n") == body.count(b"\n")
        if crlf:
            body = body.replace(b"\r\n", b"\n")
        return cls(raw, body, bom, crlf)

    def restore(self, body: bytes) -> bytes:
        """Give edited text back the line ends and BOM the file had."""
        if self.crlf:
            body = body.replace(b"\n", b"\r\n")
        return BOM + body if self.bom else body


def is_generated(body: bytes) -> bool:
    return _GENERATED.search(body) is not None


def package_name(body: bytes) -> str | None:
    match = _PACKAGE.search(body)
    return match.group(1).decode() if match else None


def locate(body: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    line = body.count(b"\n", 0, offset) + 1
    start = body.rfind(b"\n", 0, offset) + 1
    column = len(body[start:offset].decode("utf-8", errors="replace")) + 1
    return line, column


class LineIndex:
    """`locate` for many offsets of one body: the line starts are found once, each lookup bisects."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.starts = [0, *(m.end() for m in re.finditer(b"\n", body))]

    def locate(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        start = self.starts[line - 1]
        return line, len(self.body[start:offset].decode("utf-8", errors="replace")) + 1
