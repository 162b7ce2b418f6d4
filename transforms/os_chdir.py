"""`os.Chdir` in a test with a deferred change back becomes `t.Chdir` (Go 1.24); the change back goes."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from codemod.edits import Edit, Finding, Fix, Safety
from codemod.flow import (
    binding_of,
    calls_parallel,
    dead_after,
    declared_before,
    error_only_statements,
    fails_on,
    next_statement,
    targets_of,
    values_of,
)
from codemod.gosyntax import (
    ancestors,
    call_arguments,
    call_parts,
    enclosing_functions,
    find,
    is_inside,
    parameters,
    text,
    unparen,
)
from codemod.processstate import (
    Handle,
    UndoWording,
    deletion,
    handle_at,
    in_timed_loop,
    tidy,
    undo_problem,
)
from codemod.scope import uses_of
from codemod.suites import suite_types
from codemod.testscope import Lifetime, lifetime_between
from codemod.transform import FileContext, Transform


@dataclass(frozen=True)
class ChangeBack:
    """A `defer` or `t.Cleanup` whose only job is `os.Chdir(wd)`, `wd` from `os.Getwd()`."""

    statement: Node
    deferred: bool
    saved: str  # the variable holding the old directory

    @property
    def owner(self) -> Node:
        return enclosing_functions(self.statement)[0]


class OsChdir(Transform):
    """
    What it does
        Rewrites `os.Chdir(dir)` in a test to `t.Chdir(dir)` (`b`, `tb`, the `t.Run` closure's own
        `t`, `s.T()` in suite methods) when the test changes back by hand: `wd, err := os.Getwd()`
        and `defer os.Chdir(wd)` (or a `defer func() {...}()` / `t.Cleanup(func() {...})` that only
        does that). The change back goes, and so does the `os.Getwd()` (with its error check) when
        nothing else reads `wd`. `require.NoError(t, os.Chdir(dir))` and the other error checks
        that only fail the test go with the call.

    Why
        The guide's "Reliable Testing": the working directory is process state, and a test that
        fails before it changes back leaves every later test of the package in the wrong
        directory. `t.Chdir` changes back in a cleanup, whatever way the test ends, and refuses to
        run in a parallel test.

    Example
        wd, err := os.Getwd()                    // (removed)
        require.NoError(t, err)                  // (removed)
        defer os.Chdir(wd)                       // (removed)
        require.NoError(t, os.Chdir(dir))        // t.Chdir(dir)

    Fix safety
        Safe when the change back was registered in the function that changes directory and that
        function's end is its test's end, or was a `t.Cleanup`: `t.Chdir` changes back in a
        cleanup, after the test's deferred calls (it also sets PWD while the test runs). Unsafe: a
        deferred call registered before the change back (it ran in the old directory and now runs
        in the new one), no change back at all (the directory no longer leaks into later tests),
        and a change in a subtest undone by its parent.

    Leaves alone
        Reported: Go < 1.24 modules (with the version needed), tests that call `t.Parallel()`
        (itself or an enclosing test: `t.Chdir` panics there), changes in goroutines, cleanups,
        deferred calls, closures handed to other code and benchmark timed loops, an error that is
        used, a change back deferred in a helper. Not reported: functions without a testing handle.
    """

    id = "os-chdir"
    summary = "os.Chdir in a test with a deferred change back: t.Chdir"
    # The guide has no section on the working directory; "Reliable Testing" asks that a test undo
    # what it changes however it ends, which t.Chdir guarantees.
    guide_section = "2. Reliable Testing"
    review_hint = "look at deferred calls that use relative paths: they now run before the change back."
    min_go = (1, 24)

    def run(self, ctx: FileContext) -> list[Finding]:
        os_pkg = ctx.imports.local_name("os")
        if os_pkg is None:
            return []
        by_top: dict[int, tuple[Node, list[Node]]] = {}
        for call in ctx.nodes("call_expression"):
            if call_parts(call) != (os_pkg, "Chdir") or len(call_arguments(call)) != 1:
                continue
            functions = enclosing_functions(call)
            if functions:
                by_top.setdefault(functions[-1].start_byte, (functions[-1], []))[1].append(call)
        if not by_top:
            return []
        suites = suite_types(ctx.path, ctx.source) if b"testify/suite" in ctx.source else frozenset()
        findings: list[Finding] = []
        for top, calls in by_top.values():
            findings.extend(self._function(ctx, top, calls, os_pkg, suites))
        return findings

    def _function(
        self, ctx: FileContext, top: Node, calls: list[Node], os_pkg: str, suites: frozenset[str]
    ) -> list[Finding]:
        backs = [b for b in (_change_back(c, os_pkg) for c in calls) if b is not None]
        sites = [c for c in calls if not any(is_inside(c, b.statement) for b in backs)]
        handles = [handle_at(ctx, site, suites) for site in sites]
        if not sites or any(h.tvar is None and not h.problem for h in handles):
            return []  # no test handle somewhere (TestMain, a helper without t): leave it
        bad = [(s, why) for s, h in zip(sites, handles, strict=True) if (why := self._problem(ctx, s, h))]
        unsafe: list[str] = []
        edits: list[Edit] = []
        if not bad:
            for site, handle in zip(sites, handles, strict=True):
                assert handle.tvar is not None
                back = next((b for f in enclosing_functions(site) for b in backs if b.owner == f), None)
                if back is None:
                    unsafe.append(
                        f"nothing changes back today: {handle.tvar.name}.Chdir changes back when the test "
                        "ends, so what runs after the test no longer starts in this directory"
                    )
                else:
                    why = undo_problem(back.owner, back.deferred, handle, _WORDING)
                    if why.startswith("unsafe:"):
                        unsafe.append(why.removeprefix("unsafe:"))
                    elif why:
                        bad.append((site, why))
                statements = error_only_statements(site)
                assert statements is not None
                edits.extend(_rewrite(ctx, site, statements, handle.tvar.name, bad))
            for back in backs:
                edits.extend(_remove_back(ctx, back, backs, bad, sites[0]))
                unsafe.extend(_earlier_defers(back))
        if bad:
            return [
                ctx.finding(self.id, s, f"{text(s.child_by_field_name('function'))} in a test left: {why}")
                for s, why in bad
            ]
        name = handles[0].tvar.name if handles[0].tvar is not None else "t"
        reason = (
            f"{name}.Chdir changes back in a cleanup, as the t.Cleanup did"
            if not any(b.deferred for b in backs)
            else f"{name}.Chdir changes back when the test ends, as the deferred change back did; cleanups "
            "run after deferred calls, and no deferred call ran after the change back"
        ) + "; it also sets PWD while the test runs"
        fix = Fix(
            tuple(tidy(ctx.source, edits)),
            Safety.UNSAFE if unsafe else Safety.SAFE,
            unsafe[0] if unsafe else reason,
            maybe_unused_imports=("os",),
        )
        called = text(sites[0].child_by_field_name("function"))
        message = f"{called} in a test: use {name}.Chdir, which changes back when the test ends"
        return [ctx.finding(self.id, sites[0], message, fix)]

    def _problem(self, ctx: FileContext, site: Node, handle: Handle) -> str:
        if handle.problem:
            return handle.problem
        tvar = handle.tvar
        assert tvar is not None
        if not ctx.project.go_at_least(*self.min_go):
            version = ctx.project.go_version
            said = f"go {version[0]}.{version[1]}" if version is not None else "an older go"
            return f"{tvar.name}.Chdir needs Go 1.24 and go.mod says {said}; raise the go line to fix"
        for func in enclosing_functions(site):
            if calls_parallel(func):
                name = text(func.child_by_field_name("name")) or "an enclosing test"
                return f"{name} calls Parallel(): {tvar.name}.Chdir panics in a parallel test"
        life = lifetime_between(site, tvar.owner)
        if life is not Lifetime.SYNC:
            return {
                Lifetime.GOROUTINE: "changed in a goroutine",
                Lifetime.CLEANUP: "changed in a cleanup",
            }.get(life, "changed in a closure handed to other code, which may run at any time")
        if any(a.type == "defer_statement" for a in ancestors(site) if is_inside(a, tvar.owner)):
            return "changed in a deferred call"
        if handle.suite and enclosing_functions(site)[0] != tvar.owner:
            return f"in a closure of a suite method: {tvar.name} there may be another test's"
        if in_timed_loop(site, tvar):
            return "in the benchmark's timed loop"
        if error_only_statements(site) is None:
            return "its error is used"
        return ""


def _change_back(call: Node, os_pkg: str) -> ChangeBack | None:
    """The defer / t.Cleanup statement around `os.Chdir(wd)` when changing back is all it does."""
    arg = unparen(call_arguments(call)[0])
    if arg.type != "identifier" or _getwd_binding(call, text(arg), os_pkg) is None:
        return None
    holder = call.parent
    if holder is not None and holder.type == "defer_statement":
        return ChangeBack(holder, True, text(arg))
    statements = error_only_statements(call)
    if statements is None or len(statements) != 1:
        return None
    block = statements[0].parent
    body = block.parent if block is not None and block.type == "statement_list" else block
    literal = body.parent if body is not None else None
    if block is None or literal is None or literal.type != "func_literal" or parameters(literal):
        return None
    if len([s for s in block.named_children if s.type != "comment"]) != 1:
        return None
    outer = literal.parent
    if outer is not None and outer.type == "call_expression" and not call_arguments(outer):
        statement = outer.parent
        if statement is not None and statement.type == "defer_statement":
            return ChangeBack(statement, True, text(arg))
    if outer is not None and outer.type == "argument_list" and outer.parent is not None:
        cleanup = outer.parent
        statement = cleanup.parent
        if (
            call_parts(cleanup)[1] == "Cleanup"
            and statement is not None
            and statement.type == "expression_statement"
        ):
            return ChangeBack(statement, False, text(arg))
    return None


def _getwd_binding(node: Node, name: str, os_pkg: str) -> Node | None:
    """`name, err := os.Getwd()` in a function around `node`, before it."""
    for func in enclosing_functions(node):
        for call in find(func, "call_expression"):
            if call.start_byte > node.start_byte or call_parts(call) != (os_pkg, "Getwd"):
                continue
            binding = binding_of(call)
            if binding is None or binding.type != "short_var_declaration" or len(values_of(binding)) != 1:
                continue
            targets = targets_of(binding)
            if targets and text(targets[0]) == name:
                return binding
    return None


def _rewrite(
    ctx: FileContext, site: Node, statements: list[Node], handle: str, bad: list[tuple[Node, str]]
) -> list[Edit]:
    first, *rest = statements
    args = site.child_by_field_name("arguments")
    assert args is not None
    edits = [Edit(first.start_byte, first.end_byte, f"{handle}.Chdir{text(args)}")]
    for statement in rest:
        edit = deletion(ctx.source, statement)
        if edit is None:
            bad.append((site, "its error check shares a line with other code"))
            return []
        edits.append(edit)
    return edits


def _remove_back(
    ctx: FileContext, back: ChangeBack, backs: list[ChangeBack], bad: list[tuple[Node, str]], site: Node
) -> list[Edit]:
    """Delete the change back, and the `os.Getwd()` (with its check) when nothing else reads `wd`."""
    edits = []
    edit = deletion(ctx.source, back.statement)
    if edit is None:
        bad.append((site, "the change back shares a line with other code"))
        return []
    edits.append(edit)
    os_pkg = ctx.imports.local_name("os") or "os"
    binding = _getwd_binding(back.statement, back.saved, os_pkg)
    assert binding is not None
    removed = [b.statement for b in backs]
    scope = binding.parent if binding.parent is not None else binding
    if any(not any(is_inside(u, r) for r in removed) for u in uses_of(scope, back.saved, binding.end_byte)):
        return edits  # `wd` is read elsewhere too: the Getwd stays
    targets = targets_of(binding)
    err = text(targets[1]) if len(targets) == 2 else "_"
    check = next_statement(binding)
    statements = [binding]
    if err != "_":
        err_new = not declared_before(binding, err)
        if check is not None and fails_on(check, err) and dead_after(check, err, err_new):
            statements.append(check)
        elif not dead_after(binding, err, err_new):
            bad.append((site, f"{err} is used again later, so `{text(binding)}` cannot go"))
            return []
    for statement in statements:
        edit = deletion(ctx.source, statement)
        if edit is None:
            bad.append((site, "the os.Getwd() shares a line with other code"))
            return []
        if edit not in edits:
            edits.append(edit)
    return edits


def _earlier_defers(back: ChangeBack) -> list[str]:
    """A deferred call registered before a deferred change back ran in the old directory."""
    if not back.deferred:
        return []
    for node in find(back.owner, "defer_statement"):
        if node.start_byte >= back.statement.start_byte:
            break
        if enclosing_functions(node)[:1] == [back.owner]:
            deferred = text(node.named_children[0]) if node.named_children else "it"
            deferred = deferred if len(deferred) <= 40 else deferred[:37] + "..."
            return [
                f"the deferred {deferred} (line {node.start_point[0] + 1}) runs in the old directory today; "
                "it would now run before the change back, in the new one"
            ]
    return []


_WORDING = UndoWording(
    noun="the change back",
    done="changed back",
    later="a later subtest no longer starts in the directory an earlier one changed to",
    elsewhere="the change back is registered in another function than the one that changes directory",
)
