"""`exec.Command(...)` + `Start()` in a test with no cleanup for the process: reported."""

from __future__ import annotations

from tree_sitter import Node

from codemod.edits import Finding
from codemod.flow import assignments_to, mentions
from codemod.gosyntax import (
    call_arguments,
    call_parts,
    enclosing_functions,
    parameters,
    testing_kind,
    text,
    walk,
)
from codemod.transform import FileContext, Transform

_TEST_CONTEXT_MARKS = (".Context()", "WithTimeout(", "WithShortDeadline(")


class ProcessWithoutCleanup(Transform):
    """
    What it does
        Reports a process started in a test (`cmd := exec.Command(...)`, then `cmd.Start()`) when
        the same function registers no cleanup for it: no `t.Cleanup` or `defer` that mentions
        `cmd`, no `cmd.Wait()`, and no test-derived context in `exec.CommandContext`.

    Why
        The guide's "Forgetting Process Cleanup": a test that fails (or is interrupted) before it
        stops its child leaves a postgres or etcd running, and the next run fails on its port or
        data directory.

    Leaves alone
        Processes that are waited for, killed in a `defer`, handed to `t.Cleanup`, or started with
        `exec.CommandContext(t.Context(), ...)` (or a helper context derived from t).

    Example
        cmd := exec.Command("postgres", "-D", dir)
        require.NoError(t, cmd.Start())          // reported: add t.Cleanup(func() { ... cmd.Process ... })

    Fix safety
        No fix: how to stop the process (signal, grace period, wait) is the test author's call.
    """

    id = "process-without-cleanup"
    guide_section = "❌ Forgetting Process Cleanup"
    summary = "exec.Command started in a test without t.Cleanup: report"
    fixes = False

    def run(self, ctx: FileContext) -> list[Finding]:
        exec_pkg = ctx.imports.local_name("os/exec")
        testing_pkg = ctx.imports.local_name("testing")
        if exec_pkg is None or testing_pkg is None:
            return []
        findings = []
        for node in ctx.nodes("call_expression"):
            operand, name = call_parts(node)
            if operand and name == "Start" and not call_arguments(node):
                finding = self._start(ctx, node, operand, exec_pkg, testing_pkg)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _start(
        self, ctx: FileContext, start: Node, cmd: str, exec_pkg: str, testing_pkg: str
    ) -> Finding | None:
        functions = enclosing_functions(start)
        owner = next(
            (f for f in functions if any(testing_kind(p.type_node, testing_pkg) for p in parameters(f))), None
        )
        if owner is None or not cmd.isidentifier():
            return None
        creation = _creation(owner, cmd, exec_pkg)
        if creation is None:
            return None  # not an exec.Cmd made here
        if _cleaned_up(owner, cmd) or any(mark in text(creation) for mark in _TEST_CONTEXT_MARKS):
            return None
        if _commented_above(ctx.source, creation):
            return None  # a comment explains the process's lifetime: the documented exception
        return ctx.finding(
            self.id,
            start,
            f"{cmd}.Start() with no t.Cleanup for the process: register one right after starting it",
        )


def _creation(owner: Node, cmd: str, exec_pkg: str) -> Node | None:
    for _, value in assignments_to(owner, cmd):
        if value.type == "call_expression":
            operand, name = call_parts(value)
            if operand == exec_pkg and name in ("Command", "CommandContext"):
                return value
    return None


def _cleaned_up(owner: Node, cmd: str) -> bool:
    for node in walk(owner):
        if node.type == "defer_statement" and mentions(node, cmd):
            return True
        if node.type == "call_expression":
            operand, name = call_parts(node)
            if name == "Cleanup" and mentions(node, cmd):
                return True
            if operand == cmd and name in ("Wait", "Run", "Output", "CombinedOutput"):
                return True
    return False


def _commented_above(source: bytes, node: Node) -> bool:
    row = node.start_point[0]
    lines = source.split(b"\n")
    return any(lines[r].strip().startswith(b"//") for r in range(max(0, row - 3), row))
