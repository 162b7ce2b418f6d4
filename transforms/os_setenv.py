"""`os.Setenv` in a test with a hand-written restore becomes `t.Setenv`; the restore goes."""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from codemod.edits import Edit, Finding, Fix, Safety
from codemod.flow import (
    binding_of,
    calls_parallel,
    error_only_statements,
    targets_of,
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
from codemod.scope import declarations, uses_of
from codemod.suites import suite_types
from codemod.testscope import Lifetime, lifetime_between
from codemod.transform import FileContext, Transform

_ENV_CALLS = frozenset({"Setenv", "Unsetenv", "Getenv", "LookupEnv"})


@dataclass
class Restore:
    """A `defer` or `t.Cleanup` whose only job is to put environment variables back."""

    statement: Node
    deferred: bool  # a defer (runs before the test's cleanups) rather than a t.Cleanup
    keys: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)  # the saved values it reads (`old`, `ok`)
    sets: list[tuple[str, str]] = field(default_factory=list)  # (key, variable) of each os.Setenv
    calls: list[Node] = field(default_factory=list)

    @property
    def owner(self) -> Node:
        return enclosing_functions(self.statement)[0]


@dataclass
class Save:
    """`old := os.Getenv(k)` / `old, ok := os.LookupEnv(k)`: a variable holding a value from before."""

    key: str
    binding: Node
    call: Node


@dataclass
class Component:
    """Keys that must change together: they share a restore or a save statement."""

    keys: set[str]
    sites: list[Node] = field(default_factory=list)
    bad: list[tuple[Node, str]] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    handle: str = ""
    notes: set[str] = field(default_factory=set)
    deferred: bool = False  # some restore was a defer (not a t.Cleanup)


