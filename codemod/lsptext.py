"""Text positions as LSP counts them (line, column in the negotiated units) and the edits between
two texts.

The engine works on UTF-8 byte offsets; an editor on (line, column), the column in UTF-16 code units
unless the client offered another position encoding at `initialize` (`utf-8`: bytes, `utf-32`: code
points). A line ends at `\\n` (a CRLF file keeps its `\\r` at the end of each line, where it changes no
column before it).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

UTF16 = "utf-16"


@dataclass(frozen=True, order=True)
class Pos:
    line: int  # 0-based
    character: int  # code units of the position encoding (UTF-16 by default) from the line start


@dataclass(frozen=True)
class TextChange:
    """Replace [start, end) of the old text with `text` (positions in the old text)."""

    start: Pos
    end: Pos
    text: str


def units(text: str, encoding: str = UTF16) -> int:
    """The length of `text` in the position encoding's code units."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def byte_position(body: bytes, offset: int, encoding: str = UTF16) -> Pos:
    """The position of a UTF-8 byte offset of `body`."""
    line = body.count(b"\n", 0, offset)
    start = body.rfind(b"\n", 0, offset) + 1
    return Pos(line, units(body[start:offset].decode("utf-8", errors="replace"), encoding))


def end_position(text: str, encoding: str = UTF16) -> Pos:
    lines = text.split("\n")
    return Pos(len(lines) - 1, units(lines[-1], encoding))


def _lines(text: str) -> list[str]:
    """The lines of `text`, each with its `\\n` (the last one may have none, or be empty)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def line_changes(old: str, new: str, encoding: str = UTF16) -> list[TextChange]:
    """The fewest whole-line replacements that turn `old` into `new`, in document order.

    Whole lines keep every position at column 0 (or the end of the text), so no column is counted
    in a line that changes: what an editor shows as the edit is exactly the lines that differ.
    """
    before, after = _lines(old), _lines(new)
    end = end_position(old, encoding)

    def at(index: int) -> Pos:
        return Pos(index, 0) if index < len(before) else end

    changes = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changes.append(TextChange(at(i1), at(i2), "".join(after[j1:j2])))
    return changes
