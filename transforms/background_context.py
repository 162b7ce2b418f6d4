"""Derive contexts in tests from the test: `context.Background()` becomes `t.Context()` or a helper."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from tree_sitter import Node

from codemod.callers import CallContexts, call_contexts
from codemod.contextsubject import inspection, subject_name, timed_loop
from codemod.edits import Edit, Finding, Fix, ImportRequest, Safety
from codemod.flow import assigned_targets, binding_of, bound_names, declared_before
from codemod.gosyntax import (
    ancestors,
    call_arguments,
    call_parts,
    comments_around,
    duration_seconds,
    enclosing_functions,
    find,
    is_inside,
    line_end,
    line_start,
    outermost_paren,
    parameters,
    statement_of,
    text,
    walk,
)
from codemod.imports import CONTEXT_DERIVERS
from codemod.scope import declarations, uses_of
from codemod.suites import SUITE_LEVEL, receiver, suite_method, suite_test_var, suite_types
from codemod.testscope import Lifetime, TestVar, lifetime_between, test_var, unnamed_test_param
from codemod.transform import FileContext, Transform

# Callees that keep the context beyond the call (constructors, servers, processes, waits).
_LONG_LIVED = re.compile(
    r"^(?:New|new|Start|start|Run|run|Serve|serve|Listen|listen|Dial|dial|Connect|connect|Open|open|"
    r"Watch|watch|Subscribe|subscribe|Spawn|Launch|Go|Init|init|Setup|setup|SetUp|Begin|Lock|Acquire|"
    r"Wait|wait|Poll|poll|Stream|Loop|Exec|Command|Handle|Process|Register|Create|Make|make|Build|build|"
    r"Stop|stop|Restart|restart|Shutdown|shutdown|Close|close|Rewind|Promote|Demote|Backup|backup|Restore|"
    r"restore|Reload|Drain|Recover|Upgrade|Install|Bootstrap|Initiali[sz]e|Migrate|Replicate|Sync|Failover|"
    r"Switchover|Elect|Join|Download|Upload|Deploy|Provision)"
)
# Calls that say the test runs long or waits: a fixed 2-second deadline does not fit there.
_WAIT_CALLS = frozenset(
    {
        "Sleep",
        "After",
        "AfterFunc",
        "Tick",
        "NewTimer",
        "NewTicker",
        "Eventually",
        "EventuallyWithT",
        "Eventuallyf",
        "EventuallyWithTf",
        "Never",
        "Neverf",
        "Parallel",
        "Short",
        "Wait",
        "ShouldSkipRealPostgres",
    }
)
# Names of shared helpers that other packages' tests may call from t.Cleanup (callers not seen).
_TEARDOWN = re.compile(
    r"(?:Clean|Tear|Teardown|TearDown|Stop|Close|Shutdown|Destroy|Remove|Delete|Reset|Kill|Drop|Purge|"
    r"Release|Dispose|Finish|Cleanup|Wipe)",
)
_LONG_UNITS = frozenset({"Second", "Minute", "Hour"})
SHORT_DEADLINE_REASON = (
    "passed straight to one call in a test that does not wait: a 2-second deadline per call fits"
)
T_CONTEXT_REASON = "t.Context() is cancelled only when the test ends; no deadline is added"


@dataclass
class Site:
    """One `context.Background()`/`TODO()` call and what surrounds it."""

    call: Node
    tvar: TestVar
    ctx_pkg: str
    suite: tuple[str, str] | None = None  # (receiver, method) in a testify suite method


class TestContext(Transform):
    """
    What it does
        Replaces `context.Background()` and `context.TODO()` in test code with a context derived
        from the innermost `*testing.T` in scope (`t`, `tt`, the `t.Run` or `f.Fuzz` closure's own):

        - `utils.WithShortDeadline(t)` where `context.Background()` is passed straight to one call
          (a fresh deadline for that call) in a test that does not wait (no sleeps, `Eventually`,
          goroutines, loops or second-long timeouts) and the callee does not keep it (constructors,
          servers, processes, waits);
        - `ctx := utils.WithTimeout(t, d)` for `ctx, cancel := context.WithTimeout(context.Background(), d)`
          whose `cancel` is only deferred (the `defer cancel()` line goes);
        - `t.Context()` everywhere else: as the parent of `context.WithCancel`/`WithTimeout`/...,
          for a context that escapes (struct field, constructor, goroutine, return), for a context
          variable (a deadline set at `ctx :=` would run across every later call, and one slow call
          makes the rest fail), and for `testing.TB`, `*testing.B` and `*testing.F`.

        In testify suite methods (a type embedding `suite.Suite`, directly or through another suite
        type of the package, or handed to `suite.Run`) the test is `s.T()`, whatever the receiver is
        called: `s.T().Context()` or the helpers with `s.T()`. Inside `s.Run` closures `s.T()` is the
        subtest. Left for a human: `s.T()` read in a goroutine (it returns whichever test is current),
        and a context stored in a suite field by a test method, or by `SetupTest` when `SetupSuite` /
        `TearDownSuite` read it (the field outlives the test whose context it holds).

        In a module whose go.mod says Go < 1.24 each site is reported, without a fix, naming the
        version it needs. With `style = "t-context"` in `.codemod.toml`, or when the helper package cannot be
        imported from the file (another module, an import cycle), `t.Context()` is used throughout.

    Why
        The guide's first rule: a context from `context.Background()` outlives the test and is never
        cancelled, so a failing test leaks goroutines and hangs instead of failing fast.

    Leaves alone
        Anything inside a `t.Cleanup` closure or captured by one (the test context is already
        cancelled when cleanups run; the guide's exception), functions with no testing parameter
        (helpers, `TestMain`, mocks, package-level variables), `context.WithoutCancel`,
        and files that neither end in `_test.go`
        nor import `testing`. In shared helper files, helpers named like a teardown are reported: a
        `t.Cleanup` in another package may call them after the test context ends. Closures that are
        stored or handed to other code, and contexts kept in package state, are reported for a human.

    Example
        func TestGet(t *testing.T) {
            ctx := context.Background()              // ctx := t.Context()
            got, err := store.Get(ctx, "k")
            n, err := store.Count(context.TODO())    // store.Count(utils.WithShortDeadline(t))
            ctx2, cancel := context.WithTimeout(context.Background(), 5*time.Second)
            defer cancel()                           // ctx2 := utils.WithTimeout(t, 5*time.Second)
        }

    Fix safety
        Safe: `t.Context()` keeps the behaviour and only adds cancellation at the end of the test;
        the helper forms are chosen only where their deadline fits. Unsafe (applied with --unsafe):
        a context whose object is used again in a `t.Cleanup`, which runs after the context is cancelled.
    """

    id = "test-context"
    guide_section = "❌ Using context.Background() Instead of t.Context()"
    review_hint = (
        "look hardest at contexts that outlive one call (stored, handed to goroutines or "
        "constructors) and at tests that wait: those get `t.Context()`, never a short deadline."
    )
    min_go = (1, 24)
    summary = "context.Background()/TODO() in a test: derive the context from t"

    def run(self, ctx: FileContext) -> list[Finding]:
        too_old = not ctx.project.go_at_least(*self.min_go)
        ctx_pkg = ctx.imports.local_name("context")
        if ctx_pkg is None and ctx.imports.dot_imported("context"):
            ctx_pkg = ""  # `import . "context"`: Background() and TODO() are called unqualified
        testing_pkg = ctx.imports.local_name("testing")
        if ctx_pkg is None:
            return []  # (a file of suite methods may not import testing: its test is s.T())
        findings = []
        suites: frozenset[str] | None = None
        made = [*ctx.calls(ctx_pkg, "Background"), *ctx.calls(ctx_pkg, "TODO")]
        made.sort(key=lambda n: n.start_byte)
        for node in made:
            if call_arguments(node):
                continue
            tvar = test_var(node, testing_pkg)
            naming: Edit | None = None
            suite: tuple[str, str] | None = None
            if tvar is None and suites is None:
                suites = suite_types(ctx.path, ctx.source)  # the suite type may be declared in another file
            found = suite_method(node, suites) if tvar is None and suites else None
            if found is not None:
                if found[1] in ("", "_"):
                    findings.append(
                        ctx.finding(
                            self.id,
                            node,
                            f"{text(node)} in a suite method whose receiver has no name: name it and derive "
                            "the context from its T()",
                        )
                    )
                    continue
                tvar = suite_test_var(node, found)
                if tvar is not None:
                    suite = (found[1], found[2])
                    if ".T().Parallel()" in text(tvar.owner):
                        findings.append(
                            ctx.finding(
                                self.id,
                                node,
                                f"{text(node)} in a suite method that calls {tvar.name}.Parallel(): "
                                "testify's suites share one T() between parallel tests; review by hand",
                            )
                        )
                        continue
                    if lifetime_between(node, tvar.owner) is Lifetime.GOROUTINE:
                        findings.append(
                            ctx.finding(
                                self.id,
                                node,
                                f"{text(node)} in a suite method: {tvar.name} read in a goroutine returns "
                                "whichever test is current then; review by hand",
                            )
                        )
                        continue
            if tvar is None:
                unnamed = unnamed_test_param(node, testing_pkg) if testing_pkg is not None else None
                if unnamed is None:
                    continue
                tvar, naming = unnamed
                if naming is None:
                    findings.append(
                        ctx.finding(
                            self.id,
                            node,
                            f"{text(node)} in a test whose testing parameter has no name, and"
                            f" `{tvar.name}` is taken: name the parameter and derive the context from it",
                        )
                    )
                    continue
            if too_old:
                if lifetime_between(node, tvar.owner) is not Lifetime.CLEANUP:  # the guide's exception
                    findings.append(self._needs_newer_go(ctx, node, tvar))
                continue
            finding = self._site(ctx, Site(node, tvar, ctx_pkg, suite))
            if finding is not None and naming is not None and finding.fix is not None:
                finding = dataclasses.replace(
                    finding,
                    fix=dataclasses.replace(
                        finding.fix,
                        edits=(naming, *finding.fix.edits),
                        reason=f"{finding.fix.reason}; the unnamed testing parameter is named {tvar.name}",
                    ),
                )
            if finding is not None:
                findings.append(finding)
        return findings

    def _needs_newer_go(self, ctx: FileContext, call: Node, tvar: TestVar) -> Finding:
        version = ctx.project.go_version
        said = f"go {version[0]}.{version[1]}" if version is not None else "an older go"
        return ctx.finding(
            self.id,
            call,
            f"{text(call)} in a test: {tvar.name}.Context() needs Go 1.24 and go.mod says {said}; "
            "raise the go line to fix",
        )

    # -- one site -------------------------------------------------------------------------

    def _site(self, ctx: FileContext, site: Site) -> Finding | None:
        call, tvar = site.call, site.tvar
        message = f"{text(call)} in a test: derive the context from {tvar.name}"
        life = lifetime_between(call, tvar.owner)
        if life is Lifetime.CLEANUP:
            return None  # the guide's exception
        top = _top_level_name(call)
        is_entry_point = _is_entry_point(top)
        if not is_entry_point and top in self._callers(ctx).cleanup:
            return None  # a helper that runs in cleanups: same exception
        if not ctx.path.endswith("_test.go") and _TEARDOWN.search(top):
            return ctx.finding(
                self.id,
                call,
                message + " (a shared helper named like a teardown: a t.Cleanup elsewhere may call it after"
                " the test context ends; review by hand)",
            )
        if not is_entry_point and top in self._callers(ctx).shared:
            return ctx.finding(
                self.id,
                call,
                message + " (in a helper called from shared setup or a callback; review by hand)",
            )
        expr = outermost_paren(call)
        parent = expr.parent
        assert parent is not None
        deriver = self._deriver(expr, site.ctx_pkg)
        if deriver is not None:
            if call_parts(deriver)[1] == "WithoutCancel":
                return None
            holder = deriver
        else:
            holder = expr
        binding = binding_of(holder)
        variables = bound_names(holder)
        # The variables holding this context (and contexts derived from it), and objects built from it.
        contexts, objects = self._taint(site.tvar.owner, variables, site.ctx_pkg)
        verdict = self._flow(ctx, site, holder, binding, variables, contexts, objects)
        if verdict == "cleanup":
            return None
        if site.suite is not None and site.suite[1] not in SUITE_LEVEL:
            field = self._suite_field(site, holder, contexts)
            if field is not None and _outlives_test(ctx, site.tvar.owner, site.suite[1], field):
                return ctx.finding(
                    self.id,
                    call,
                    message + f" (stored in the suite field {field} by {site.suite[1]}: a method that runs "
                    "after this test, such as TearDownSuite or another test, may read it once this test's "
                    "context has ended; review by hand)",
                )
        cancellable = deriver is not None and call_parts(deriver)[1] != "WithValue"
        subject = self._subject(site, expr, holder, contexts, cancellable)
        if subject is not None:
            reason = f" (the context may be what this test checks: {subject}; review by hand)"
            return ctx.finding(self.id, call, message + reason)
        if _explained_by_comment(call):
            return ctx.finding(
                self.id, call, message + " (a comment says why this context must stay; review by hand)"
            )
        if life is Lifetime.UNKNOWN:
            return ctx.finding(
                self.id, call, message + " (inside a closure that may run after the test; review by hand)"
            )
        if verdict == "closure":
            return ctx.finding(
                self.id, call, message + " (used in a closure that may run after the test; review by hand)"
            )
        if verdict == "package":
            return ctx.finding(
                self.id, call, message + " (the context is kept in package state; review by hand)"
            )
        if verdict == "escapes" and not ctx.path.endswith("_test.go"):
            # A shared setup helper may build something a manager keeps across tests (a cluster made
            # once with the first test's t): a context that ends with that test would kill it.
            return ctx.finding(
                self.id,
                call,
                message + " (a shared helper keeps this context beyond the call, and its callers may share "
                "what it builds across tests; review by hand)",
            )
        unsafe_reason = (
            "an object built from this context is used in t.Cleanup, run after the context is cancelled"
            if verdict == "cleanup-object"
            else None
        )
        if unsafe_reason is None and self._mocked(ctx, site.tvar.owner, site.ctx_pkg):
            unsafe_reason = (
                "a mock expectation compares this context with the one the code under test receives: "
                "both must come from the same test, so every context of this test must change together"
            )
        if deriver is not None:
            collapsed = self._collapse_timeout(ctx, site, deriver, binding) if unsafe_reason is None else None
            if isinstance(collapsed, Fix):
                return ctx.finding(self.id, call, message, collapsed)
            reason = T_CONTEXT_REASON if collapsed is None else f"{T_CONTEXT_REASON}; {collapsed}"
            fix = self._replace(ctx, call, f"{tvar.name}.Context()", reason, unsafe_reason)
            return ctx.finding(self.id, call, message, fix)
        if (
            unsafe_reason is None
            and verdict == "local"
            and binding is None  # a fresh deadline per call: a variable's deadline would span later calls
            and life is Lifetime.SYNC
            and self._helper_fits(ctx, tvar, "WithShortDeadline")
            and not self._waits(ctx, tvar.owner)
            and not _error_expected(call)
        ):
            helper = self._helper_call(ctx, "WithShortDeadline", tvar.name)
            return ctx.finding(
                self.id,
                call,
                message,
                self._replace(ctx, call, helper[0], SHORT_DEADLINE_REASON, None, helper[1]),
            )
        fix = self._replace(ctx, call, f"{tvar.name}.Context()", T_CONTEXT_REASON, unsafe_reason)
        return ctx.finding(self.id, call, message, fix)

    def _subject(
        self, site: Site, expr: Node, holder: Node, contexts: list[_Var], cancellable: bool
    ) -> str | None:
        """Why the context itself may be under test (then a context from t changes what is checked).

        A context derived with a cancel or deadline keeps its `Done()` and deadline with t as its
        parent: in a test only the moment it ends changes, but a benchmark measures the parent too.
        """
        tvar = site.tvar
        if tvar.kind == "B" and timed_loop(site.call, tvar.owner, tvar.name) is not None:
            return "it is made inside the benchmark's timed loop, so it is part of what is measured"
        if cancellable and tvar.kind != "B":
            return None
        for name in _test_names(site.call):
            if subject_name(name):
                return f"the test's name {name!r} is about the context itself"
        entry = _table_entry(expr)
        if entry is not None and (tvar.kind == "B" or subject_name(text(entry))):
            return "it is an entry of a table of cases, which may compare contexts"
        reads = [expr, holder] + [use for var in contexts for use in var.uses]
        for read in reads:
            how = inspection(read)
            if how is not None:
                return f"the context is {how}" if not how.startswith("its") else how
        return None

    def _suite_field(self, site: Site, holder: Node, contexts: list[_Var]) -> str | None:
        """The receiver field (`s.ctx`) the context, or a context derived from it, is assigned to."""
        assert site.suite is not None
        receiver_name = site.suite[0]
        reads = [holder] + [use for var in contexts for use in var.uses]
        for read in reads:
            expr = outermost_paren(read)
            stmt = binding_of(expr)
            if stmt is None or stmt.type != "assignment_statement":
                continue
            for target in assigned_targets(stmt, expr):
                root = _root_identifier(target)
                if target.type != "identifier" and root is not None and text(root) == receiver_name:
                    return text(target)
        return None

    def _mocked(self, ctx: FileContext, owner: Node, ctx_pkg: str) -> bool:
        """A mock expectation in this test takes a background context: its contexts change together."""

        def expectations() -> list[Node]:  # once per file: the background contexts mocks expect
            calls = [*ctx.calls(ctx_pkg, "Background"), *ctx.calls(ctx_pkg, "TODO")]
            return [n for n in calls if not call_arguments(n) and _mock_expectation(n)]

        return any(is_inside(n, owner) for n in ctx.memo(("test-context.mocks", ctx_pkg), expectations))

    def _callers(self, ctx: FileContext) -> CallContexts:
        return ctx.memo("callers", lambda: call_contexts(ctx.path, ctx.tree))

    def _deriver(self, expr: Node, ctx_pkg: str) -> Node | None:
        """The `context.WithX(expr, ...)` call when `expr` is its parent-context argument."""
        args = expr.parent
        if args is None or args.type != "argument_list" or args.parent is None:
            return None
        call = args.parent
        op, name = call_parts(call)
        if op != ctx_pkg or name not in (*CONTEXT_DERIVERS, "WithoutCancel"):
            return None
        first = call_arguments(call)
        return call if first and first[0] == expr else None

    # -- where the context goes -----------------------------------------------------------

    def _flow(
        self,
        ctx: FileContext,
        site: Site,
        holder: Node,
        binding: Node | None,
        variables: list[Node],
        tainted: list[_Var],
        objects: list[_Var],
    ) -> str:
        """Where the context made at `holder` goes: local, escapes, cleanup(-object), closure, package."""
        owner = site.tvar.owner
        verdict = "local" if _direct_short_call(holder) or variables else "escapes"
        if binding is not None and binding.type == "assignment_statement":
            for target in assigned_targets(binding, holder):
                root = _root_identifier(target)
                if root is None or not _declared_in(owner, root):
                    return "package"
                if target.type != "identifier":
                    verdict = "escapes"
        if binding is not None and not variables and binding.type in ("short_var_declaration", "var_spec"):
            return "escapes" if verdict == "local" else verdict  # bound to `_` or the like
        if _assigns_outside(holder, owner):
            return "package"
        objects = [*objects, *(_Var.of(v) for v in _call_results(holder))]
        objects.extend(_Var.of_existing(v, owner) for v in _receivers(holder, owner))
        if binding is not None and binding.type == "assignment_statement":
            for target in assigned_targets(binding, holder):
                root = _root_identifier(target)
                if target.type != "identifier" and root is not None and _declared_in(owner, root):
                    objects.append(_Var.of_existing(root, owner))
        for var in tainted:
            for use in var.uses:
                life = lifetime_between(use, owner)
                if life is Lifetime.CLEANUP:
                    return "cleanup"
                if life is Lifetime.UNKNOWN:
                    return "closure"
                if life is Lifetime.GOROUTINE or not _direct_short_call(use) or _in_loop(use, var.scope):
                    verdict = "escapes"
                if _assigns_outside(use, owner):
                    return "package"
        for obj in objects:
            for use in obj.uses:
                if lifetime_between(use, owner) is Lifetime.CLEANUP or _passed_to_cleanup(use):
                    return "cleanup-object"
                if _assigns_outside(use, owner):
                    return "package"
        return verdict

    def _taint(self, owner: Node, variables: list[Node], ctx_pkg: str) -> tuple[list[_Var], list[_Var]]:
        """Variables holding the context (through context.WithX and copies), and objects built from it."""
        contexts: list[_Var] = []
        objects: list[_Var] = []
        todo = [_Var.of(v) for v in variables]
        seen: set[tuple[int, str]] = set()
        while todo:
            var = todo.pop()
            key = (var.decl_end, var.name)
            if key in seen:
                continue
            seen.add(key)
            contexts.append(var)
            for use in var.uses:
                for target, is_context in _flows_into(use, ctx_pkg):
                    new = _Var.of(target)
                    if is_context:
                        todo.append(new)
                    elif (new.decl_end, new.name) not in seen:
                        seen.add((new.decl_end, new.name))
                        objects.append(new)
        return contexts, objects

    def _waits(self, ctx: FileContext, owner: Node) -> bool:
        """Whether the test function waits or runs long: then a fixed short deadline may expire."""
        if ctx.project.integration:
            return True
        return ctx.memo(
            ("test-context.waits", owner.start_byte), lambda: any(_is_wait_signal(n) for n in walk(owner))
        )

    # -- fixes ------------------------------------------------------------------------------

    def _helper_fits(self, ctx: FileContext, tvar: TestVar, func: str) -> bool:
        return ctx.settings.style == "auto" and tvar.kind == "T" and ctx.project.has_helper(func)

    def _helper_call(self, ctx: FileContext, func: str, *args: str) -> tuple[str, tuple[ImportRequest, ...]]:
        joined = ", ".join(args)
        if ctx.project.helper_name_unqualified:
            return f"{func}({joined})", ()
        name = ctx.imports.name_for(ctx.settings.helper_import)
        return f"{name}.{func}({joined})", (ImportRequest(ctx.settings.helper_import, name),)

    def _replace(
        self,
        ctx: FileContext,
        node: Node,
        new: str,
        reason: str,
        unsafe_reason: str | None,
        imports: tuple[ImportRequest, ...] = (),
    ) -> Fix:
        return Fix(
            edits=(Edit(node.start_byte, node.end_byte, new),),
            safety=Safety.UNSAFE if unsafe_reason else Safety.SAFE,
            reason=unsafe_reason or reason,
            add_imports=imports,
            maybe_unused_imports=("context",),
        )

    def _collapse_timeout(
        self, ctx: FileContext, site: Site, deriver: Node, binding: Node | None
    ) -> Fix | str | None:
        """`ctx, cancel := context.WithTimeout(context.Background(), d)` + `defer cancel()` -> WithTimeout.

        A string is the reason the cancel must stay where it is.
        """
        tvar = site.tvar
        if call_parts(deriver)[1] != "WithTimeout" or not self._helper_fits(ctx, tvar, "WithTimeout"):
            return None
        if binding is None or binding.type != "short_var_declaration":
            return None
        if enclosing_functions(binding)[:1] != [tvar.owner] or _in_loop(binding, tvar.owner):
            return None  # per-poll or per-iteration contexts should end with their closure, not the test
        owner_name = text(tvar.owner.child_by_field_name("name"))
        if tvar.owner.type != "function_declaration" or not _is_entry_point(owner_name):
            return None  # a helper or subtest may run many times per test: keep its own cancel
        duration = call_arguments(deriver)[1]
        seconds = duration_seconds(duration)
        if seconds is None or seconds < 1.0:
            return None  # a short timeout is often the behaviour under test: keep its exact cancel
        left, right = binding.child_by_field_name("left"), binding.child_by_field_name("right")
        if left is None or right is None or len(right.named_children) != 1 or len(left.named_children) != 2:
            return None
        ctx_var, cancel_var = left.named_children
        if ctx_var.type != "identifier" or cancel_var.type != "identifier" or text(cancel_var) == "_":
            return None
        scope = binding.parent
        if scope is None:
            return None
        cancel_uses = uses_of(scope, text(cancel_var), binding.end_byte)
        if len(cancel_uses) != 1:
            return None
        deferred = _deferred_call_statement(cancel_uses[0])
        if deferred is None or enclosing_functions(deferred)[:1] != enclosing_functions(binding)[:1]:
            return None
        start, end = line_start(ctx.source, deferred.start_byte), line_end(ctx.source, deferred.end_byte)
        if ctx.source[start : deferred.start_byte].strip() or ctx.source[deferred.end_byte : end].strip():
            return None
        if declared_before(binding, text(cancel_var)):
            return None  # `cancel` already existed: `:=` only assigned it
        earlier = _earlier_defer(deferred, tvar.owner)
        if earlier is not None:
            # Deferred calls run last-in first-out, all before t's cleanups: the helper's cancel would
            # move after this earlier deferred call, which may wait for what the cancel stops.
            return (
                f"defer cancel() kept: the deferred call on line {earlier.start_point[0] + 1} runs after it "
                "today and would run before the helper's cancel"
            )
        helper, imports = self._helper_call(ctx, "WithTimeout", tvar.name, text(duration))
        operator = "=" if declared_before(binding, text(ctx_var)) else ":="
        return Fix(
            edits=(
                Edit(binding.start_byte, binding.end_byte, f"{text(ctx_var)} {operator} {helper}"),
                Edit(start, end, ""),
            ),
            safety=Safety.SAFE,
            reason="cancel was only deferred: the helper's WithTimeout cancels at test end, deadline kept",
            add_imports=imports,
            maybe_unused_imports=("context",),
        )


# -- flow helpers -------------------------------------------------------------------------------


@dataclass
class _Var:
    name: str
    decl_end: int
    scope: Node
    uses: list[Node]

    @classmethod
    def of_existing(cls, ident: Node, owner: Node) -> _Var:
        """Uses, from here on, of a variable declared earlier (a receiver of the context)."""
        return cls(text(ident), ident.start_byte, owner, uses_of(owner, text(ident), ident.start_byte))

    @classmethod
    def of(cls, ident: Node) -> _Var:
        stmt = statement_of(ident) or ident
        scope = stmt.parent if stmt.parent is not None else stmt
        # A for-clause / if-init / switch-init declaration is scoped to that statement.
        for anc in ancestors(ident):
            if anc.type in ("for_clause", "range_clause", "if_statement", "expression_switch_statement"):
                if anc.type in ("for_clause", "range_clause") and anc.parent is not None:
                    scope = anc.parent
                else:
                    scope = anc
                break
            if anc == stmt:
                break
        decl_end = stmt.end_byte if stmt is not ident else ident.end_byte
        return cls(text(ident), decl_end, scope, uses_of(scope, text(ident), decl_end))


def _flows_into(use: Node, ctx_pkg: str) -> list[tuple[Node, bool]]:
    """Where a read of a context variable goes: (identifier it lands in, is it still a context)."""
    expr = outermost_paren(use)
    parent = expr.parent
    if parent is None:
        return []
    if parent.type == "expression_list":
        return [(v, True) for v in bound_names(expr)]
    if parent.type == "argument_list" and parent.parent is not None:
        call = parent.parent
        op, name = call_parts(call)
        is_context = op == ctx_pkg and name in CONTEXT_DERIVERS  # other calls make objects from the context
        return [(v, is_context) for v in bound_names(outermost_paren(call))]
    return []


def _call_results(node: Node) -> list[Node]:
    """Variables that hold the result of the call `node` is an argument of: `p := newPool(ctx)` -> p."""
    expr = outermost_paren(node)
    parent = expr.parent
    if parent is None or parent.type != "argument_list" or parent.parent is None:
        return []
    return bound_names(outermost_paren(parent.parent))


def _receivers(node: Node, owner: Node) -> list[Node]:
    """`manager.Open(ctx)`: the object whose method keeps the context (a local, not a package)."""
    expr = outermost_paren(node)
    parent = expr.parent
    if parent is None or parent.type != "argument_list" or parent.parent is None:
        return []
    function = parent.parent.child_by_field_name("function")
    if function is None or function.type != "selector_expression":
        return []
    root = _root_identifier(function.child_by_field_name("operand") or function)
    return [root] if root is not None and _declared_in(owner, root) and text(root) != "_" else []


def _direct_short_call(node: Node) -> bool:
    """`node` (or the context made there) is an argument of a call that returns before we go on."""
    expr = outermost_paren(node)
    parent = expr.parent
    if parent is None:
        return False
    if parent.type == "expression_list":
        return binding_of(expr) is not None  # stored in a variable: its uses decide
    if parent.type != "argument_list" or parent.parent is None:
        return False
    call = parent.parent
    _, name = call_parts(call)
    if not name or _LONG_LIVED.match(name):
        return False
    # `defer f(ctx)` evaluates the context now and calls later: a deadline would start too early.
    return call.parent is None or call.parent.type not in ("go_statement", "defer_statement")


def _in_loop(use: Node, scope: Node) -> bool:
    return any(a.type == "for_statement" for a in ancestors(use) if is_inside(a, scope) and a != scope)


def _root_identifier(target: Node) -> Node | None:
    node = target
    while node.type in (
        "selector_expression",
        "index_expression",
        "parenthesized_expression",
        "unary_expression",
    ):
        inner = node.child_by_field_name("operand") or (
            node.named_children[0] if node.named_children else None
        )
        if inner is None:
            return None
        node = inner
    return node if node.type == "identifier" else None


def _declared_in(owner: Node, ident: Node) -> bool:
    """Whether `ident` names a parameter or local of `owner` (or of the functions around it)."""
    name = text(ident)
    if name == "_":
        return True
    for func in [owner, *enclosing_functions(owner)]:
        if any(p.name == name for p in parameters(func)):
            return True
        receiver = func.child_by_field_name("receiver")
        if receiver is not None and any(text(n) == name for n in walk(receiver) if n.type == "identifier"):
            return True
        body = func.child_by_field_name("body")
        if body is not None and any(True for _ in declarations(body, name)):
            return True
    return False


def _assigns_outside(use: Node, owner: Node) -> bool:
    """`x = <use>` or `x.f = <use>` where x is not local to the test: the value outlives the test."""
    expr = outermost_paren(use)
    parent = expr.parent
    if parent is not None and parent.type == "argument_list" and parent.parent is not None:
        expr = outermost_paren(parent.parent)
        parent = expr.parent
    if parent is None or parent.type != "expression_list":
        return False
    binding = binding_of(expr)
    if binding is None or binding.type != "assignment_statement":
        return False
    for target in assigned_targets(binding, expr):
        root = _root_identifier(target)
        if root is None or not _declared_in(owner, root):
            return True
    return False


def _passed_to_cleanup(use: Node) -> bool:
    """`t.Cleanup(obj.Close)`: a method value of the object handed to Cleanup."""
    node = use
    while node.parent is not None and node.parent.type == "selector_expression":
        node = node.parent
    parent = node.parent
    return (
        parent is not None
        and parent.type == "argument_list"
        and parent.parent is not None
        and call_parts(parent.parent)[1] == "Cleanup"
    )


def _deferred_call_statement(use: Node) -> Node | None:
    """The `defer cancel()` or `t.Cleanup(cancel)` statement that is this use's only job."""
    parent = use.parent
    if parent is None:
        return None
    if parent.type == "call_expression" and parent.child_by_field_name("function") == use:
        stmt = parent.parent
        if stmt is not None and stmt.type == "defer_statement" and not call_arguments(parent):
            return stmt
        return None
    if parent.type == "argument_list" and parent.parent is not None:
        call = parent.parent
        stmt = call.parent
        if call_parts(call)[1] == "Cleanup" and len(call_arguments(call)) == 1 and stmt is not None:
            if stmt.type == "expression_statement":
                return stmt
    return None


# Suite methods testify runs per test, before the test method: their fields are reset per test.
_PER_TEST_SETUP = frozenset({"SetupTest", "BeforeTest", "SetupSubTest"})


def _outlives_test(ctx: FileContext, owner: Node, method: str, field: str) -> bool:
    """Whether a suite field set in `method` may be read after that test's context ends."""
    suite_type = receiver(owner)
    if method not in _PER_TEST_SETUP:
        return True  # set by a test or helper method: other tests (files we do not see) may read it
    member = field.split(".", 1)[1] if "." in field else field
    pattern = re.compile(rf"\.{re.escape(member)}\b")
    for decl in ctx.nodes("method_declaration"):
        name = text(decl.child_by_field_name("name"))
        other = receiver(decl)
        same_type = suite_type is not None and other is not None and other[1] == suite_type[1]
        if name in SUITE_LEVEL and same_type and pattern.search(text(decl.child_by_field_name("body"))):
            return True  # SetupSuite / TearDownSuite read a per-test field
    return False


def _mock_expectation(expr: Node) -> bool:
    """`m.EXPECT().Get(ctx, ...)` (gomock) or `m.On("Get", ctx, ...)` (testify mock): compared, not used."""
    parent = outermost_paren(expr).parent
    if parent is None or parent.type != "argument_list" or parent.parent is None:
        return False
    call = parent.parent
    function = call.child_by_field_name("function")
    if function is None or function.type != "selector_expression":
        return False
    operand = text(function.child_by_field_name("operand"))
    field = text(function.child_by_field_name("field"))
    return operand.endswith("EXPECT()") or field in ("On", "AssertCalled", "AssertNotCalled")


def _table_entry(expr: Node) -> Node | None:
    """The composite-literal element (a table row) holding `expr` directly: `{"background", ctx}`."""
    node = outermost_paren(expr)
    parent = node.parent
    if parent is not None and parent.type == "keyed_element":
        node, parent = parent, parent.parent
    if parent is not None and parent.type == "literal_element":
        node, parent = parent, parent.parent
    if parent is not None and parent.type == "literal_value":
        return parent
    return None


def _earlier_defer(deferred: Node, owner: Node) -> Node | None:
    """A `defer` of `owner` itself registered before `deferred` (it runs after `deferred` does)."""
    for node in find(owner, "defer_statement"):
        if node.start_byte >= deferred.start_byte:
            break
        if enclosing_functions(node)[:1] == [owner]:
            return node
    return None


def _test_names(node: Node) -> list[str]:
    """The top-level test function's name and the names of the `t.Run` subtests around `node`."""
    names = [_top_level_name(node)]
    for func in enclosing_functions(node):
        call = func.parent.parent if func.parent is not None else None
        if func.type == "func_literal" and call is not None and call.type == "call_expression":
            args = call_arguments(call)
            if call_parts(call)[1] == "Run" and args and args[0].type == "interpreted_string_literal":
                names.append(text(args[0]).strip('"'))
    return [n for n in names if n]


def _is_wait_signal(node: Node) -> bool:
    if node.type in ("go_statement", "select_statement", "for_statement"):
        return True
    if node.type == "call_expression":
        _, name = call_parts(node)
        return name in _WAIT_CALLS
    if node.type == "selector_expression":
        return (
            text(node.child_by_field_name("operand")) == "time"
            and text(node.child_by_field_name("field")) in _LONG_UNITS
        )
    return False


# A comment that says why the context must stay as it is (not one that only mentions a cancel or a
# deadline: "wait for the deadline" describes the code, it does not justify the background context).
_COMMENT_KEEP = re.compile(
    r"non-?cancell?able|uncancell?able|not\s+(?:be\s+)?cancell?ed|never\s+cancell?ed|"
    r"must\s+not\s+(?:be\s+)?cancel|should\s+not\s+(?:be\s+)?cancel|(?:outlives?|survives?)\s+(?:the\s+)?test|"
    r"(?:beyond|past)\s+the\s+(?:end\s+of\s+the\s+)?test|independent(?:ly)?\s+of\s+the\s+test|"
    r"detached|intentional|deliberate|on\s+purpose|without\s+(?:a\s+)?deadline|no\s+deadline|"
    r"(?:needs?|requires?|wants?|must\s+use|uses?\s+a)\s+(?:a\s+)?(?:context\.)?background|"
    r"not\s+t\.context|instead\s+of\s+t\.context|long[- ]lived|premature(?:ly)?\s+cancel|"
    r"rather\s+than\s+(?:the\s+)?(?:test|span|request|parent)|avoid\w*\s+(?:\w+\s+){0,3}cancel",
    re.IGNORECASE,
)
_COMMENT_DOC = re.compile(r"context\.background|background\(\)|context\.todo|todo\(\)", re.IGNORECASE)
_EXPECTS_ERROR = re.compile(r"\b(Error|ErrorIs|ErrorAs|ErrorContains|EqualError|Errorf)\(|NotNil\(\w+, err")


def _error_expected(call: Node) -> bool:
    """The test expects this call to fail: a deadline could make it fail for the wrong reason."""
    statement = statement_of(call)
    following = statement.next_named_sibling if statement is not None else None
    for _ in range(3):
        if following is None:
            return False
        if _EXPECTS_ERROR.search(text(following)):
            return True
        following = following.next_named_sibling
    return False


def _is_entry_point(name: str) -> bool:
    """Functions the test runner calls: never called from a cleanup, run once per test."""
    return name.startswith(("Test", "Benchmark", "Fuzz", "Example"))


def _top_level_name(node: Node) -> str:
    functions = enclosing_functions(node)
    top = functions[-1] if functions else None
    return (
        text(top.child_by_field_name("name"))
        if top is not None and top.type == "function_declaration"
        else ""
    )


def _explained_by_comment(call: Node) -> bool:
    """A comment on the site's lines, the comment block right above it, or the function's doc says
    why the context must stay as it is."""
    stmt = statement_of(call) or call
    functions = enclosing_functions(call)
    top = functions[-1] if functions else None
    if top is None:
        return False
    comments = find(top, "comment")
    first_row = stmt.start_point[0]
    nearby = [n for n in comments if first_row - 3 <= n.start_point[0] <= stmt.end_point[0]]
    nearby.extend(comments_around(stmt, comments))
    if any(_COMMENT_KEEP.search(text(n)) for n in nearby):
        return True
    doc = top.prev_named_sibling
    row = top.start_point[0]
    # The doc comment is the block right above the function (commented-out code further up is not).
    while doc is not None and doc.type == "comment" and doc.end_point[0] >= row - 1:
        about_context = re.search(r"\bctx\b|context", text(doc), re.IGNORECASE)
        if _COMMENT_DOC.search(text(doc)) or (about_context and _COMMENT_KEEP.search(text(doc))):
            return True
        row = doc.start_point[0]
        doc = doc.prev_named_sibling
    return False
