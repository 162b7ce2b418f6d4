"""What the transforms that hand process state to the test (env vars, working directory, temporary
directories: `os-setenv`, `os-chdir`, `os-mkdirtemp`) ask alike: which test handle a call would use,
whether a function's end is its test's end, and how a statement leaves the file whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from codemod.edits import Edit
from codemod.gosyntax import (
    call_arguments,
    call_parts,
    enclosing_functions,
    is_inside,
    line_end,
    line_start,
    parameters,
    testing_kind,
    text,
)
from codemod.suites import suite_method, suite_test_var, suite_types
from codemod.testscope import TestVar, test_var
from codemod.transform import FileContext


@dataclass(frozen=True)
class Handle:
    """The test a call would hand its state to, or why there is none to use."""

    tvar: TestVar | None
    problem: str = ""  # set when a testing parameter is there but cannot be used
    suite: bool = False


def handle_at(ctx: FileContext, node: Node, suites: frozenset[str] | None = None) -> Handle:
    """The innermost testing handle at `node`: a parameter (`t`, `tt`, `b`, `tb`, the `t.Run`
    closure's own) or, in a testify suite method, `s.T()`. A testing parameter named `_` (or not
    named) between `node` and the handle is a problem: the outer handle is another test's."""
    testing_pkg = ctx.imports.local_name("testing")
    tvar = test_var(node, testing_pkg)
    for func in enclosing_functions(node):
        if tvar is not None and func == tvar.owner:
            break
        for param in parameters(func):
            if (
                testing_pkg is not None
                and testing_kind(param.type_node, testing_pkg)
                and param.name in ("", "_")
            ):
                return Handle(None, "its testing parameter has no name: name it")
    if tvar is not None:
        return Handle(tvar)
    if suites is None:
        suites = suite_types(ctx.path, ctx.source)
    found = suite_method(node, suites) if suites else None
    if found is None:
        return Handle(None)
    if found[1] in ("", "_"):
        return Handle(None, "the suite method's receiver has no name: name it")
    suite_var = suite_test_var(node, found)
    if suite_var is None:
        return Handle(None, f"{found[1]} is shadowed here")
    return Handle(suite_var, suite=True)


def is_test_body(func: Node, tvar: TestVar) -> bool:
    """Whether `func` returning is its test ending: a `Test`/`Benchmark`/`Fuzz` function, a
    `t.Run`/`b.Run` closure, or a testify suite's `Test` method. A helper that takes `t`, or a
    closure called in place, returns while its test goes on."""
    if func != tvar.owner:
        return False
    name = text(func.child_by_field_name("name"))
    if func.type == "function_declaration":
        return name.startswith(("Test", "Benchmark", "Fuzz")) and tvar.name.isidentifier()
    if func.type == "method_declaration":
        return name.startswith("Test") and tvar.name.endswith(".T()")
    args = func.parent
    call = args.parent if args is not None else None
    return (
        call is not None
        and call.type == "call_expression"
        and call_parts(call)[1] == "Run"
        and call_arguments(call)[-1:] == [func]
    )


def in_timed_loop(node: Node, tvar: TestVar) -> bool:
    """Inside `for i := 0; i < b.N; i++` or `for b.Loop()` of a benchmark's own body."""
    if tvar.kind != "B":
        return False
    current = node.parent
    while current is not None and current != tvar.owner:
        if current.type == "for_statement":
            header = text(current).split("{", 1)[0]
            if f"{tvar.name}.N" in header or f"{tvar.name}.Loop()" in header:
                return True
        current = current.parent
    return False


@dataclass(frozen=True)
class UndoWording:
    """How one transform names its undo in `undo_problem`'s reasons."""

    noun: str  # "the restore"
    done: str  # "restored"
    later: str  # what a later subtest loses; may name the enclosing test as {name}
    elsewhere: str  # the reason when the undo sits in another function


def undo_problem(undo_owner: Node, deferred: bool, handle: Handle, wording: UndoWording) -> str:
    """Whether a hand-written undo (a restore, a change back) ends with the handle's test: "" when it
    does, "unsafe:why" when it ends with each subtest instead, else why the tool cannot tell."""
    assert handle.tvar is not None
    owner = handle.tvar.owner
    if undo_owner == owner:
        if not deferred or is_test_body(owner, handle.tvar):
            return ""
        name = text(owner.child_by_field_name("name")) or "its closure"
        return f"{wording.noun} is deferred in {name}, which returns before its test ends"
    if is_inside(owner, undo_owner) and is_test_body(owner, handle.tvar):
        name = text(undo_owner.child_by_field_name("name")) or "the enclosing test"
        return (
            f"unsafe:{wording.done} when each subtest ends instead of when {name} ends: "
            + wording.later.format(name=name)
        )
    return wording.elsewhere


def line_of(source: bytes, statement: Node) -> tuple[int, int] | None:
    """The byte range of the whole lines `statement` fills alone, or None when it shares a line."""
    start, end = line_start(source, statement.start_byte), line_end(source, statement.end_byte)
    if source[start : statement.start_byte].strip() or source[statement.end_byte : end].strip():
        return None
    return start, end


def deletion(source: bytes, statement: Node) -> Edit | None:
    """An edit that deletes `statement`'s whole lines, or None when the statement shares a line.
    Pass a fix's edits through `tidy` to drop the blank lines deletions leave behind."""
    lines = line_of(source, statement)
    return None if lines is None else Edit(lines[0], lines[1], "")


def tidy(source: bytes, edits: list[Edit]) -> list[Edit]:
    """Merge touching deletions, and let each merged one take a blank line it would leave right
    after a `{`, a comment or another blank line (gofmt keeps them all)."""
    ordered = sorted(set(edits), key=lambda e: (e.start, e.end))  # one deletion asked for twice is one
    merged: list[Edit] = []
    for edit in ordered:
        last = merged[-1] if merged else None
        if last is not None and not last.text and not edit.text and last.end == edit.start:
            merged[-1] = Edit(last.start, edit.end, "")
        else:
            merged.append(edit)
    out = []
    for edit in merged:
        if edit.text or edit.start == edit.end or source[edit.end - 1 : edit.end] != b"\n":
            out.append(edit)
            continue
        before = source[line_start(source, max(edit.start - 1, 0)) : edit.start].strip()
        after = source[edit.end : line_end(source, edit.end)]
        # A comment that stood above the deleted lines keeps to the code that follows them.
        opens = not before or before.endswith(b"{") or before.startswith(b"//")
        if after and not after.strip() and opens:
            edit = Edit(edit.start, line_end(source, edit.end), "")
        elif after.strip().startswith(b"}") and not before and edit.start > 0:
            edit = Edit(line_start(source, edit.start - 1), edit.end, "")  # no blank line before the `}`
        out.append(edit)
    return out