class OsSetenv(Transform):
    """
    What it does
        Rewrites `os.Setenv(k, v)` in a test to `t.Setenv(k, v)` (`b.Setenv`, `tb.Setenv`, the
        `t.Run` closure's own `t`, `s.T().Setenv` in testify suite methods) and removes the
        hand-written restore that goes with it: `defer os.Unsetenv(k)`, `defer os.Setenv(k, old)`,
        a `defer func() { ... }()` or `t.Cleanup(func() { ... })` that only puts variables back
        (`os.Setenv(k, old)`, `os.Unsetenv(k)`, `if old == "" { ... } else { ... }`), and the
        `old := os.Getenv(k)` / `old, ok := os.LookupEnv(k)` that only fed the restore. The error
        check goes with the call: `require.NoError(t, os.Setenv(k, v))`, `_ = os.Setenv(k, v)`,
        `if err := os.Setenv(k, v); err != nil { t.Fatal(err) }`, or `err := os.Setenv(k, v)`
        with the trivial check right after and `err` not read again. Keys that share a restore
        (or a save statement) change together, in one fix.

    Why
        The guide's "Reliable Testing": a test that changes process state must undo it, whatever
        way it fails. `t.Setenv` restores the old value (or unsets a variable that was not set)
        even when the test fails half-way, and refuses to run in a parallel test, where another
        test would see the value.

    Example
        func TestHome(t *testing.T) {
            old := os.Getenv("HOME")             // (removed)
            defer os.Setenv("HOME", old)         // (removed)
            os.Setenv("HOME", "/home/foo")       // t.Setenv("HOME", "/home/foo")
        }

    Fix safety
        Safe when the restore was registered in the function that sets the variable and that
        function's end is its test's end (a Test, a `t.Run` closure, a suite's Test method), or was
        a `t.Cleanup`: `t.Setenv` restores in a cleanup, which runs after the test's deferred
        calls, so a deferred call registered before the restore (it ran after the restore and now
        runs before it) makes the fix unsafe, as does a deferred call or cleanup that reads the
        variable. Unsafe too: no restore at all (the value no longer leaks into later tests: what
        the guide wants, but a change), and a value set in a subtest but restored by its parent
        (now restored when each subtest ends).

    Leaves alone
        Reported: a test that calls `t.Parallel()` (itself or an enclosing test: `t.Setenv`
        panics there), a key that is not a constant, a variable also unset with `os.Unsetenv` in
        the test, set or read in a goroutine, set in a cleanup, in a benchmark's timed loop, in a
        closure handed to other code, an error that is used, a restore deferred in a helper (it
        ran when the helper returned), a restore that does more than restore. Not reported:
        functions without a testing handle (`TestMain`, helpers without `t`); Go < 1.17 modules
        are reported with the version needed.
    """

    id = "os-setenv"
    summary = "os.Setenv in a test with a hand-written restore: t.Setenv"
    # The guide has no section on environment variables; its "Reliable Testing" principles ask that a
    # test clean up what it changes, which is what t.Setenv guarantees.
    guide_section = "2. Reliable Testing"
    review_hint = (
        "look at fixes marked unsafe: a variable with no restore today, or set in subtests and restored "
        "by the parent, is now restored at each test's end; and at deferred calls that read it."
    )
    min_go = (1, 17)

    def run(self, ctx: FileContext) -> list[Finding]:
        os_pkg = ctx.imports.local_name("os")
        if os_pkg is None:
            return []
        by_top: dict[int, list[Node]] = {}
        tops: dict[int, Node] = {}
        for call in ctx.nodes("call_expression"):
            operand, name = call_parts(call)
            if operand != os_pkg or name not in _ENV_CALLS or not call_arguments(call):
                continue
            functions = enclosing_functions(call)
            if not functions:
                continue
            top = functions[-1]
            tops[top.start_byte] = top
            by_top.setdefault(top.start_byte, []).append(call)
        if not any(call_parts(c)[1] == "Setenv" for calls in by_top.values() for c in calls):
            return []
        suites = suite_types(ctx.path, ctx.source) if b"testify/suite" in ctx.source else frozenset()
        findings: list[Finding] = []
        for start, calls in by_top.items():
            findings.extend(self._function(ctx, tops[start], calls, suites))
        return findings

    # -- one top-level function ----------------------------------------------------------------

    def _function(
        self, ctx: FileContext, top: Node, calls: list[Node], suites: frozenset[str]
    ) -> list[Finding]:
        saves = _saves(calls)
        restores = [r for r in _restores(ctx, top) if _valid(r, saves)]
        in_restore = {c.id for r in restores for c in r.calls}
        save_calls = {s.call.id for s in saves.values()}
        sites = [c for c in calls if call_parts(c)[1] == "Setenv" and c.id not in in_restore]
        if not sites:
            return []
        components = _components(sites, restores, saves)
        findings: list[Finding] = []
        for component in components:
            others = [c for c in calls if c.id not in in_restore and c.id not in save_calls]
            self._judge(ctx, top, component, restores, saves, others, suites)
            findings.extend(self._findings(ctx, component))
        return findings

    def _judge(
        self,
        ctx: FileContext,
        top: Node,
        component: Component,
        restores: list[Restore],
        saves: dict[str, Save],
        others: list[Node],
        suites: frozenset[str],
    ) -> None:
        mine = [r for r in restores if r.keys & component.keys]
        matched: set[int] = set()
        handles = [handle_at(ctx, site, suites) for site in component.sites]
        if any(h.tvar is None and not h.problem for h in handles):
            return  # no test handle somewhere (TestMain, a helper without t): leave it all, silently
        for site, handle in zip(component.sites, handles, strict=True):
            reason = self._site_problem(ctx, site, handle)
            if reason:
                component.bad.append((site, reason))
        if component.bad:
            return
        for site, handle in zip(component.sites, handles, strict=True):
            assert handle.tvar is not None
            tvar = handle.tvar
            key = _key(site)
            restore = _nearest_restore(site, key, mine)
            if restore is None:
                component.unsafe.append(
                    f"nothing restores {key} today: {tvar.name}.Setenv restores it when the test ends, so "
                    "what runs after the test no longer sees the value"
                )
            else:
                matched.add(restore.statement.id)
                problem = undo_problem(restore.owner, restore.deferred, handle, _WORDING)
                if problem.startswith("unsafe:"):
                    component.unsafe.append(problem.removeprefix("unsafe:"))
                elif problem:
                    component.bad.append((site, problem))
            statements = error_only_statements(site)
            assert statements is not None  # checked in _site_problem
            component.edits.extend(self._rewrite(ctx, site, statements, tvar.name, component))
            component.handle = component.handle or tvar.name
        if component.bad:
            return
        for restore in mine:
            if restore.statement.id not in matched:
                component.bad.append(
                    (
                        component.sites[0],
                        f"restored where it is not set (line {restore.statement.start_point[0] + 1})",
                    )
                )
            edit = deletion(ctx.source, restore.statement)
            if edit is None:
                component.bad.append((component.sites[0], "the restore shares a line with other code"))
            else:
                component.edits.append(edit)
            component.unsafe.extend(_ordering_problems(restore, component, restores))
            component.deferred |= restore.deferred
            if any(call_parts(c)[1] == "Unsetenv" for c in restore.calls):
                component.notes.add(
                    "where os.Unsetenv cleared it, the value from before the test is put back"
                )
        component.unsafe.extend(self._readers(top, component, others))
        component.edits.extend(self._save_edits(ctx, component, mine, saves))

    def _site_problem(self, ctx: FileContext, site: Node, handle: Handle) -> str:
        """Why this os.Setenv cannot become t.Setenv ("" when it can)."""
        if handle.problem:
            return handle.problem
        tvar = handle.tvar
        if tvar is None:
            return ""
        if not _constant_key(site):
            return "the key is not a constant, so its restore cannot be matched"
        if not ctx.project.go_at_least(*self.min_go):
            version = ctx.project.go_version
            said = f"go {version[0]}.{version[1]}" if version is not None else "an older go"
            return f"{tvar.name}.Setenv needs Go 1.17 and go.mod says {said}; raise the go line to fix"
        for func in enclosing_functions(site):
            if calls_parallel(func):
                name = text(func.child_by_field_name("name")) or "an enclosing test"
                return f"{name} calls Parallel(): {tvar.name}.Setenv panics in a parallel test"
        life = lifetime_between(site, tvar.owner)
        if life is Lifetime.GOROUTINE:
            return "set in a goroutine"
        if life is Lifetime.CLEANUP:
            return "set in a cleanup"
        if life is Lifetime.UNKNOWN:
            return "set in a closure handed to other code, which may run at any time"
        if any(a.type == "defer_statement" for a in ancestors(site) if is_inside(a, tvar.owner)):
            return "set in a deferred call"
        if any(call_parts(a)[1] == "RunParallel" for a in ancestors(site) if a.type == "call_expression"):
            return "set inside RunParallel"
        if handle.suite and enclosing_functions(site)[0] != tvar.owner:
            return f"in a closure of a suite method: {tvar.name} there may be another test's"
        if in_timed_loop(site, tvar):
            return "in the benchmark's timed loop"
        if error_only_statements(site) is None:
            return "its error is used"
        return ""

    def _rewrite(
        self, ctx: FileContext, site: Node, statements: list[Node], handle: str, component: Component
    ) -> list[Edit]:
        first, *rest = statements
        function = site.child_by_field_name("function")
        args = site.child_by_field_name("arguments")
        assert function is not None and args is not None
        if first.type == "expression_statement" and unparen(first.named_children[0]) == site:
            edits = [Edit(function.start_byte, function.end_byte, f"{handle}.Setenv")]
        else:
            edits = [Edit(first.start_byte, first.end_byte, f"{handle}.Setenv{text(args)}")]
        for statement in rest:
            edit = deletion(ctx.source, statement)
            if edit is None:
                component.bad.append((site, "its error check shares a line with other code"))
                return []
            edits.append(edit)
        return edits

    def _readers(self, top: Node, component: Component, others: list[Node]) -> list[str]:
        """Reads of the variables that would now happen before the restore (or in a goroutine)."""
        problems = []
        for call in others:
            if call_parts(call)[1] not in ("Getenv", "LookupEnv") or _key(call) not in component.keys:
                continue
            line = call.start_point[0] + 1
            if lifetime_between(call, top) is Lifetime.GOROUTINE:
                component.bad.append(
                    (component.sites[0], f"{_key(call)} is read in a goroutine (line {line})")
                )
            elif lifetime_between(call, top) is Lifetime.CLEANUP or any(
                a.type == "defer_statement" for a in ancestors(call)
            ):
                problems.append(
                    f"{_key(call)} is read in a deferred call or cleanup (line {line}), which would now run "
                    "before the restore"
                )
        for call in others:
            if call_parts(call)[1] == "Unsetenv" and _key(call) in component.keys:
                line = call.start_point[0] + 1
                component.bad.append(
                    (component.sites[0], f"os.Unsetenv({_key(call)}) on line {line}: t.Setenv cannot unset")
                )
        return problems

    def _save_edits(
        self, ctx: FileContext, component: Component, restores: list[Restore], saves: dict[str, Save]
    ) -> list[Edit]:
        """Drop the saved values nothing reads once the restores are gone (`_` for one of several)."""
        removed = [r.statement for r in restores]
        bindings = {s.binding.id: s.binding for s in saves.values() if s.key in component.keys}
        edits = []
        for binding in bindings.values():
            targets = targets_of(binding)
            dead = []
            for target in targets:
                name = text(target)
                if name == "_" or name not in saves:
                    dead.append(target)
                    continue
                scope = binding.parent if binding.parent is not None else binding
                uses = uses_of(scope, name, binding.end_byte)
                if all(any(is_inside(u, r) for r in removed) for u in uses):
                    dead.append(target)
            if len(dead) == len(targets):
                if binding.type != "short_var_declaration":
                    component.bad.append((component.sites[0], "the old value is saved in a var declaration"))
                    continue
                edit = deletion(ctx.source, binding)
                if edit is None:
                    component.bad.append(
                        (component.sites[0], "the saved value shares a line with other code")
                    )
                    continue
                edits.append(edit)
            else:
                edits.extend(Edit(t.start_byte, t.end_byte, "_") for t in dead if text(t) != "_")
        return edits

    def _findings(self, ctx: FileContext, component: Component) -> list[Finding]:
        keys = ", ".join(sorted(component.keys))
        if component.bad:
            return [
                ctx.finding(
                    self.id, site, f"{text(site.child_by_field_name('function'))} in a test left: {reason}"
                )
                for site, reason in component.bad
                if reason
            ]
        if not component.edits:
            return []  # left silently: no test handle
        handle = component.handle
        called = text(component.sites[0].child_by_field_name("function"))
        message = f"{called} in a test: use {handle}.Setenv, which restores {keys} when the test ends"
        if component.unsafe:
            safety, reason = Safety.UNSAFE, component.unsafe[0]
        else:
            reason = (
                f"{handle}.Setenv restores {keys} in a cleanup, as the t.Cleanup did"
                if not component.deferred
                else f"{handle}.Setenv restores {keys} when the test ends, as the deferred restore did; "
                "cleanups run after deferred calls, and no deferred call ran after the restore"
            )
            safety = Safety.SAFE
        if component.notes:
            reason += "; " + "; ".join(sorted(component.notes))
        fix = Fix(tuple(tidy(ctx.source, component.edits)), safety, reason, maybe_unused_imports=("os",))
        return [ctx.finding(self.id, component.sites[0], message, fix)]


