"""parse -> run transforms -> resolve edits -> re-parse check -> format, to a fixpoint.

The engine guards correctness for every transform at once: overlapping fixes are never both applied,
no edit touches a declaration tree-sitter could not parse, a result whose tree gains an error is refused
fix by fix, and gofmt (when present) both formats and re-checks the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from tree_sitter import Tree

from codemod.config import Settings
from codemod.edits import Edit, EditIndex, Finding, Fix, ImportRequest, Safety, splice
from codemod.gofmt import gofmt, gofmt_path
from codemod.gosyntax import broken_ranges, error_count, parse, text, walk
from codemod.imports import ImportsUnavailable, ImportTable, update_imports
from codemod.project import ProjectInfo
from codemod.scope import forget_indexes
from codemod.source import LineIndex, SourceError, SourceText, is_generated, locate
from codemod.suppress import Directive, directives, suppress
from codemod.transform import FileContext, Transform

MAX_ROUNDS = 5


@dataclass
class FileResult:
    path: str
    original: bytes = b""  # raw bytes as read
    new: bytes | None = None  # raw bytes to write; None when nothing changes
    findings: list[Finding] = field(default_factory=list)  # every finding of the first pass
    applied: list[Finding] = field(default_factory=list)
    dropped: list[tuple[Finding, str]] = field(default_factory=list)  # fixes refused, and why
    skipped: str | None = None  # the whole file was skipped, and why
    problem: bool = False  # the skip is a problem to report (not e.g. a generated file)
    unused_ignores: list[Directive] = field(default_factory=list)  # ignore comments that silence nothing
    # Declarations with a syntax error: "line:col: func TestA (lines 10-14)"; they get no fixes.
    unparsed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new is not None and self.new != self.original


def run_transforms(
    path: str,
    body: bytes,
    project: ProjectInfo,
    settings: Settings,
    transforms: Sequence[Transform],
    unused_ignores: list[Directive] | None = None,
    tree: Tree | None = None,
) -> list[Finding]:
    """Findings of every transform, in file order, minus those an ignore directive silences."""
    tree = tree if tree is not None else parse(body)
    forget_indexes()
    ctx = FileContext(path, body, tree, project, settings, ImportTable(tree))
    findings: list[Finding] = []
    lines = LineIndex(body)
    for transform in transforms:
        for finding in transform.run(ctx):
            line, column = lines.locate(finding.start_byte)
            findings.append(replace(finding, line=line, column=column))
    findings.sort(key=lambda f: (f.start_byte, f.transform_id))
    found = directives(body)
    if not found:
        return findings
    kept, used = suppress(findings, found)
    if unused_ignores is not None:
        ran = {t.id for t in transforms} | {"all"}
        unused_ignores.extend(d for d in found if d not in used and d.ids & ran)
    return kept


def apply_fixes(body: bytes, fixes: Sequence[Fix]) -> bytes:
    """Splice the fixes' edits, then let the import manager add and drop what they asked for."""
    edits: list[Edit] = [e for fix in fixes for e in fix.edits]
    out = splice(body, edits)
    adds: list[ImportRequest] = [r for fix in fixes for r in fix.add_imports]
    unused = [p for fix in fixes for p in fix.maybe_unused_imports]
    if adds or unused:
        out = update_imports(out, adds, unused)
    return out


def touches_broken(fix: Fix, broken: list[tuple[int, int]]) -> bool:
    """Whether any edit of `fix` is inside or across a broken range (insertions included)."""
    return any(
        (start <= e.start < end) or (e.start < end and start < e.end)
        for e in fix.edits
        for start, end in broken
    )


