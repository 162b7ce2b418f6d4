"""The `time.Sleep` calls in tests that sleep-then-assert cannot turn into a wait: reported with why."""

from __future__ import annotations

import re

from tree_sitter import Node

from codemod.edits import Finding
from codemod.gosyntax import ancestors, call_arguments, call_parts, comments_around, find, text
from codemod.testscope import Lifetime, lifetime_between, test_var
from codemod.transform import FileContext, Transform
from transforms.sleep_then_assert import ASSERT, REQUIRE, TIME_SUBJECT, following_assertions, in_bubble


class SleepWithoutCondition(Transform):
    """
    What it does
        Reports each `time.Sleep` in a test function that is not followed by an assertion, with
        the reason: a poll loop (a `for` of the same function with a condition, or a `break` or
        `return` inside), a loop that repeats the sleep, ordering of async events with no checkable
        state, or a sleep in a goroutine. A table-driven `for` around a `t.Run` closure is not a
        loop of the sleep. Sleeps followed by assertions are the business of `sleep-then-assert`
        (which rewrites them or says why not): each sleep gets one verdict.

    Why
        The guide: a sleep is a guess at how long something takes. Where no condition can be
        checked, the guide asks for a comment saying why the sleep is needed; where one exists,
        `require.Eventually` replaces the guess.

    Leaves alone
        Sleeps inside `synctest` bubbles (the clock is fake) and sleeps outside test functions.
        A comment that only describes the wait ("wait for responses") is the anti-pattern, not an
        excuse; one that says why no condition can be checked (the guide's documented exception)
        is named in the report, which says the sleep is kept.

    Example
        factory.CloseWatches("cell", "poolers")
        time.Sleep(100 * time.Millisecond)       // reported: ordering, no checkable state

    Fix safety
        No fix.
    """

    id = "sleep-without-condition"
    guide_section = "❌ Using time.Sleep() Instead of require.Eventually()"
    summary = "time.Sleep with no condition to wait for: report, with the reason"
    fixes = False

    def run(self, ctx: FileContext) -> list[Finding]:
        time_pkg = ctx.imports.local_name("time")
        testing_pkg = ctx.imports.local_name("testing")
        if time_pkg is None or testing_pkg is None:
            return []
        packages = {n: p for p in (ASSERT, REQUIRE) if (n := ctx.imports.local_name(p))}
        findings = []
        for node in ctx.calls(time_pkg, "Sleep"):
            tvar = test_var(node, testing_pkg)
            if tvar is None or in_bubble(node):
                continue
            reason = _reason(node, packages, lifetime_between(node, tvar.owner) is Lifetime.GOROUTINE)
            if reason is None:
                continue
            comments = [text(c) for c in comments_around(node.parent or node)]
            if _time_under_test(node, comments):
                reason = "the sleep is the time under test (a timeout, expiry or interval); kept, review it"
            elif any(_JUSTIFIES.search(c) for c in comments):
                # A comment on the sleep's line or in the block right above it says why it must stay.
                reason = "a comment says why no condition can be checked; kept, review it"
            findings.append(ctx.finding(self.id, node, f"time.Sleep without a condition ({reason})"))
        return findings


def _reason(call: Node, packages: dict[str, str], in_goroutine: bool) -> str | None:
    statement = call.parent
    if statement is not None and statement.type == "expression_statement":
        if following_assertions(statement, packages):
            return None  # sleep-then-assert's site: one verdict per sleep
    loop = _own_loop(call)
    if loop is not None:
        if _polls(loop):
            return "a poll loop: use require.Eventually with the loop's condition"
        return "repeated in a loop with nothing checked after it: wait for a condition or document why"
    if in_goroutine:
        return "in a goroutine: make the goroutine signal instead of sleeping"
    if statement is None or statement.type != "expression_statement":
        return None
    check = _project_check_after(statement)
    if check is not None:
        return (
            f"followed by {check}: wait for that condition with require.Eventually, or, if it checks "
            "that nothing happened, use require.Never"
        )
    return "orders async events with no checkable state: expose state or document why"


# A project's own assertion helpers (`checkExpectedCount(2)`, `require_True(t, ...)`, `waitForX`).
_PROJECT_CHECK = re.compile(r"^(?:check|verify|expect|assert|require|must|ensure)", re.IGNORECASE)


def _project_check_after(statement: Node) -> str | None:
    """The call right after the sleep, when it is a check the sleep gives time to become true."""
    following = statement.next_named_sibling
    while following is not None and following.type == "comment":
        following = following.next_named_sibling
    if following is None or following.type != "expression_statement" or not following.named_children:
        return None
    call = following.named_children[0]
    if call.type != "call_expression":
        return None
    _, name = call_parts(call)
    return f"{name}(...)" if name and _PROJECT_CHECK.match(name) else None


def _own_ancestors(node: Node) -> list[Node]:
    """Ancestors up to the innermost function: a table-driven loop around a t.Run closure is not ours."""
    found = []
    for anc in ancestors(node):
        if anc.type in ("func_literal", "function_declaration", "method_declaration"):
            break
        found.append(anc)
    return found


def _own_loop(call: Node) -> Node | None:
    return next((a for a in _own_ancestors(call) if a.type == "for_statement"), None)


def _polls(loop: Node) -> bool:
    """A loop that waits for something: `for !ready()`, or a `break`/`return` that ends the wait."""
    body = loop.child_by_field_name("body")
    if body is not None and find(body, "break_statement", "return_statement"):
        return True  # `for range 20 { if done() { return }; sleep }`: a bounded poll
    header = [c for c in loop.named_children if c != body]
    for clause in header:
        if clause.type == "range_clause":
            return False  # iterates over data (or a count): repetition, not a wait
        if clause.type == "for_clause":
            condition = clause.child_by_field_name("condition")
            if condition is None or not _counter(condition, clause):
                return True
        elif clause.type != "comment":
            return True  # `for cond {`
    return body is not None and any(
        n.type in ("break_statement", "return_statement")
        for n in find(body, "break_statement", "return_statement")
    )


def _counter(condition: Node, clause: Node) -> bool:
    """`i < n` where the clause's update steps `i`: a fixed number of repetitions."""
    update = clause.child_by_field_name("update")
    left = condition.child_by_field_name("left")
    return update is not None and left is not None and text(left) in text(update)


# A comment that says why no state can be checked, not one that only describes the wait.
_JUSTIFIES = re.compile(
    r"no\s+(?:checkable|observable|other)?\s*(?:state|signal|hook|event|way|api|condition|callback)|"
    r"nothing\s+to\s+(?:poll|wait|check|observe)|can(?:not|'t|\s+not)\s+(?:be\s+)?(?:observ|check|detect|poll|"
    r"wait|know|see|tell)|not\s+observable|unobservable|intentional|deliberate|on\s+purpose|simulat|"
    r"clock|timestamp|mtime|granularity|resolution|different\s+time|let\s+time\s+pass|real\s+time\s+pass|"
    r"must\s+(?:really\s+)?(?:elapse|pass)|on\s+its\s+own\s+schedule|timing[- ]dependent|by\s+design|"
    r"trigger|force\s+(?:a\s+)?delay|wait\s+out",
    re.IGNORECASE,
)


def _time_under_test(call: Node, comments: list[str]) -> bool:
    """`time.Sleep(authTimeout * 2)`, or a comment naming an expiry: the wait is what the test checks."""
    return any(TIME_SUBJECT.search(chunk) for chunk in [*(text(a) for a in call_arguments(call)), *comments])
