"""End-to-end tests that `go test -short` still runs: the guide's `testing.Short()` skip at the top."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from tree_sitter import Node

from codemod.edits import Edit, Finding, Fix, Safety
from codemod.flow import (
    assignments_to,
    imported_function,
    package_clause,
    package_function,
    package_functions,
)
from codemod.gosyntax import (
    call_arguments,
    call_parts,
    duration_seconds,
    find,
    line_end,
    parameters,
    testing_kind,
    text,
)
from codemod.suites import receiver
from codemod.transform import FileContext, Transform

_TEST_NAME = re.compile(r"^Test(?:[^a-z].*)?$")
# Programs that are the Go toolchain, the test binary itself, or a shell utility a unit test may run.
_NOT_EXTERNAL = frozenset(
    {
        "go", "gofmt", "sh", "bash", "true", "false", "echo", "sleep", "cat", "env", "printf", "ls",
        "kill", "yes", "test", "pwd", "id", "whoami", "uname", "date", "mkdir", "rm", "cp", "mv",
        "touch", "chmod", "ln", "head", "tail", "wc", "grep", "sed", "awk", "tr", "sort", "xargs",
        "ps", "pgrep", "pkill", "which", "hostname", "nproc", "getconf", "sysctl", "tee", "find", "diff",
        "cmp", "stat", "du", "df", "tar", "gzip", "cmd", "powershell", "typeperf", "tasklist", "taskkill",
        "wmic", "git",
    }
)  # fmt: skip
# A build constraint that keeps the file out of a plain `go test` already.
_BUILD_TAG = re.compile(
    r"^//go:build\s+.*\b(?:integration|e2e|endtoend|functional|acceptance|slow|long)\w*", re.MULTILINE
)
_SKIPS = frozenset({"Skip", "Skipf", "SkipNow"})
_SUITE_SETUP = ("SetupSuite", "SetupTest", "BeforeTest", "SetupSubTest")
_MAX_DEPTH = 3
_SUITE_VALUE = re.compile(r"^(?:new\(\s*|&\s*)(\w+)")
# Helpers named for a skip: SkipIfShort, skipInShortMode, SkipUnlessEnabled, SkipIfNotIntegration.
_SKIP_HELPER = re.compile(r"(?i)^skip|skip(?:if|unless|when|in)|(?:short|long).*skip")
# A skip on an opt-in switch (an environment variable, a flag, a gate): the test is not in the dev loop.
_OPT_IN = re.compile(r"Getenv|LookupEnv|[Ee]nabled\b|[Ee]nabled\(|\bflag\.|\*\w*[Ff]lag\w*\b|[Gg]ate")
# Callees that set up a cluster or an environment for the test (shared setup, provisioning).
_SETUP_CALL = re.compile(
    r"(?i)shared|cluster|isolated|provision|bootstrap|launch|spawn|deploy|^setup(?:test)?$"
)
_SETUP_PACKAGE = re.compile(r"(?i)setup|cluster|e2e|endtoend|integration")
_WAITS = frozenset({"Eventually", "EventuallyWithT", "Eventuallyf", "EventuallyWithTf"})
_LONG_SECONDS = 30.0


class MissingShortSkip(Transform):
    """
    What it does
        An end-to-end test gets the guide's skip as its first statement:
        `if testing.Short() { t.Skip("Skipping integration test (short mode)") }`. A test is
        end-to-end when its file is under one of the end-to-end folders (`end-to-end-folders` in
        `.codemod.toml`; `endtoend`, `e2e` and `integration` by default), or when it starts an
        external program with `exec.Command`/`CommandContext` (a literal name, or one found with
        `exec.LookPath`) that is not the Go toolchain, the test binary or a shell utility. Only
        top-level `Test*` functions: not benchmarks, fuzz tests, examples or subtests.

    Why
        The guide's "Basic Integration Test Structure" starts every integration test with that skip:
        `go test -short ./...` is the fast loop developers run, and an end-to-end test in it starts
        clusters, binds ports and takes minutes.

    Example
        func TestFailover(t *testing.T) {
            if testing.Short() {                 // added
                t.Skip("Skipping integration test (short mode)")
            }

            setup := shardsetup.New(t)

    Fix safety
        Unsafe: the test no longer runs under `-short`. A CI job that passes `-short` and counts on
        this test would silently stop running it.

    Leaves alone
        A test that mentions `testing.Short()` anywhere (a skip, or less work in short mode), one that
        calls a helper whose name says so (`SkipIfShort(t)`) or whose body skips on `testing.Short()`
        (a function of the package, or of a module package the file imports, followed three calls
        deep), a package whose `TestMain` checks `testing.Short()` (in any file of the test binary),
        a suite runner whose `SetupSuite`/`SetupTest` does, and files behind an `integration`-like
        build tag. Reported without a fix: a test whose testing parameter has no name, and one whose
        body starts on the line of its brace.
    """

    id = "missing-short-skip"
    summary = "end-to-end test without a testing.Short() skip: add the guide's skip"
    guide_section = "Basic Integration Test Structure"
    review_hint = "Check that the CI job meant to run these tests does not pass -short."

    def run(self, ctx: FileContext) -> list[Finding]:
        testing_pkg = ctx.imports.local_name("testing")
        if testing_pkg is None or not ctx.path.endswith("_test.go") or _BUILD_TAG.search(_head(ctx.source)):
            return []
        tests = [d for d in ctx.tree.root_node.children if _is_test(d, testing_pkg)]
        if not tests or self._package_skips(ctx):
            return []
        findings = []
        for test in tests:
            finding = self._test(ctx, test, testing_pkg)
            if finding is not None:
                findings.append(finding)
        return findings

    def _package_skips(self, ctx: FileContext) -> bool:
        """`TestMain` of the test binary (the package or its external `_test` package) checks Short."""
        package = package_clause(ctx.tree.root_node).removesuffix("_test")
        main = package_function(ctx.path, ctx.tree.root_node, "TestMain", (package, f"{package}_test"))
        return main is not None and _mentions_short(main)

    def _test(self, ctx: FileContext, test: Node, testing_pkg: str) -> Finding | None:
        why = _end_to_end(ctx, test)
        if not why or _mentions_short(test) or _opted_in(test) or self._helper_skips(ctx, test, 0):
            return None
        if _suite_skips(ctx, test):
            return None
        body = test.child_by_field_name("body")
        statements = [c for c in body.named_children] if body is not None else []
        if not statements:
            return None  # an empty test does no end-to-end work
        if any(_is_skip(st, handle_of(test)) for st in _top_statements(body)):
            return None  # skipped every time: a placeholder
        at_name = test.child_by_field_name("name") or test
        name = text(at_name)
        work = _end_to_end_work(ctx, test, handle_of(test))
        if not work:
            return ctx.finding(
                self.id,
                at_name,
                f"{name} is under an end-to-end folder with no testing.Short() skip, but shows no end-to-end "
                "work (no setup call, external program, Eventually or long timeout): skip it by hand if "
                "it is slow",
            )
        reasons = why if work == why else f"{why}; {work}"
        message = (
            f"{name} is an end-to-end test ({reasons}) with no testing.Short() skip: go test -short runs it"
        )
        handle = parameters(test)[0].name
        if handle in ("", "_"):
            return ctx.finding(self.id, at_name, f"{message}; its testing parameter has no name")
        if body is None or statements[0].start_point[0] == body.start_point[0]:
            return ctx.finding(self.id, at_name, f"{message}; its body starts on the line of its brace")
        at = line_end(ctx.source, body.start_byte)
        skip = (
            f"\tif {testing_pkg}.Short() {{\n"
            f'\t\t{handle}.Skip("Skipping integration test (short mode)")\n'
            "\t}\n\n"
        )
        fix = Fix(
            (Edit(at, at, skip),),
            Safety.UNSAFE,
            "the test no longer runs under -short: check no CI job that must run it passes -short",
        )
        return ctx.finding(self.id, at_name, message, fix)

    def _helper_skips(self, ctx: FileContext, func: Node, depth: int) -> bool:
        """A call in `func` of a helper named for short mode, or whose body skips on testing.Short()."""
        if depth > _MAX_DEPTH:
            return False
        for call in find(func, "call_expression"):
            operand, name = call_parts(call)
            if name not in _SKIPS and _SKIP_HELPER.search(name):
                return True
            decl = self._callee(ctx, operand, name)
            if decl is None or decl == func:
                continue
            if (_mentions_short(decl) and _calls_skip(decl)) or self._helper_skips(ctx, decl, depth + 1):
                return True
        return False

    def _callee(self, ctx: FileContext, operand: str, name: str) -> Node | None:
        if not name:
            return None
        if not operand:
            return package_function(ctx.path, ctx.tree.root_node, name)
        spec = next((s for s in ctx.imports.specs if s.local_name == operand), None)
        return imported_function(ctx.path, spec.path, name) if spec is not None else None


def _top_statements(body: Node | None) -> list[Node]:
    holder = next((c for c in body.named_children if c.type == "statement_list"), None) if body else None
    return list(holder.named_children) if holder is not None else []


def _is_skip(statement: Node, handle: str) -> bool:
    call = statement.named_children[0] if statement.type == "expression_statement" else None
    return (
        call is not None
        and call.type == "call_expression"
        and call_parts(call) in {(handle, name) for name in _SKIPS}
    )


def handle_of(test: Node) -> str:
    return parameters(test)[0].name


def _opted_in(test: Node) -> bool:
    """`if os.Getenv("RUN_X") == "" { t.Skip(...) }`, a flag or a gate: the test runs only when asked."""
    for statement in find(test, "if_statement"):
        condition = statement.child_by_field_name("condition")
        consequence = statement.child_by_field_name("consequence")
        if condition is None or consequence is None or not _calls_skip(consequence):
            continue
        if _OPT_IN.search(text(condition)):
            return True
        names = {text(n) for n in find(condition, "identifier")}
        values = [value for name in names for _, value in assignments_to(test, name)]
        if any(_OPT_IN.search(text(value)) for value in values):
            return True  # `run := os.Getenv("RUN_X") == "1"; if !run { t.Skip() }`
    return False


def _end_to_end_work(ctx: FileContext, test: Node, handle: str) -> str:
    """What in the test is end-to-end work ("" for none): a skip when an environment is missing, an
    external program, a setup call handed the test, an `Eventually`, or a timeout of 30 s or more."""
    started = _external_program(ctx, test)
    if started:
        return f"starts {started}"
    for statement in find(test, "if_statement"):
        consequence = statement.child_by_field_name("consequence")
        condition = statement.child_by_field_name("condition")
        if consequence is not None and condition is not None and _calls_skip(consequence):
            return f"it skips when {text(condition).splitlines()[0]}"
    for call in find(test, "call_expression"):
        operand, name = call_parts(call)
        if name in _WAITS:
            return f"waits with {name}"
        handed = any(text(a) == handle for a in call_arguments(call))
        if handed and (_SETUP_CALL.search(name) or _SETUP_PACKAGE.search(operand)):
            return f"calls {operand + '.' if operand else ''}{name}"
    for node in find(test, "binary_expression", "selector_expression"):
        if node.parent is not None and node.parent.type == "binary_expression":
            continue  # judged whole: `5*time.Second`, not `time.Second`
        seconds = duration_seconds(node)
        if seconds is not None and seconds >= _LONG_SECONDS and "time." in text(node):
            return f"waits up to {text(node)}"
    return ""


def _head(source: bytes) -> str:
    end = source.find(b"\npackage ")
    return source[: end if end >= 0 else 2048].decode("utf-8", errors="replace")


def _is_test(decl: Node, testing_pkg: str) -> bool:
    if decl.type != "function_declaration":
        return False
    name = text(decl.child_by_field_name("name"))
    if not _TEST_NAME.match(name) or name == "TestMain":
        return False
    params = parameters(decl)
    return len(params) == 1 and testing_kind(params[0].type_node, testing_pkg) == "T"


def _mentions_short(node: Node) -> bool:
    return any(call_parts(c)[1] == "Short" and not call_arguments(c) for c in find(node, "call_expression"))


def _calls_skip(node: Node) -> bool:
    return any(call_parts(c)[1] in _SKIPS for c in find(node, "call_expression"))


def _end_to_end(ctx: FileContext, test: Node) -> str:
    """Why the test is end-to-end ("" when it is not): its folder, or the external program it starts."""
    if ctx.project.integration:
        folders = set(ctx.settings.end_to_end_folders)
        folder = next((p for p in PurePosixPath(ctx.path).parent.parts if p in folders), None)
        return f"under {folder}/" if folder else "under an end-to-end folder"
    started = _external_program(ctx, test)
    return f"starts {started}" if started else ""


def _external_program(ctx: FileContext, test: Node) -> str:
    """The first program the test starts that is not the Go toolchain, the test binary or a utility."""
    exec_pkg = ctx.imports.local_name("os/exec")
    if exec_pkg is None:
        return ""
    for call in find(test, "call_expression"):
        operand, name = call_parts(call)
        if operand != exec_pkg or name not in ("Command", "CommandContext"):
            continue
        args = call_arguments(call)
        program = (
            args[1 if name == "CommandContext" else 0] if len(args) > (name == "CommandContext") else None
        )
        found = _program_name(test, program, exec_pkg) if program is not None else ""
        if found and PurePosixPath(found).name.removesuffix(".exe") not in _NOT_EXTERNAL:
            return found
    return ""


def _program_name(test: Node, program: Node, exec_pkg: str) -> str:
    """The literal program name, directly or through `path, err := exec.LookPath("name")`."""
    if program.type == "interpreted_string_literal":
        return text(program).strip('"')
    if program.type != "identifier":
        return ""
    for _, value in assignments_to(test, text(program)):
        if value.type == "call_expression" and call_parts(value) == (exec_pkg, "LookPath"):
            args = call_arguments(value)
            if args and args[0].type == "interpreted_string_literal":
                return text(args[0]).strip('"')
    return ""


def _suite_skips(ctx: FileContext, test: Node) -> bool:
    """The test runs a testify suite (`suite.Run(t, new(X))`, `&X{}`) whose own setup methods check
    testing.Short()."""
    suite = ctx.imports.local_name("github.com/stretchr/testify/suite")
    if suite is None:
        return False
    types = set()
    for call in find(test, "call_expression"):
        args = call_arguments(call)
        if call_parts(call) == (suite, "Run") and len(args) == 2:
            match = _SUITE_VALUE.match(text(args[1]))
            if match:
                types.add(match.group(1))
    root = ctx.tree.root_node
    return any(
        _mentions_short(method)
        for name in _SUITE_SETUP
        for method in package_functions(ctx.path, root, name, kind="method_declaration")
        if (found := receiver(method)) is not None and found[1] in types
    )
