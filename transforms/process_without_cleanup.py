"""`exec.Command(...)` + `Start()` in a test with no cleanup for the process: a `t.Cleanup` stops it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from codemod.edits import Edit, Finding, Fix, ImportRequest, Safety
from codemod.flow import (
    assignments_to,
    binding_of,
    escape_of,
    imported_function,
    is_assigned,
    mentions,
    module_package_dir,
    next_statement,
    package_function,
    targets_of,
    testing_handle,
    values_of,
)
from codemod.gosyntax import (
    call_arguments,
    call_parts,
    comments_around,
    line_end,
    line_indent,
    outermost_paren,
    parameters,
    statement_of,
    text,
    walk,
)
from codemod.scope import uses_of
from codemod.testscope import Lifetime, TestVar, lifetime_between
from codemod.transform import FileContext, Transform

_TEST_CONTEXT_MARKS = (".Context()", "WithTimeout(", "WithShortDeadline(")
# Calls on the process (or with it) that stop or reap it in the test itself.
_STOPS = frozenset({"Wait", "Run", "Output", "CombinedOutput", "Kill", "Signal", "Release"})
# A comment that explains why the process is not stopped by the test (not one that only describes it).
_COMMENT_KEEP = re.compile(
    r"(?:outlives?|survives?)\s+(?:the\s+)?test|(?:left|keep|kept|leave|stays?)\s+(?:it\s+)?running|"
    r"(?:killed|reaped|stopped|terminated|cleaned\s+up|waited\s+for)\s+(?:by|in|when|after|later)|"
    r"\bTestMain\b|intentional|deliberate|on\s+purpose|never\s+(?:call\s+)?(?:cmd\.)?wait|"
    r"(?:don'?t|do\s+not|never)\s+(?:kill|stop|wait|reap)|orphan|watchdog|run_in_test|parent\s+dies",
    re.IGNORECASE,
)
# Calls that end the test (or the function) when a start failed.
_ENDS = frozenset({"Fatal", "Fatalf", "FailNow", "Skip", "Skipf", "SkipNow", "panic"})
# Assertions and logs only look at the value handed to them.
_LOOKERS = re.compile(r"^(?:require|assert|s|suite|t|tb|b)$|\.(?:Require|Assert|T)\(\)$")
_HELPER_NAMES = ("terminateProcess", "TerminateProcess")
_GRACE = "5 * time.Second"


@dataclass(frozen=True)
class _Anchor:
    statement: Node  # the fix goes on the line after it
    checked: bool  # a failed start ends the test before that line: cmd.Process is set there


class ProcessWithoutCleanup(Transform):
    """
    What it does
        A process started in a test (`cmd := exec.Command(...)`, then `cmd.Start()`) that the test
        neither waits for, kills, nor hands to a `defer` or `t.Cleanup` gets a `t.Cleanup` right after
        the start (after the `if err := cmd.Start(); err != nil {...}` or `require.NoError(t,
        cmd.Start())` statement) that stops it the guide's way: SIGTERM, up to 5 seconds to exit,
        then SIGKILL, and wait. A `terminateProcess(*os.Process)` helper of the package (the guide's),
        or an exported `TerminateProcess(*os.Process)` of a module package the file imports, is called
        instead when there is one. In a testify suite method the handle is `s.T()`.

    Why
        The guide's "Forgetting Process Cleanup": a test that fails (or is interrupted) before it
        stops its child leaves a postgres or etcd running, and the next run fails on its port or
        data directory.

    Leaves alone
        Processes that are waited for (`Wait`, `Run`, `Output`), killed or signalled in the test,
        handed to a `defer` or `t.Cleanup`, or started with `exec.CommandContext(t.Context(), ...)` (or
        a helper context derived from t): they are bound to the test already. Reported without a fix:
        a command returned, stored in a struct or handed to another function (whoever holds it stops
        it), a variable that gets a second command, a start inside a goroutine or an expression, and a
        site whose comment says why the process outlives the test (left running on purpose, killed by
        a watchdog, reaped by `TestMain`).

    Example
        cmd := exec.Command("postgres", "-D", dir)
        require.NoError(t, cmd.Start())
        t.Cleanup(func() {                       // added
            terminateProcess(cmd.Process)
        })

    Fix safety
        Unsafe: the process is now stopped when the test ends. A process meant to outlive the test
        must not be, and one that needs more than 5 seconds to shut down cleanly gets killed. Where
        the start's error does not end the test, the cleanup checks `cmd.Process` is set first.
    """

    id = "process-without-cleanup"
    guide_section = "❌ Forgetting Process Cleanup"
    summary = "exec.Command started in a test without cleanup: add a t.Cleanup that stops it"
    review_hint = (
        "Every fix is unsafe: check each process may be stopped when its test ends, and that 5 seconds "
        "suffice for it to shut down."
    )

    def run(self, ctx: FileContext) -> list[Finding]:
        exec_pkg = ctx.imports.local_name("os/exec")
        if exec_pkg is None:
            return []
        testing_pkg = ctx.imports.local_name("testing")
        findings = []
        for node in ctx.nodes("call_expression"):
            operand, name = call_parts(node)
            if operand.isidentifier() and name == "Start" and not call_arguments(node):
                finding = self._start(ctx, node, operand, exec_pkg, testing_pkg)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _start(
        self, ctx: FileContext, start: Node, cmd: str, exec_pkg: str, testing_pkg: str | None
    ) -> Finding | None:
        tvar = testing_handle(start, ctx.path, ctx.source, testing_pkg)
        if tvar is None:
            return None  # no test here: a helper's caller owns the process
        owner = tvar.owner
        creations = _creations(owner, cmd, exec_pkg)
        if not creations:
            return None  # not an exec.Cmd made here
        if _bound_to_test(owner, creations[0], exec_pkg) or _stopped(owner, cmd):
            return None

        def report(why: str) -> Finding:
            return ctx.finding(self.id, start, f"{cmd}.Start() with no cleanup for the process; {why}")

        if len(creations) > 1:
            return report(f"{cmd} is given another command too: stop each process by hand")
        if _explained(creations[0], start):
            return report("a comment explains its lifetime: review by hand")
        if lifetime_between(start, owner) is not Lifetime.SYNC:
            return report("started in a closure that may run after the test: stop it by hand")
        escape = _escape(owner, cmd, creations[0])
        if escape:
            return report(f"{escape}: whoever holds it must stop it")
        anchor = _anchor(start)
        if anchor is None:
            return report("started inside an expression: register the cleanup by hand")
        fix = self._fix(ctx, tvar, cmd, anchor)
        return ctx.finding(
            self.id,
            start,
            f"{cmd}.Start() with no t.Cleanup for the process: register one right after starting it",
            fix,
        )

    def _fix(self, ctx: FileContext, tvar: TestVar, cmd: str, anchor: _Anchor) -> Fix:
        indent = line_indent(ctx.source, anchor.statement.start_byte)
        helper = _helper(ctx)
        imports: tuple[ImportRequest, ...] = ()
        if helper is not None:
            call, nil_safe, request = helper
            body = [f"{call}({cmd}.Process)"]
            if not anchor.checked and not nil_safe:
                body = [f"if {cmd}.Process != nil {{", f"\t{body[0]}", "}"]
            imports = (request,) if request is not None else ()
            how = f"{call}: "
        else:
            syscall_name = ctx.imports.name_for("syscall")
            time_name = ctx.imports.name_for("time")
            body = _inline_stop(cmd, syscall_name, time_name, checked=anchor.checked)
            imports = (ImportRequest("syscall", syscall_name), ImportRequest("time", time_name))
            how = "SIGTERM, 5 s to exit, then SIGKILL: "
        lines = [f"{tvar.name}.Cleanup(func() {{", *(f"\t{line}" for line in body), "})"]
        added = "".join(f"{indent}{line}\n" for line in lines)
        at = line_end(ctx.source, anchor.statement.end_byte)
        return Fix(
            (Edit(at, at, added),),
            Safety.UNSAFE,
            f"{how}the process now stops when the test ends; check it is not meant to outlive the test",
            add_imports=imports,
        )


def _creations(owner: Node, cmd: str, exec_pkg: str) -> list[Node]:
    """Every `exec.Command(...)`/`CommandContext(...)` assigned to `cmd` in `owner`; empty when `cmd`
    also gets a value of another kind (not an exec.Cmd this transform can follow)."""
    found = []
    for _, value in assignments_to(owner, cmd):
        operand, name = call_parts(value) if value.type == "call_expression" else ("", "")
        if operand != exec_pkg or name not in ("Command", "CommandContext"):
            return []
        found.append(value)
    return found


def _bound_to_test(owner: Node, creation: Node, exec_pkg: str) -> bool:
    """`exec.CommandContext(t.Context(), ...)`, directly or through a variable holding a test-derived
    context: the context's cancellation kills the process."""
    if call_parts(creation)[1] != "CommandContext":
        return False
    args = call_arguments(creation)
    if not args:
        return False
    first = args[0]
    if any(mark in text(first) for mark in _TEST_CONTEXT_MARKS):
        return True
    if first.type != "identifier":
        return False
    values = [value for _, value in assignments_to(owner, text(first))]
    return bool(values) and all(any(m in text(v) for m in _TEST_CONTEXT_MARKS) for v in values)


def _stopped(owner: Node, cmd: str) -> bool:
    """The test waits for, kills or signals the process itself, or hands it to a defer or a cleanup."""
    for node in walk(owner):
        if node.type == "defer_statement" and mentions(node, cmd):
            return True
        if node.type != "call_expression":
            continue
        operand, name = call_parts(node)
        if name == "Cleanup" and mentions(node, cmd):
            return True
        if name in _STOPS and (operand == cmd or operand.startswith(f"{cmd}.")):
            if name != "Signal" or "Signal(0)" not in text(node):
                return True  # (Signal(0) only asks whether it is alive)
        if name == "Kill" and any(mentions(arg, cmd) for arg in call_arguments(node)):
            return True  # syscall.Kill(cmd.Process.Pid, ...)
    return False


def _explained(creation: Node, start: Node) -> bool:
    statements = [s for s in (statement_of(creation), statement_of(start)) if s is not None]
    return any(_COMMENT_KEEP.search(text(c)) for s in statements for c in comments_around(s))


def _escape(owner: Node, cmd: str, creation: Node) -> str:
    """Where the command goes beyond the test's own statements: returned, stored, handed on."""
    for use in uses_of(owner, cmd, creation.end_byte):
        if is_assigned(use):
            continue
        value = use
        parent = use.parent
        if (
            parent is not None
            and parent.type == "selector_expression"
            and parent.child_by_field_name("operand") == use
        ):
            if text(parent.child_by_field_name("field")) != "Process":
                continue  # cmd.Stdout, cmd.Env, cmd.Start(), cmd.String()
            holder = parent.parent
            if holder is not None and holder.type == "selector_expression":
                continue  # cmd.Process.Pid
            value = parent
        escape = escape_of(value, owner)
        if escape == "read in a goroutine":
            continue
        if escape:
            return f"{text(value)} {escape}"
        holder = outermost_paren(value).parent
        if holder is not None and holder.type == "argument_list" and holder.parent is not None:
            operand, callee = call_parts(holder.parent)
            if _LOOKERS.search(operand):
                continue
            return f"{text(value)} handed to {operand + '.' if operand else ''}{callee}"
        binding = binding_of(outermost_paren(value))
        if binding is not None:
            return f"{text(value)} stored in {', '.join(text(t) for t in targets_of(binding))}"
        if holder is not None and holder.type in ("literal_element", "expression_list"):
            return f"{text(value)} kept in another value"
    return ""


def _anchor(start: Node) -> _Anchor | None:
    """The statement that starts the process and handles a failed start, and whether a failure ends
    the test there (so `cmd.Process` is set after it)."""
    expr = outermost_paren(start)
    parent = expr.parent
    if parent is None:
        return None
    if parent.type == "expression_statement":
        return _Anchor(parent, checked=False) if _in_block(parent) else None
    if parent.type == "argument_list" and parent.parent is not None:
        check = parent.parent
        holder = check.parent
        operand, name = call_parts(check)
        if (
            name != "NoError"
            or holder is None
            or holder.type != "expression_statement"
            or not _in_block(holder)
        ):
            return None
        return _Anchor(holder, checked=_is_require(operand))
    binding = binding_of(expr)
    if binding is None or len(values_of(binding)) != 1 or len(targets_of(binding)) != 1:
        return None
    err = text(targets_of(binding)[0])
    holder = binding.parent
    if holder is not None and holder.type == "if_statement":
        if holder.child_by_field_name("initializer") != binding or not _in_block(holder):
            return None
        return _Anchor(holder, checked=_checks(holder, err))
    if not _in_block(binding):
        return None
    following = next_statement(binding)
    if err != "_" and following is not None and _checks(following, err):
        return _Anchor(following, checked=True)
    return _Anchor(binding, checked=False)


def _in_block(statement: Node) -> bool:
    return statement.parent is not None and statement.parent.type == "statement_list"


def _is_require(operand: str) -> bool:
    return operand == "require" or operand.endswith(".Require()")


def _checks(statement: Node, err: str) -> bool:
    """`require.NoError(t, err)` or `if err != nil { ...; t.Fatal(err) }` (any branch that ends the test
    or the function: Fatal, FailNow, Skip, return, panic, a require assertion)."""
    if statement.type == "expression_statement":
        call = statement.named_children[0] if statement.named_children else None
        if call is None or call.type != "call_expression":
            return False
        operand, name = call_parts(call)
        return (
            name == "NoError" and _is_require(operand) and any(text(a) == err for a in call_arguments(call))
        )
    if statement.type != "if_statement" or statement.child_by_field_name("alternative") is not None:
        return False
    condition = statement.child_by_field_name("condition")
    if condition is None or re.fullmatch(rf"{re.escape(err)}\s*!=\s*nil", text(condition)) is None:
        return False
    block = statement.child_by_field_name("consequence")
    holder = next((c for c in block.named_children if c.type == "statement_list"), None) if block else None
    statements = [s for s in (holder.named_children if holder else []) if s.type != "comment"]
    if not statements:
        return False
    last = statements[-1]
    if last.type == "return_statement":
        return True
    call = last.named_children[0] if last.type == "expression_statement" and last.named_children else None
    if call is None or call.type != "call_expression":
        return False
    operand, name = call_parts(call)
    return name in _ENDS or _is_require(operand)


def _helper(ctx: FileContext) -> tuple[str, bool, ImportRequest | None] | None:
    """(how to call it, whether it checks for a nil process, the import it needs) of a
    `terminateProcess(*os.Process)` of the package or an exported `TerminateProcess(*os.Process)` of a
    module package the file imports."""
    for name in _HELPER_NAMES:
        decl = package_function(ctx.path, ctx.tree.root_node, name)
        if decl is not None and _takes_a_process(decl):
            return name, _nil_safe(decl), None
    for spec in ctx.imports.specs:
        if spec.alias in ("_", ".") or module_package_dir(ctx.path, spec.path) is None:
            continue
        decl = imported_function(ctx.path, spec.path, "TerminateProcess")
        if decl is not None and _takes_a_process(decl):
            return f"{spec.local_name}.TerminateProcess", _nil_safe(decl), None
    return None


def _takes_a_process(decl: Node) -> bool:
    params = parameters(decl)
    return len(params) == 1 and re.fullmatch(r"\*\s*\w+\.Process", text(params[0].type_node)) is not None


def _nil_safe(decl: Node) -> bool:
    param = parameters(decl)[0].name
    return bool(param) and re.search(rf"\b{re.escape(param)}\s*==\s*nil\b", text(decl)) is not None


def _inline_stop(cmd: str, syscall_name: str, time_name: str, checked: bool) -> list[str]:
    """The guide's terminateProcess, written out for `cmd.Process`."""
    exited = "exited" if cmd != "exited" else "stopped"
    proc = f"{cmd}.Process"
    guard = [] if checked else [f"if {proc} == nil {{", "\treturn // the start failed: nothing to stop", "}"]
    return [
        *guard,
        "// SIGTERM first, SIGKILL if it has not exited after 5 seconds; wait for it either way.",
        f"_ = {proc}.Signal({syscall_name}.SIGTERM)",
        f"{exited} := make(chan struct{{}})",
        "go func() {",
        f"\t_, _ = {proc}.Wait()",
        f"\tclose({exited})",
        "}()",
        "select {",
        f"case <-{exited}:",
        f"case <-{time_name}.After({_GRACE.replace('time.', time_name + '.')}):",
        f"\t_ = {proc}.Kill()",
        f"\t<-{exited}",
        "}",
    ]