# -- what the function holds ---------------------------------------------------------------------


def _key(call: Node) -> str:
    args = call_arguments(call)
    return text(args[0]) if args else ""


def _constant_key(call: Node) -> bool:
    """A string literal, or a name no function around the call declares (a constant or package var)."""
    args = call_arguments(call)
    if not args:
        return False
    key = unparen(args[0])
    if key.type in ("interpreted_string_literal", "raw_string_literal"):
        return True
    if key.type == "selector_expression":
        key = key.child_by_field_name("operand") or key
    if key.type != "identifier":
        return False
    name = text(key)
    for func in enclosing_functions(call):
        body = func.child_by_field_name("body")
        if any(p.name == name for p in parameters(func)):
            return False
        if body is not None and any(True for _ in declarations(body, name)):
            return False
    return True


def _saves(calls: list[Node]) -> dict[str, Save]:
    saves: dict[str, Save] = {}
    for call in calls:
        if call_parts(call)[1] not in ("Getenv", "LookupEnv") or not _constant_key(call):
            continue
        binding = binding_of(call)
        if binding is None or binding.type not in ("short_var_declaration", "var_spec"):
            continue
        values = binding.child_by_field_name("value" if binding.type == "var_spec" else "right")
        targets = targets_of(binding)
        paired = targets if call_parts(call)[1] == "LookupEnv" else []
        if not paired and values is not None:
            paired = [t for t, v in zip(targets, values.named_children, strict=False) if v == call]
        for target in paired:
            if target.type == "identifier" and text(target) != "_":
                saves[text(target)] = Save(_key(call), binding, call)
    return saves