def choose_fixes(
    findings: Iterable[Finding], broken: list[tuple[int, int]], allow_unsafe: bool
) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    """Non-overlapping fixes outside broken regions, first come first served."""
    chosen: list[Finding] = []
    dropped: list[tuple[Finding, str]] = []
    taken = EditIndex()
    for finding in findings:
        fix = finding.fix
        if fix is None:
            continue
        if fix.safety is Safety.UNSAFE and not allow_unsafe:
            continue
        if touches_broken(fix, broken):
            dropped.append((finding, "inside a declaration that does not parse"))
            continue
        if taken.overlaps(fix):
            dropped.append((finding, "overlaps another fix"))
            continue
        taken.add(fix)
        chosen.append(finding)
    return chosen, dropped


def guarded_apply(
    body: bytes, chosen: list[Finding], tree: Tree | None = None
) -> tuple[bytes, list[Finding], list[tuple[Finding, str]]]:
    """Apply all chosen fixes; if the tree gains an error, keep only the fixes that do not add one.

    The culprits are found by bisection: a set that applies cleanly is kept whole, a failing one is
    split in halves, so k bad fixes among n cost O(k log n) parses, not n.
    """
    baseline = error_count(tree if tree is not None else parse(body))

    def attempt(findings: list[Finding]) -> bytes | None:
        try:
            out = apply_fixes(body, [f.fix for f in findings if f.fix is not None])
        except (ImportsUnavailable, ValueError):
            return None
        return out if error_count(parse(out)) <= baseline else None

    out = attempt(chosen)
    if out is not None:
        return out, chosen, []
    kept: list[Finding] = []
    dropped: list[tuple[Finding, str]] = []

    def settle(candidates: list[Finding]) -> None:
        if not candidates:
            return
        if attempt([*kept, *candidates]) is not None:
            kept.extend(candidates)
        elif len(candidates) == 1:
            dropped.append((candidates[0], "the result would not parse"))
        else:
            middle = len(candidates) // 2
            settle(candidates[:middle])
            settle(candidates[middle:])

    settle(chosen)
    final = attempt(kept) if kept else body
    return (final if final is not None else body), kept, dropped


def fix_source(
    path: str,
    body: bytes,
    project: ProjectInfo,
    settings: Settings,
    transforms: Sequence[Transform],
    allow_unsafe: bool,
    unused_ignores: list[Directive] | None = None,
    first_tree: Tree | None = None,
) -> tuple[bytes, list[Finding], list[Finding], list[tuple[Finding, str]]]:
    """Run to a fixpoint. Returns (new body, first-pass findings, applied, dropped)."""
    current = body
    first: list[Finding] | None = None
    unused: list[Directive] = []
    applied: list[Finding] = []
    dropped: list[tuple[Finding, str]] = []
    tree = first_tree if first_tree is not None else parse(body)
    for _ in range(MAX_ROUNDS):
        findings = run_transforms(
            path, current, project, settings, transforms, unused if first is None else None, tree
        )
        if first is None:
            first = findings
        broken = broken_ranges(tree)
        chosen, refused = choose_fixes(findings, broken, allow_unsafe)
        if first is findings:
            dropped.extend(refused)
        if not chosen:
            break
        new, kept, failed = guarded_apply(current, chosen, tree)
        dropped.extend(failed)
        if new == current:
            break
        applied.extend(kept)
        current = new
        tree = parse(current)
    if unused_ignores is not None:
        unused_ignores.extend(unused)
    return current, first or [], applied, dropped


def process_source(
    path: str,
    raw: bytes,
    project: ProjectInfo,
    settings: Settings,
    transforms: Sequence[Transform],
    allow_unsafe: bool = False,
    use_gofmt: bool = True,
    analyse_only: bool = False,
) -> FileResult:
    result = FileResult(path=path, original=raw)
    try:
        source = SourceText.from_raw(raw)
    except SourceError as exc:
        result.skipped, result.problem = str(exc), True
        return result
    if is_generated(source.body):
        result.skipped = "generated file (// Code generated ... DO NOT EDIT.)"
        return result
    tree = parse(source.body)
    if tree.root_node.has_error and not any(c.type == "package_clause" for c in tree.root_node.children):
        result.skipped, result.problem = "does not parse as Go", True
        return result
    result.unparsed = unparsed_declarations(tree, source.body)
    if analyse_only:  # check: the findings of one pass, nothing applied
        result.findings = run_transforms(
            path, source.body, project, settings, transforms, result.unused_ignores, tree
        )
        return result
    body, findings, applied, dropped = fix_source(
        path, source.body, project, settings, transforms, allow_unsafe, result.unused_ignores, tree
    )
    result.findings, result.applied, result.dropped = findings, applied, dropped
    if body == source.body:
        return result
    if use_gofmt and gofmt_path() is not None:
        checked = _gofmt_guard(source.body, body)
        if checked is None:
            result.applied = []
            result.dropped.extend((f, "gofmt rejects the result") for f in applied)
            return result
        body = checked
    result.new = source.restore(body)
    return result


