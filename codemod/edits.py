"""Edits are data: byte ranges on the UTF-8 source. Only the engine splices them."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import StrEnum


class Safety(StrEnum):
    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, order=True)
class Edit:
    """Replace source bytes [start, end) with `text`."""

    start: int
    end: int
    text: str

    def overlaps(self, other: Edit) -> bool:
        # Two insertions at the same point conflict too: their order would be a guess.
        if self.start == self.end == other.start == other.end:
            return True
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class ImportRequest:
    """The fix needs `path` imported under local name `name` (`name` may equal the default)."""

    path: str
    name: str


@dataclass(frozen=True)
class Fix:
    edits: tuple[Edit, ...]
    safety: Safety
    reason: str
    add_imports: tuple[ImportRequest, ...] = ()
    # Import paths whose last use this fix may remove; the engine drops them only if now unused.
    maybe_unused_imports: tuple[str, ...] = ()

    @property
    def start(self) -> int:
        return min(e.start for e in self.edits)

    @property
    def end(self) -> int:
        return max(e.end for e in self.edits)

    def overlaps(self, other: Fix) -> bool:
        return any(a.overlaps(b) for a in self.edits for b in other.edits)


@dataclass(frozen=True)
class Finding:
    """One reported site. `fix` is None when the site needs a human."""

    transform_id: str
    start_byte: int
    end_byte: int
    message: str
    fix: Fix | None = None
    line: int = 0  # 1-based, filled in by the engine
    column: int = 0  # 1-based, in characters
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def splice(source: bytes, edits: list[Edit]) -> bytes:
    """Apply non-overlapping edits to `source`. Raises ValueError on overlap."""
    # Stable on position: insertions at one offset keep the order the fix gave them.
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    out: list[bytes] = []
    pos = 0
    for edit in ordered:
        if edit.start < pos:
            raise ValueError(f"overlapping edits at byte {edit.start}")
        out.append(source[pos : edit.start])
        out.append(edit.text.encode("utf-8"))
        pos = edit.end
    out.append(source[pos:])
    return b"".join(out)


class EditIndex:
    """Edits of the fixes chosen so far, kept sorted, so a new fix's overlap costs a bisection, not a scan.

    Chosen edits never overlap one another, so sorted by start their ends never decrease: the walk back
    from a candidate stops at the first edit that ends before the candidate starts.
    """

    def __init__(self) -> None:
        self._keys: list[tuple[int, int]] = []
        self._edits: list[Edit] = []

    def overlaps(self, fix: Fix) -> bool:
        return any(self._hits(edit) for edit in fix.edits)

    def add(self, fix: Fix) -> None:
        for edit in fix.edits:
            at = bisect.bisect_right(self._keys, (edit.start, edit.end))
            self._keys.insert(at, (edit.start, edit.end))
            self._edits.insert(at, edit)

    def _hits(self, edit: Edit) -> bool:
        at = bisect.bisect_right(self._keys, (edit.end, edit.end))
        for other in reversed(self._edits[max(0, at - 64) : at]):
            if other.overlaps(edit):
                return True
            if other.end < edit.start:
                return False
        # More than 64 edits end at or after the candidate's start: rare (insertions at one point).
        return any(other.overlaps(edit) for other in self._edits[: max(0, at - 64)])
