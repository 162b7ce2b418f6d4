"""`//codemod:ignore <id>[,<id>...]` (or `all`) on a finding's line or the line above silences it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

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
