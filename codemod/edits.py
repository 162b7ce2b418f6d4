"""Edits are data: byte ranges on the UTF-8 source. Only the engine splices them."""

from __future__ import annotations

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
