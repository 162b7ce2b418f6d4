"""The `time.Sleep` calls in tests that sleep-then-assert cannot turn into a wait: reported with why."""

from __future__ import annotations

from tree_sitter import Node

from codemod.edits import Finding
from codemod.gosyntax import ancestors, call_parts
from codemod.testscope import test_var
from codemod.transform import FileContext, Transform
from transforms.sleep_then_assert import ASSERT, REQUIRE, following_assertions


class SleepWithoutCondition(Transform):
    """
    What it does
        Reports each `time.Sleep` in a test function that is not followed by an assertion, with
        the reason: a poll loop (`for` with a sleep inside), ordering of async events with no
        checkable state, or a sleep in a goroutine. Sleeps followed by assertions are the business
        of `sleep-then-assert` (which rewrites them or says why not).

    Why
        The guide: a sleep is a guess at how long something takes. Where no condition can be
        checked, the guide asks for a comment saying why the sleep is needed; where one exists,
        `require.Eventually` replaces the guess.

    Leaves alone
        Sleeps inside `synctest` bubbles (the clock is fake), sleeps outside test functions, and
        sleeps whose line or the line above carries a comment (the documented exception).

    Example
        factory.CloseWatches("cell", "poolers")
        time.Sleep(100 * time.Millisecond)       // reported: ordering, no checkable state

    Fix safety
        No fix.
    """

    id = "sleep-without-condition"
    summary = "time.Sleep with no condition to wait for: report, with the reason"
    fixes = False

    def run(self, ctx: FileContext) -> list[Finding]:
        time_pkg = ctx.imports.local_name("time")
        testing_pkg = ctx.imports.local_name("testing")
        if time_pkg is None or testing_pkg is None:
            return []
        packages = {n: p for p in (ASSERT, REQUIRE) if (n := ctx.imports.local_name(p))}
        findings = []
        for node in ctx.nodes("call_expression"):
            if call_parts(node) != (time_pkg, "Sleep"):
                continue
            if test_var(node, testing_pkg) is None or _in_bubble(node) or _documented(ctx.source, node):
                continue
            reason = _reason(node, packages)
            if reason is not None:
                findings.append(ctx.finding(self.id, node, f"time.Sleep without a condition ({reason})"))
        return findings


def _reason(call: Node, packages: dict[str, str]) -> str | None:
    if any(a.type == "for_statement" for a in ancestors(call)):
        return "a poll loop: use require.Eventually with the loop's condition"
    if any(a.type == "go_statement" for a in ancestors(call)):
        return "in a goroutine: make the goroutine signal instead of sleeping"
    statement = call.parent
    if statement is None or statement.type != "expression_statement":
        return None
    if following_assertions(statement, packages):
        return None  # sleep-then-assert's site
    return "orders async events with no checkable state: expose state or document why"


def _in_bubble(call: Node) -> bool:
    return any(
        a.type == "call_expression" and call_parts(a) in (("synctest", "Test"), ("synctest", "Run"))
        for a in ancestors(call)
    )


def _documented(source: bytes, call: Node) -> bool:
    """A comment on the sleep's line or the line above: the guide's documented exception."""
    row = call.start_point[0]
    lines = source.split(b"\n")
    above = lines[row - 1].strip() if row > 0 else b""
    return above.startswith((b"//", b"/*")) or b"//" in lines[row][call.end_point[1] :]
