"""`require.Error(t, err)` with no check of which error: reported, never rewritten."""

from __future__ import annotations

from tree_sitter import Node

from codemod.edits import Finding
from codemod.flow import is_assigned
from codemod.gosyntax import call_arguments, call_parts, text, walk
from codemod.transform import FileContext, Transform

TESTIFY = ("github.com/stretchr/testify/require", "github.com/stretchr/testify/assert")
WEAK = frozenset({"Error", "Errorf"})


class WeakErrorAssertion(Transform):
    """
    What it does
        Reports `require.Error(t, err)` / `assert.Error(t, err)` statements that are not followed by
        a check of which error it is (`ErrorIs`, `ErrorAs`, `ErrorContains`, `EqualError`, a code
        or message check: any next statement that reads the same error).

    Why
        The guide's "Weak Error Assertions": any error passes, so the test can pass for the wrong
        reason (a typo in a query, a closed connection) and hide the bug it was written for.

    Leaves alone
        An `Error` whose next statement inspects the same error, and `Error` used as a condition
        (`if assert.Error(t, err) { ... }`).

    Example
        err := store.Delete(ctx, "missing")
        require.Error(t, err)                    // reported
        require.ErrorIs(t, err, ErrNotFound)     // ...unless this follows

    Fix safety
        No fix: which error is expected is a human decision.
    """

    id = "weak-error-assertion"
    guide_section = "❌ Weak Error Assertions"
    summary = "require.Error without checking which error: report"
    fixes = False

    def run(self, ctx: FileContext) -> list[Finding]:
        packages = {name for path in TESTIFY if (name := ctx.imports.local_name(path))}
        if not packages:
            return []
        findings = []
        calls = sorted(
            (c for operand in packages for name in WEAK for c in ctx.calls(operand, name)),
            key=lambda c: c.start_byte,
        )
        for call in calls:
            node = call.parent
            args = call_arguments(call)
            if node is None or node.type != "expression_statement" or len(args) < 2:
                continue
            operand, name = call_parts(call)
            if _inspected_next(node, text(args[1])):
                continue
            findings.append(
                ctx.finding(
                    self.id,
                    call,
                    f"{operand}.{name} accepts any error: check which one with ErrorIs, ErrorAs or "
                    "ErrorContains",
                )
            )
        return findings


def _inspected_next(statement: Node, error_text: str, lookahead: int = 3) -> bool:
    """Whether one of the next few statements reads the error (`var pgErr ...` may come first)."""
    following = statement.next_named_sibling
    seen = 0
    while following is not None and seen < lookahead:
        if following.type != "comment":
            seen += 1
            if error_text.isidentifier():
                mentions = [n for n in walk(following) if n.type == "identifier" and text(n) == error_text]
                if any(is_assigned(n) for n in mentions):
                    return False  # err gets a new value: later reads are not about this error
                if mentions:
                    return True
            elif error_text in text(following):
                return True
        following = following.next_named_sibling
    return False
