"""`//codemod:ignore <id>[,<id>...]` (or `all`) on a finding's line or the line above silences it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from tree_sitter import Node, Tree

from codemod.edits import Finding

_DIRECTIVE = re.compile(rb"//\s*codemod:ignore\b[ \t]*([\w, \t-]*)")


@dataclass(frozen=True)
class Directive:
    line: int  # 1-based
    column: int  # 1-based
    ids: frozenset[str]  # {"all"} silences every transform

    def covers(self, finding: Finding) -> bool:
        if finding.line not in (self.line, self.line + 1):
            return False
        return "all" in self.ids or finding.transform_id in self.ids


def directives(body: bytes) -> list[Directive]:
    if b"codemod:ignore" not in body:
        return []
    found = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        match = _DIRECTIVE.search(line)
        if match is None:
            continue
        ids = frozenset(i for i in re.split(r"[\s,]+", match.group(1).decode()) if i) or frozenset({"all"})
        found.append(Directive(number, match.start() + 1, ids))
    return found


def suppress(findings: Iterable[Finding], found: list[Directive]) -> tuple[list[Finding], set[Directive]]:
    """The findings no directive covers, and the directives that covered something."""
    kept: list[Finding] = []
    used: set[Directive] = set()
    for finding in findings:
        covering = [d for d in found if d.covers(finding)]
        if covering:
            used.update(covering)
        else:
            kept.append(finding)
    return kept, used


def unknown_ids(directive: Directive, known: Collection[str]) -> str | None:
    """What is wrong with a directive's ids, if any names no transform: `test-contxt: unknown ...`."""
    unknown = sorted(directive.ids - set(known) - {"all"})
    if not unknown:
        return None
    described = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(known), n=1)
        described.append(f"{name} (did you mean {close[0]}?)" if close else name)
    noun = "id" if len(unknown) == 1 else "ids"
    return f"{', '.join(described)}: unknown transform {noun}, so it silences nothing (see codemod list)"


IGNORE = "//codemod:ignore"
# A directive and its ids (`//codemod:ignore a,b` or `a, b`), to add one after the last.
_DIRECTIVE_IDS = re.compile(rb"//\s*codemod:ignore\b[ \t]*[\w-]+(?:[ \t]*,[ \t]*[\w-]+)*")
_STRINGS = frozenset({"raw_string_literal", "interpreted_string_literal"})


def with_ignores(body: bytes, tree: Tree, findings: Iterable[Finding]) -> tuple[bytes, list[Finding]]:
    """`body` with an ignore comment silencing each finding (ruff's --add-noqa), and the findings that
    could not get one. The ids of one line share one directive: a new `//codemod:ignore a,b` line above
    (indented like the line), or the ids added to a directive already on the line above (a new line in
    between would move that directive off the line it silences). A line that starts inside a multi-line
    string cannot take a comment above it: its findings are returned."""
    existing = {d.line: d for d in directives(body)}
    by_line: dict[int, list[Finding]] = {}
    for finding in findings:
        by_line.setdefault(finding.line, []).append(finding)
    inserts: list[tuple[int, bytes]] = []
    refused: list[Finding] = []
    for line, found in sorted(by_line.items()):
        start = body.rfind(b"\n", 0, found[0].start_byte) + 1
        ids = sorted({f.transform_id for f in found})
        above = existing.get(line - 1)
        if above is not None:
            previous = body.rfind(b"\n", 0, max(start - 1, 0)) + 1
            match = _DIRECTIVE_IDS.match(body, previous + above.column - 1)
            if match is not None:
                missing = [i for i in ids if i not in above.ids]
                inserts.append((match.end(), "".join(f",{i}" for i in missing).encode()))
                continue
        if _inside_string(tree, start):
            refused.extend(found)
            continue
        text = body[start : found[0].start_byte]
        indent = text[: len(text) - len(text.lstrip(b" \t"))]
        inserts.append((start, indent + f"{IGNORE} {','.join(ids)}\n".encode()))
    out = body
    for at, insert in sorted(inserts, reverse=True):
        out = out[:at] + insert + out[at:]
    return out, refused


def _inside_string(tree: Tree, offset: int) -> bool:
    node: Node | None = tree.root_node.descendant_for_byte_range(offset, offset)
    while node is not None:
        if node.type in _STRINGS and node.start_byte < offset:
            return True
        node = node.parent
    return False