def _restores(ctx: FileContext, top: Node) -> list[Restore]:
    os_pkg = ctx.imports.local_name("os")
    found = []
    for statement in find(top, "defer_statement", "expression_statement"):
        call = statement.named_children[0] if statement.named_children else None
        if call is None or call.type != "call_expression":
            continue
        restore = Restore(statement, statement.type == "defer_statement")
        body = _closure_body(call, restore.deferred)
        if body is not None:
            ok = bool(body) and all(_restore_statement(s, restore, os_pkg) for s in body)
        elif restore.deferred:
            ok = _restore_call(call, restore, os_pkg)
        else:
            continue
        if ok:
            found.append(restore)
    return found


def _closure_body(call: Node, deferred: bool) -> list[Node] | None:
    """The statements of `defer func() {...}()` or `X.Cleanup(func() {...})`."""
    function = call.child_by_field_name("function")
    if deferred:
        literal = function if function is not None and function.type == "func_literal" else None
        if literal is None or call_arguments(call):
            return None
    else:
        args = call_arguments(call)
        if call_parts(call)[1] != "Cleanup" or len(args) != 1 or args[0].type != "func_literal":
            return None
        literal = args[0]
    if parameters(literal):
        return None
    return _block_statements(literal.child_by_field_name("body"))


def _block_statements(block: Node | None) -> list[Node]:
    if block is None:
        return []
    holder = next((c for c in block.named_children if c.type == "statement_list"), block)
    return [s for s in holder.named_children if s.type != "comment"]


