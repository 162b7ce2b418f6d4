"""Unified diffs (difflib) and their coloured rendering."""

from __future__ import annotations

import bisect
import difflib

from rich.console import Console
from rich.text import Text


class AnchoredMatcher(difflib.SequenceMatcher[str]):
    """difflib's matcher, anchored first on lines that occur once in each side (patience diff).

    On a large file of repeated shapes (a thousand tests alike) plain difflib searches the whole file
    for every hunk and grows quadratically; anchored, it only compares the short runs between anchors.
    Where there are no anchors the result is difflib's own.
    """

    def __init__(self, a: list[str], b: list[str]) -> None:
        self.before, self.after = a, b
        self._blocks: list[difflib.Match] | None = None
        super().__init__(None, a, b, autojunk=False)

    def get_matching_blocks(self) -> list[difflib.Match]:
        if self._blocks is not None:
            return self._blocks
        blocks: list[tuple[int, int, int]] = []
        self._match(0, len(self.before), 0, len(self.after), blocks)
        merged: list[tuple[int, int, int]] = []
        for i, j, k in blocks:  # adjacent blocks become one, as difflib's own result has them
            if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
                merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + k)
            elif k:
                merged.append((i, j, k))
        merged.append((len(self.before), len(self.after), 0))
        self._blocks = [difflib.Match(*m) for m in merged]
        return self._blocks

    def _match(self, alo: int, ahi: int, blo: int, bhi: int, out: list[tuple[int, int, int]]) -> None:
        while alo < ahi and blo < bhi and self.before[alo] == self.after[blo]:  # common head
            out.append((alo, blo, 1))
            alo, blo = alo + 1, blo + 1
        tail: list[tuple[int, int, int]] = []
        while alo < ahi and blo < bhi and self.before[ahi - 1] == self.after[bhi - 1]:  # common tail
            ahi, bhi = ahi - 1, bhi - 1
            tail.append((ahi, bhi, 1))
        anchors = _unique_common(self.before, alo, ahi, self.after, blo, bhi)
        if not anchors:
            if alo < ahi and blo < bhi:
                plain = difflib.SequenceMatcher(
                    None, self.before[alo:ahi], self.after[blo:bhi], autojunk=False
                )
                out.extend((alo + i, blo + j, k) for i, j, k in plain.get_matching_blocks() if k)
        else:
            for i, j in anchors:
                self._match(alo, i, blo, j, out)
                out.append((i, j, 1))
                alo, blo = i + 1, j + 1
            self._match(alo, ahi, blo, bhi, out)
        out.extend(reversed(tail))


def _unique_common(
    a: list[str], alo: int, ahi: int, b: list[str], blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Lines occurring exactly once in a[alo:ahi] and in b[blo:bhi], in their longest common order."""
    seen_a: dict[str, int] = {}
    for i in range(alo, ahi):
        seen_a[a[i]] = -1 if a[i] in seen_a else i
    seen_b: dict[str, int] = {}
    for j in range(blo, bhi):
        seen_b[b[j]] = -1 if b[j] in seen_b else j
    pairs = [(i, seen_b[line]) for line, i in seen_a.items() if i >= 0 and seen_b.get(line, -1) >= 0]
    pairs.sort()
    # Longest increasing subsequence of the b positions (patience sorting).
    tops: list[int] = []
    links: list[int] = [-1] * len(pairs)
    tails: list[int] = []
    for index, (_, j) in enumerate(pairs):
        at = bisect.bisect_left(tops, j)
        if at == len(tops):
            tops.append(j)
            tails.append(index)
        else:
            tops[at] = j
            tails[at] = index
        links[index] = tails[at - 1] if at else -1
    chain: list[tuple[int, int]] = []
    index = tails[-1] if tails else -1
    while index >= 0:
        chain.append(pairs[index])
        index = links[index]
    return chain[::-1]


def unified_diff(path: str, before: bytes, after: bytes, context: int = 3) -> str:
    a = before.decode("utf-8", errors="replace").splitlines(keepends=True)
    b = after.decode("utf-8", errors="replace").splitlines(keepends=True)
    out = [f"--- a/{path}\n", f"+++ b/{path}\n"]
    groups = list(AnchoredMatcher(a, b).get_grouped_opcodes(context))
    if not groups:
        return ""
    for group in groups:
        first, last = group[0], group[-1]
        out.append(f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out.extend(" " + line for line in a[i1:i2])
                continue
            out.extend("-" + line for line in a[i1:i2])
            out.extend("+" + line for line in b[j1:j2])
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)


def _range(start: int, stop: int) -> str:
    """A unified-diff line range, as difflib writes it."""
    length = stop - start
    beginning = start + 1 if length else start
    return str(beginning) if length == 1 else f"{beginning},{length}"


def style_for(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return ""


def render_diff(console: Console, diff: str) -> None:
    """Print a diff; colour only when the console has colour (a terminal, no NO_COLOR)."""
    if not console.is_terminal or console.no_color:
        console.file.write(diff)
        console.file.flush()
        return
    for line in diff.splitlines():
        console.print(Text(line, style=style_for(line)), soft_wrap=True)
