"""Whether a test's context is the thing the test checks, rather than a handle it passes on.

A test of what code does with `context.Background()` (a nil `Done()`, no deadline), a benchmark named
for an uncancellable context, or a context made inside a benchmark's timed loop all change meaning when
the context comes from `t`: such sites are reported, never fixed as safe.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from codemod.gosyntax import ancestors, call_parts, outermost_paren, text

# Words in a test's name that say its subject is the context itself.
_SUBJECT_NAME = re.compile(r"background|cancel|deadline|nil_?done|done_?nil|context_?done", re.IGNORECASE)
_SUBJECT_TODO = re.compile(r"TODO|\btodo\b")
# Assertion callees whose arguments are inspected, not passed on to the code under test.
_ASSERTIONS = frozenset(
    {
        "Equal",
        "NotEqual",
        "Same",
        "NotSame",
        "Nil",
        "NotNil",
        "Exactly",
        "EqualValues",
        "IsType",
        "Implements",
        "Zero",
        "NotZero",
        "True",
        "False",
    }
)
_ASSERTION_PACKAGES = frozenset({"assert", "require"})


def timed_loop(node: Node, owner: Node, bench_name: str) -> Node | None:
    """The `for b.Loop()` / `for i := 0; i < b.N; i++` / `for range b.N` loop around `node`, if any."""
    pattern = re.compile(rf"\b{re.escape(bench_name)}\s*\.\s*(Loop\s*\(\s*\)|N\b)")
    for anc in ancestors(node):
        if anc == owner:
            return None
        if anc.type != "for_statement":
            continue
        body = anc.child_by_field_name("body")
        header = text(anc)[: (body.start_byte - anc.start_byte) if body is not None else None]
        if pattern.search(header):
            return anc
    return None


def subject_name(name: str) -> bool:
    """`TestBackgroundContext`, `BenchmarkNoCancel`: the test is about the context itself."""
    return bool(_SUBJECT_NAME.search(name) or _SUBJECT_TODO.search(name))


def inspection(use: Node) -> str | None:
    """How a read of a context is inspected, or None when it is only passed on."""
    how = _inspected_value(use)
    if how is not None:
        return how
    parent = outermost_paren(use).parent
    if parent is not None and parent.type == "selector_expression":
        method = text(parent.child_by_field_name("field"))
        call = parent.parent
        if method == "Deadline":
            return "its Deadline() is read"
        if method == "Done" and call is not None and call.type == "call_expression":
            if _inspected_value(call) is not None:
                return "its Done() channel is inspected"  # `ctx.Done() == nil`, not a receive
    return None


def _inspected_value(node: Node) -> str | None:
    """`x == y` / `x != y`, or an argument of an assertion: the value itself is what is checked."""
    parent = outermost_paren(node).parent
    if parent is None:
        return None
    if parent.type == "binary_expression" and text(parent.child_by_field_name("operator")) in ("==", "!="):
        return "compared"
    if parent.type == "argument_list" and parent.parent is not None:
        op, name = call_parts(parent.parent)
        base = name[:-1] if name.endswith("f") else name
        if base in _ASSERTIONS and (op in _ASSERTION_PACKAGES or _is_suite_receiver(op)):
            return f"asserted on by {op}.{name}"
    return None


def _is_suite_receiver(op: str) -> bool:
    """`s.Equal(ctx, ...)` inside a testify suite: a one-letter receiver or `suite`/`s.Require()`."""
    return op in ("s", "suite", "s.Require()", "suite.Require()")
