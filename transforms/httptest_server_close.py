"""`httptest.NewServer(...)` in a test that nothing closes: `t.Cleanup(srv.Close)` right after it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from codemod.callers import call_contexts
from codemod.edits import Edit, Finding, Fix, Safety
from codemod.flow import (
    assignments_to,
    binding_of,
    escape_of,
    is_assigned,
    mentions,
    targets_of,
    testing_handle,
)
from codemod.gosyntax import (
    call_parts,
    comments_around,
    enclosing_functions,
    find,
    is_call_to,
    line_end,
    line_indent,
    outermost_paren,
    parameters,
    text,
    walk,
)
from codemod.scope import declarations, uses_of
from codemod.testscope import Lifetime, TestVar, lifetime_between
from codemod.transform import FileContext, Transform

HTTPTEST = "net/http/httptest"
_CONSTRUCTORS = frozenset({"NewServer", "NewTLSServer", "NewUnstartedServer"})
# A comment that says the server is meant to stay open (not one that merely mentions the server).
_COMMENT_KEEP = re.compile(
    r"(?:left|kept|keep|stays?|remains?)\s+(?:it\s+)?(?:open|running|up)|never\s+closed|not\s+closed|"
    r"(?:don'?t|do\s+not|never)\s+close|closed\s+(?:by|in|later|elsewhere|when|after)|"
    r"outlives?\s+the\s+test|intentional|deliberate|on\s+purpose|shared\s+(?:by|with|across|between)",
    re.IGNORECASE,
)
# Assertion packages and suite methods that only look at a value handed to them.
_LOOKERS = re.compile(r"^(?:require|assert|s|suite)$|\.(?:Require|Assert)\(\)$")


@dataclass(frozen=True)
class _Verdict:
    """What the uses of the server variable allow: a fix (`why` empty), an unsafe fix, or a report."""

    report: str = ""
    unsafe: str = ""


class HttptestServerClose(Transform):
    """
    What it does
        A server made with `httptest.NewServer`, `NewTLSServer` or `NewUnstartedServer` in a test,
        kept in a local variable that nothing closes (no `srv.Close()`, no `defer` or `t.Cleanup`
        that mentions it), gets `t.Cleanup(srv.Close)` on the line after it (`s.T().Cleanup` in a
        testify suite method, `b.Cleanup` in a benchmark).

    Why
        An unclosed httptest server keeps its listener and a goroutine per connection until the test
        binary exits: leak checkers fail, and a long package run collects hundreds of them. The guide
        registers every teardown with `t.Cleanup` right after the setup ("Cleanup Pattern").

    Example
        srv := httptest.NewServer(handler)
        t.Cleanup(srv.Close)                     // added
        resp, err := http.Get(srv.URL)

    Fix safety
        Safe: the close runs when the test ends, after every request the test made has returned, and
        nothing of the test reads the server after that. `NewUnstartedServer` that is never started
        closes fine. Unsafe when the handler written in the test blocks (a sleep, a channel receive,
        a `select`, a `Wait()`): `Close` waits for running handlers, so a handler still blocked at the
        end would hang the test. Unsafe when a helper that takes `t` returns the server: it then
        closes when the test that passed `t` ends, which is what the guide's helpers do, but a caller
        that keeps it for later tests would find it closed.

    Leaves alone
        Servers already closed (`defer srv.Close()`, `t.Cleanup(srv.Close)`, a direct `srv.Close()`,
        a deferred call handed the server). Reported without a fix: a server stored in a struct field,
        a package variable (shared with later tests) or a struct literal, handed to another function,
        copied to another variable, not kept in a variable at all, returned from a helper without a
        testing handle or called from shared setup, made in a goroutine or a closure that may run
        after the test, in `TestMain`, or one a comment says is meant to stay open.
    """

    id = "httptest-server-close"
    summary = "httptest.NewServer never closed: add t.Cleanup(srv.Close)"
    guide_section = "Cleanup Pattern"
    review_hint = (
        "Unsafe fixes: a handler that blocks, or a helper that returns the server; check no caller keeps "
        "the server beyond the test that passed t."
    )

    def run(self, ctx: FileContext) -> list[Finding]:
        httptest = ctx.imports.local_name(HTTPTEST)
        if httptest is None:
            return []
        findings = []
        for call in ctx.nodes("call_expression"):
            if is_call_to(call, httptest, _CONSTRUCTORS):
                finding = self._site(ctx, call)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _site(self, ctx: FileContext, call: Node) -> Finding | None:
        made = f"httptest.{call_parts(call)[1]}"
        functions = enclosing_functions(call)
        if not functions:
            return None  # a package-level server: TestMain's business, not a test's
        binding = binding_of(outermost_paren(call))
        targets = targets_of(binding) if binding is not None else []
        if binding is None or len(targets) != 1:
            return self._report(ctx, call, f"{made} not kept in a variable: nothing can close it")
        target = targets[0]
        if target.type == "selector_expression" and _closed_anywhere(
            ctx, text(target.child_by_field_name("field"))
        ):
            return None  # `s.srv.Close()` in a teardown of the file
        if target.type != "identifier":
            return self._report(
                ctx, call, f"{made} stored in {text(target)}: close it where its owner is torn down"
            )
        name = text(target)
        home = functions[0]
        if name == "_":
            return self._report(ctx, call, f"{made} assigned to _: nothing can close it")
        if not _declared_in(functions, name):
            if _closed_anywhere(ctx, name):
                return None  # closed in TestMain or a teardown of the file
            return self._report(
                ctx, call, f"{made} stored in package variable {name}: later tests may share it"
            )
        if _closed(home, name):
            return None
        statement = binding.parent if binding.type == "var_spec" else binding
        statement = (
            statement.parent if statement is not None and statement.type == "var_spec_list" else statement
        )
        if statement is None or statement.parent is None or statement.parent.type != "statement_list":
            return self._report(ctx, call, f"{made} bound inside another statement: close it by hand")
        if any(_COMMENT_KEEP.search(text(c)) for c in comments_around(statement)):
            return self._report(ctx, call, f"{name} not closed: a comment says it stays open")
        tvar = testing_handle(call, ctx.path, ctx.source, ctx.imports.local_name("testing"))
        if tvar is None:
            return self._report(ctx, call, f"{name} not closed, and no testing handle here to close it with")
        life = lifetime_between(call, tvar.owner)
        if life is not Lifetime.SYNC:
            return self._report(
                ctx, call, f"{name} not closed; made in a closure that may run after the test"
            )
        verdict = _uses(ctx, home, name, binding, tvar)
        if verdict.report:
            return self._report(ctx, call, f"{name} not closed; {verdict.report}")
        blocking = _blocking_handler(call, home)
        unsafe = verdict.unsafe or (
            f"the handler {blocking}: Close waits for running handlers, so one still blocked when the "
            "test ends would hang it"
            if blocking
            else ""
        )
        indent = line_indent(ctx.source, statement.start_byte)
        at = line_end(ctx.source, statement.end_byte)
        fix = Fix(
            (Edit(at, at, f"{indent}{tvar.name}.Cleanup({name}.Close)\n"),),
            Safety.UNSAFE if unsafe else Safety.SAFE,
            unsafe or "the close runs when the test ends, after every request the test made has returned",
        )
        return ctx.finding(self.id, call, f"{name} is never closed: close it when the test ends", fix)

    def _report(self, ctx: FileContext, call: Node, message: str) -> Finding:
        return ctx.finding(self.id, call, message)


def _declared_in(functions: list[Node], name: str) -> bool:
    """`name` is a local, a parameter or a named result of one of the functions around the site."""
    for func in functions:
        if any(p.name == name for p in parameters(func)):
            return True
        result = func.child_by_field_name("result")
        if result is not None and result.type == "parameter_list" and mentions(result, name):
            return True
        body = func.child_by_field_name("body")
        if body is not None and any(True for _ in declarations(body, name)):
            return True
    return False


def _closed_anywhere(ctx: FileContext, name: str) -> bool:
    """`<...>.name.Close` or `name.Close` somewhere in the file (a field or package variable's teardown)."""
    for node in ctx.nodes("selector_expression"):
        if text(node.child_by_field_name("field")) != "Close":
            continue
        operand = node.child_by_field_name("operand")
        inner = operand.child_by_field_name("field") if operand is not None else None
        if text(operand) == name or (inner is not None and text(inner) == name):
            return True
    return False


def _closed(home: Node, name: str) -> bool:
    """`name.Close` anywhere (called, deferred or handed to t.Cleanup), or a deferred call or a
    cleanup that mentions the server (a helper that closes it)."""
    for node in walk(home):
        if node.type == "selector_expression":
            operand, field = node.child_by_field_name("operand"), node.child_by_field_name("field")
            if text(operand) == name and text(field) == "Close":
                return True
        if node.type == "defer_statement" or (
            node.type == "call_expression" and call_parts(node)[1] == "Cleanup"
        ):
            if mentions(node, name):
                return True
    return False


def _uses(ctx: FileContext, home: Node, name: str, binding: Node, tvar: TestVar) -> _Verdict:
    """Where the server goes after it is made: methods and fields of it stay in the test; returned
    is an unsafe fix in a helper with a testing handle; stored or handed on is a report."""
    returned = False
    for use in uses_of(home, name, binding.end_byte):
        parent = use.parent
        if parent is None:
            continue
        if parent.type == "selector_expression" and parent.child_by_field_name("operand") == use:
            continue  # srv.URL, srv.Client(), srv.Start()
        if is_assigned(use):
            continue  # a new server for the same variable: judged at its own constructor
        escape = escape_of(use, home)
        if escape == "returned":
            returned = True
            continue
        if escape.startswith("stored"):
            return _Verdict(report=f"{escape}: close it where its owner is torn down")
        if escape:
            continue  # read in a goroutine: the test's own request, which ends with the test
        holder = outermost_paren(use).parent
        if holder is not None and holder.type == "argument_list" and holder.parent is not None:
            operand, callee = call_parts(holder.parent)
            if _LOOKERS.search(operand):
                continue
            return _Verdict(report=f"handed to {operand + '.' if operand else ''}{callee}, which may keep it")
        if holder is not None and holder.type in ("literal_element", "expression_list"):
            return _Verdict(report=f"kept in {_kept_in(holder)}: close it where that is torn down")
    if not returned:
        return _Verdict()
    top = enclosing_functions(home)[-1] if enclosing_functions(home) else home
    helper = text(top.child_by_field_name("name"))
    shared = call_contexts(ctx.path, ctx.tree)
    if helper in shared.shared or helper in shared.cleanup:
        return _Verdict(report=f"returned by {helper}, which shared setup or a cleanup calls")
    return _Verdict(
        unsafe=f"returned to the caller: it closes when the test that passed {tvar.name} ends; check no "
        "caller keeps it for later tests"
    )


def _kept_in(holder: Node) -> str:
    if holder.type == "literal_element":
        return "a composite literal"
    statement = holder.parent
    return "another variable" if statement is not None and statement.type != "return_statement" else "a value"


_BLOCKING_CALLS = {"Sleep": "sleeps", "Wait": "waits"}


def _blocking_handler(call: Node, home: Node) -> str:
    """How a handler written in this function blocks (sleep, receive, select, Wait), or ""."""
    args = call.child_by_field_name("arguments")
    if args is None:
        return ""
    sources: list[Node] = [args]
    for name in {text(n) for n in find(args, "identifier")}:
        sources.extend(value for _, value in assignments_to(home, name))
    for source in sources:
        for literal in find(source, "func_literal"):
            for node in walk(literal):
                if node.type == "select_statement":
                    return "waits in a select"
                if node.type == "unary_expression" and text(node).startswith("<-"):
                    return "waits on a channel"
                if node.type == "call_expression" and call_parts(node)[1] in ("Sleep", "Wait"):
                    return _BLOCKING_CALLS[call_parts(node)[1]]
    return ""