def unparsed_declarations(tree: Tree, body: bytes) -> list[str]:
    """Each top-level declaration with an ERROR/MISSING node: where the first error is, and its span."""
    if not tree.root_node.has_error:
        return []
    described = []
    for child in tree.root_node.children:
        if not (child.has_error or child.is_error or child.is_missing):
            continue
        first = next((n for n in walk(child) if n.is_error or n.is_missing), child)
        line, column = locate(body, first.start_byte)
        name = child.child_by_field_name("name")
        kind = {"function_declaration": "func", "method_declaration": "method"}.get(child.type)
        what = f"{kind} {text(name)}" if kind and name is not None else "the declaration"
        start, end = child.start_point.row + 1, child.end_point.row + 1
        span = f"line {start}" if start == end else f"lines {start}-{end}"
        described.append(f"{line}:{column}: {what} ({span})")
    return described


def _gofmt_guard(before: bytes, after: bytes) -> bytes | None:
    """Format `after` if `before` was gofmt-clean; None if gofmt accepts `before` but rejects `after`."""
    formatted_before = gofmt(before)
    formatted_after = gofmt(after)
    if formatted_before is None:
        return after  # gofmt cannot read the input either (newer syntax?): tree-sitter's check stands
    if formatted_after is None:
        return None
    return formatted_after if formatted_before == before else after


@dataclass
class Proposal:
    """The fixes one pass proposes for a file, for a person (or a script) to accept one by one."""

    path: str
    source: SourceText | None
    findings: list[Finding] = field(default_factory=list)  # fixable findings, in file order
    skipped: str | None = None
    problem: bool = False


def propose(
    path: str, raw: bytes, project: ProjectInfo, settings: Settings, transforms: Sequence[Transform]
) -> Proposal:
    """Every fix (safe and unsafe) of a first pass, outside broken regions; nothing is applied."""
    try:
        source = SourceText.from_raw(raw)
    except SourceError as exc:
        return Proposal(path, None, skipped=str(exc), problem=True)
    if is_generated(source.body):
        return Proposal(path, source, skipped="generated file (// Code generated ... DO NOT EDIT.)")
    findings = run_transforms(path, source.body, project, settings, transforms)
    broken = broken_ranges(parse(source.body))
    # Overlapping fixes are all offered; accepting two that overlap keeps the first (see render).
    offered = [f for f in findings if f.fix is not None and not touches_broken(f.fix, broken)]
    return Proposal(path, source, offered)


def render(
    proposal: Proposal, accepted: Sequence[Finding], use_gofmt: bool = True
) -> tuple[bytes, list[tuple[Finding, str]]]:
    """The file's raw bytes with the accepted fixes (and the imports they need), and what was refused."""
    assert proposal.source is not None
    source = proposal.source
    chosen, dropped = choose_fixes(accepted, [], allow_unsafe=True)
    body, kept, failed = guarded_apply(source.body, chosen)
    dropped.extend(failed)
    if body != source.body and use_gofmt and gofmt_path() is not None:
        checked = _gofmt_guard(source.body, body)
        if checked is None:
            return source.raw, [*dropped, *((f, "gofmt rejects the result") for f in kept)]
        body = checked
    return (source.restore(body) if body != source.body else source.raw), dropped