def _restore_statement(statement: Node, restore: Restore, os_pkg: str | None) -> bool:
    if statement.type == "if_statement":
        if statement.child_by_field_name("initializer") is not None:
            return False
        condition = statement.child_by_field_name("condition")
        if condition is None or find(condition, "call_expression"):
            return False
        names = find(condition, "identifier")
        if not names:
            return False
        restore.reads.update(text(n) for n in names if text(n) != "nil")
        branches = [
            statement.child_by_field_name("consequence"),
            statement.child_by_field_name("alternative"),
        ]
        for branch in branches:
            if branch is None:
                continue
            inner = [branch] if branch.type == "if_statement" else _block_statements(branch)
            if not inner or not all(_restore_statement(s, restore, os_pkg) for s in inner):
                return False
        return True
    calls = [c for c in find(statement, "call_expression") if call_parts(c)[0] == os_pkg]
    env = [c for c in calls if call_parts(c)[1] in ("Setenv", "Unsetenv")]
    if len(env) != 1 or error_only_statements(env[0]) != [statement]:
        return False
    return _restore_call(env[0], restore, os_pkg)


def _restore_call(call: Node, restore: Restore, os_pkg: str | None) -> bool:
    operand, name = call_parts(call)
    args = call_arguments(call)
    if operand != os_pkg or not _constant_key(call):
        return False
    if name == "Unsetenv" and len(args) == 1:
        restore.keys.add(_key(call))
        restore.calls.append(call)
        return True
    if name == "Setenv" and len(args) == 2 and unparen(args[1]).type == "identifier":
        restore.keys.add(_key(call))
        restore.sets.append((_key(call), text(unparen(args[1]))))
        restore.reads.add(text(unparen(args[1])))
        restore.calls.append(call)
        return True
    return False


def _valid(restore: Restore, saves: dict[str, Save]) -> bool:
    """Every value the restore puts back, and every condition it tests, was saved from its key."""
    if not all(name in saves and saves[name].key == key for key, name in restore.sets):
        return False
    return all(name in saves and saves[name].key in restore.keys for name in restore.reads)


def _components(sites: list[Node], restores: list[Restore], saves: dict[str, Save]) -> list[Component]:
    """Keys linked by a shared restore or save statement, each with its os.Setenv sites."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    def join(keys: list[str]) -> None:
        for other in keys[1:]:
            parent[root(other)] = root(keys[0])

    for site in sites:
        root(_key(site))
    for restore in restores:
        join(sorted(restore.keys))
    by_binding: dict[int, list[str]] = {}
    for save in saves.values():
        by_binding.setdefault(save.binding.id, []).append(save.key)
    for keys in by_binding.values():
        join(keys)
    groups: dict[str, Component] = {}
    for site in sites:
        group = root(_key(site))
        component = groups.setdefault(group, Component(set()))
        component.sites.append(site)
    for key in list(parent):
        if root(key) in groups:
            groups[root(key)].keys.add(key)
    for component in groups.values():
        component.keys &= {_key(s) for s in component.sites} | {k for r in restores for k in r.keys}
    return list(groups.values())


def _nearest_restore(site: Node, key: str, restores: list[Restore]) -> Restore | None:
    """The restore of `key` in the innermost function around `site` that has one."""
    for func in enclosing_functions(site):
        here = [r for r in restores if key in r.keys and r.owner == func]
        if here:
            return here[0]
    return None


def _ordering_problems(restore: Restore, component: Component, restores: list[Restore]) -> list[str]:
    """A deferred call registered before a deferred restore ran after it; it now runs before.
    (Other restores do not count: they touch other variables.)"""
    owner = restore.owner
    others = {r.statement.id for r in restores}
    problems = []
    if restore.deferred:
        for node in find(owner, "defer_statement"):
            if node.start_byte >= restore.statement.start_byte:
                break
            if (
                enclosing_functions(node)[:1] == [owner]
                and node.id not in others
                and not _removes_files(node)
            ):
                deferred = text(node.named_children[0]) if node.named_children else "it"
                deferred = deferred if len(deferred) <= 40 else deferred[:37] + "..."
                problems.append(
                    f"the deferred {deferred} (line {node.start_point[0] + 1}) runs after the restore today; "
                    f"it would now run before it, with {', '.join(sorted(restore.keys))} still set"
                )
                break
        return problems
    first = min(s.start_byte for s in component.sites)
    low, high = sorted((first, restore.statement.start_byte))
    for call in find(owner, "call_expression"):
        if (
            low < call.start_byte < high
            and call_parts(call)[1] == "Cleanup"
            and not is_inside(call, restore.statement)
        ):
            problems.append(
                f"the t.Cleanup on line {call.start_point[0] + 1} would run on the other side of the restore"
            )
            break
    return problems


def _removes_files(defer: Node) -> bool:
    """`defer os.RemoveAll(dir)` / `os.Remove(path)`: reads no environment variable."""
    call = defer.named_children[0] if defer.named_children else None
    return (
        call is not None and call.type == "call_expression" and call_parts(call)[1] in ("RemoveAll", "Remove")
    )


_WORDING = UndoWording(
    noun="the restore",
    done="restored",
    later="a later subtest, or {name} after its subtests, no longer sees the value an earlier subtest set",
    elsewhere="the restore is registered in another function than the one that sets the value",
)
