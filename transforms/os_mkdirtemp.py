"""`os.MkdirTemp`/`ioutil.TempDir` in a test, removed when it ends (or never), becomes `t.TempDir()`."""

from __future__ import annotations

import re

from tree_sitter import Node

from codemod.edits import Edit, Finding, Fix, Safety
from codemod.flow import (
    binding_of,
    dead_after,
    declared_before,
    error_only_statements,
    escape_of,
    fails_on,
    next_statement,
    redeclarable_write,
    targets_of,
    values_of,
)
from codemod.gosyntax import (
    call_arguments,
    call_parts,
    enclosing_functions,
    find,
    is_inside,
    parameters,
    text,
    unparen,
)
from codemod.processstate import deletion, handle_at, in_timed_loop, is_test_body, tidy
from codemod.scope import uses_of
from codemod.suites import suite_types
from codemod.testscope import Lifetime, TestVar, lifetime_between
from codemod.transform import FileContext, Transform

_SOCKET = re.compile(r"\.sock\b|\.s\.PGSQL|socket", re.IGNORECASE)
_WHY = re.compile(r"TempDir|socket path|path length|too long|(?:104|108)[- ]byte", re.IGNORECASE)
_PLAIN_NAME = re.compile(r'"[A-Za-z0-9_/-]*"')
_BASENAME = frozenset({"Base", "HasPrefix", "Contains", "HasSuffix", "Split"})


class OsMkdirTemp(Transform):
    """
    What it does
        Rewrites `dir, err := os.MkdirTemp("", pattern)` (or `ioutil.TempDir("", pattern)`) in a
        test to `dir := t.TempDir()` (`b`, `tb`, the `t.Run` closure's own `t`, `s.T()` in suite
        methods), removes the error check right after it (`require.NoError(t, err)`, `if err != nil
        { t.Fatal(err) }`) when `err` is not read again, and removes the removal that went with it:
        `defer os.RemoveAll(dir)`, or a `defer func() {...}()` / `t.Cleanup(func() {...})` that
        only removes it. A directory that was never removed becomes one too.

    Why
        The guide's "Reliable Testing": a test cleans up what it creates, however it ends. A
        directory from `os.MkdirTemp` whose removal is forgotten (or skipped by `t.Fatal` before a
        late `os.RemoveAll`) stays in /tmp after every run.

    Example
        dir, err := os.MkdirTemp("", "store-*")  // dir := t.TempDir()
        require.NoError(t, err)                  // (removed)
        defer os.RemoveAll(dir)                  // (removed)

    Fix safety
        Safe: `t.TempDir()` removes the directory when the test ends and fails the test if the
        removal fails; its name follows the test's name, not the pattern. Unsafe: the removal was
        deferred in a helper (the directory now lives until the test ends), a subtest whose name is
        computed or holds characters such as commas (they land in the path, and a path written into
        a config file may no longer parse: nats-server's TestLogMaxArchives), a test that makes a
        unix socket, and end-to-end trees (the path is longer: a socket made in it may pass the
        104/108-byte limit). A comment in the function or above it that speaks of t.TempDir or path
        lengths holds the site back (reported).

    Leaves alone
        Reported: a directory made under another parent (`os.MkdirTemp("/tmp", ...)`: often a short
        path on purpose), returned or stored beyond the test (a field, a package variable, a
        goroutine), a pattern the test relies on (its text appears elsewhere in the test, or the
        test takes `filepath.Base` of the directory), a computed pattern, an error that is used,
        a result not bound to `dir, err`, calls in goroutines, cleanups and benchmark timed loops.
        Not reported: functions without a testing handle (`TestMain`, helpers without `t`).
    """

    id = "os-mkdirtemp"
    summary = "os.MkdirTemp/ioutil.TempDir in a test: t.TempDir()"
    # No guide section is about temporary directories; "Reliable Testing" asks that a test clean up
    # what it creates however it ends, which t.TempDir guarantees.
    guide_section = "2. Reliable Testing"
    review_hint = (
        "check that nothing needs the directory after the test, or a short path (unix sockets), "
        "or its name; unsafe fixes are the ones in end-to-end trees and helpers."
    )
    min_go = (1, 15)

    def run(self, ctx: FileContext) -> list[Finding]:
        makers = {
            (ctx.imports.local_name("os"), "MkdirTemp"),
            (ctx.imports.local_name("io/ioutil"), "TempDir"),
        }
        calls = [
            c
            for c in ctx.nodes("call_expression")
            if call_parts(c) in makers and call_parts(c)[0] and len(call_arguments(c)) == 2
        ]
        if not calls:
            return []
        suites = suite_types(ctx.path, ctx.source) if b"testify/suite" in ctx.source else frozenset()
        findings = []
        for call in calls:
            handle = handle_at(ctx, call, suites)
            called = text(call.child_by_field_name("function"))
            if handle.problem:
                findings.append(ctx.finding(self.id, call, f"{called} in a test left: {handle.problem}"))
                continue
            if handle.tvar is None:
                continue  # TestMain, a helper without t
            result = self._site(ctx, call, handle.tvar)
            if isinstance(result, str):
                findings.append(ctx.finding(self.id, call, f"{called} in a test left: {result}"))
            else:
                message = f"{called} in a test: use {handle.tvar.name}.TempDir(), removed when the test ends"
                findings.append(ctx.finding(self.id, call, message, result))
        return findings

    def _site(self, ctx: FileContext, call: Node, tvar: TestVar) -> Fix | str:
        """The fix, or why there is none."""
        if not ctx.project.go_at_least(*self.min_go):
            version = ctx.project.go_version
            said = f"go {version[0]}.{version[1]}" if version is not None else "an older go"
            return f"{tvar.name}.TempDir() needs Go 1.15 and go.mod says {said}; raise the go line to fix"
        life = lifetime_between(call, tvar.owner)
        if life is not Lifetime.SYNC:
            return {
                Lifetime.GOROUTINE: "made in a goroutine",
                Lifetime.CLEANUP: "made in a cleanup",
            }.get(life, "made in a closure handed to other code, which may run at any time")
        if in_timed_loop(call, tvar):
            return "in the benchmark's timed loop"
        parent_dir, pattern = (unparen(a) for a in call_arguments(call))
        if text(parent_dir) not in ('""', "``", "os.TempDir()"):
            return (
                f"made under {text(parent_dir)}: {tvar.name}.TempDir() makes it under os.TempDir(), with a "
                "longer name"
            )
        if pattern.type not in ("interpreted_string_literal", "raw_string_literal"):
            return "the name pattern is computed; the test may rely on it"
        binding = binding_of(call)
        if binding is None or binding.type == "var_spec" or len(values_of(binding)) != 1:
            return "its result is not bound to `dir, err`"
        targets = targets_of(binding)
        if len(targets) == 2 and targets[0].type != "identifier":
            return f"stored in {text(targets[0])}, which may outlive the test"
        if len(targets) != 2 or any(t.type != "identifier" for t in targets) or text(targets[0]) == "_":
            return "its result is not bound to `dir, err`"
        dir_name, err_name = text(targets[0]), text(targets[1])
        stem = text(pattern)[1:-1].replace("*", "")
        top = enclosing_functions(call)[-1]
        literals = find(top, "interpreted_string_literal", "raw_string_literal")
        if len(stem) >= 3 and any(
            stem in text(s) and s != pattern and not _subtest_name(s) for s in literals
        ):
            return f'the test spells the pattern "{stem}" elsewhere; it may rely on the name'
        if _comment_says_why(top):
            return "a comment there says why the directory is made this way (t.TempDir, socket path length)"
        declares = binding.type == "short_var_declaration"
        scope = binding.parent if declares and binding.parent is not None else top
        uses = uses_of(scope, dir_name, binding.end_byte)
        removals: list[Node] = []
        for use in uses:
            why = escape_of(use, tvar.owner)
            if why:
                return f"the directory is {why}: it may be needed after the test"
            if _base_of(use):
                return "the test reads the directory's name; it may rely on the pattern"
            removal = _removal(use, dir_name)
            if removal is not None:
                removals.append(removal)
        edits: list[Edit] = []
        check = next_statement(binding)
        err_new = declares and not declared_before(binding, err_name)
        if err_name != "_":
            if check is not None and fails_on(check, err_name):
                if not dead_after(check, err_name, err_new):
                    write = redeclarable_write(check, err_name) if err_new else None
                    if write is None:
                        return f"{err_name} is used again later"
                    edits.append(Edit(write.start_byte, write.end_byte, ":="))  # it declares err now
                edit = deletion(ctx.source, check)
                if edit is None:
                    return "its error check shares a line with other code"
                edits.append(edit)
            elif not dead_after(binding, err_name, err_new):
                return f"{err_name} is handled in another way than a check right after"
        operator = ":=" if declares and not declared_before(binding, dir_name) else "="
        edits.append(
            Edit(binding.start_byte, binding.end_byte, f"{dir_name} {operator} {tvar.name}.TempDir()")
        )
        unsafe = ""
        for removal in removals:
            edit = deletion(ctx.source, removal)
            if edit is None:
                return "its removal shares a line with other code"
            edits.append(edit)
            owner = enclosing_functions(removal)[0]
            if removal.type == "defer_statement" and not is_test_body(owner, tvar):
                name = text(owner.child_by_field_name("name")) or "its closure"
                unsafe = f"removed when {name} returned; {tvar.name}.TempDir() keeps it until the test ends"
        if not unsafe and any(_SOCKET.search(text(s)) for s in literals):
            unsafe = (
                f"a unix socket is made there: {tvar.name}.TempDir()'s longer path (named after the test) "
                "may pass the 104/108-byte limit"
            )
        odd = _odd_subtest_name(call)
        if odd and not unsafe:
            unsafe = (
                f"{tvar.name}.TempDir() names the directory after the subtest ({odd}), which may hold "
                "commas, parentheses or other characters: a path written into a config may not parse"
            )
        if ctx.project.integration and not unsafe:
            unsafe = (
                f"an end-to-end test: {tvar.name}.TempDir() makes a longer path (named after the test), and "
                "a unix socket made in it may pass the 108-byte limit"
            )
        reason = (
            f"{tvar.name}.TempDir() removes the directory when the test ends and fails the test if that fails"
        )
        if stem:
            reason += "; its name follows the test's, not the pattern"
        if not removals:
            reason += "; it was not removed before"
        return Fix(
            tuple(tidy(ctx.source, edits)),
            Safety.UNSAFE if unsafe else Safety.SAFE,
            unsafe or reason,
            maybe_unused_imports=("os", "io/ioutil"),
        )


def _comment_says_why(top: Node) -> bool:
    """A comment in the function, or its doc comment, that speaks of t.TempDir or path lengths."""
    comments = find(top, "comment")
    doc = top.prev_named_sibling
    while doc is not None and doc.type == "comment":
        comments.append(doc)
        doc = doc.prev_named_sibling
    return any(_WHY.search(text(c)) for c in comments)


def _odd_subtest_name(call: Node) -> str:
    """The name of a `t.Run` around `call` that is computed or holds characters other than letters,
    digits, `_`, `-` and `/` (t.TempDir() puts it in the path); "" when every one is plain."""
    for func in enclosing_functions(call):
        args = func.parent
        run = args.parent if args is not None and args.type == "argument_list" else None
        if run is None or call_parts(run)[1] != "Run" or call_arguments(run)[-1:] != [func]:
            continue
        name = call_arguments(run)[0]
        if name.type != "interpreted_string_literal" or not _PLAIN_NAME.fullmatch(text(name)):
            return text(name)
    return ""


def _subtest_name(literal: Node) -> bool:
    parent = literal.parent
    call = parent.parent if parent is not None and parent.type == "argument_list" else None
    return call is not None and call_parts(call)[1] == "Run" and call_arguments(call)[:1] == [literal]


def _base_of(use: Node) -> bool:
    """`filepath.Base(dir)`, `strings.HasPrefix(dir, ...)`: the test looks at the name."""
    parent = use.parent
    call = parent.parent if parent is not None and parent.type == "argument_list" else None
    return call is not None and call_parts(call)[1] in _BASENAME


def _removal(use: Node, dir_name: str) -> Node | None:
    """The statement whose only job is to remove the directory later: `defer os.RemoveAll(dir)`, or a
    `defer func() {...}()` / `t.Cleanup(func() {...})` whose one statement removes it."""
    parent = use.parent
    call = parent.parent if parent is not None and parent.type == "argument_list" else None
    if call is None or call_parts(call)[1] != "RemoveAll" or call_arguments(call) != [use]:
        return None
    holder = call.parent
    if holder is not None and holder.type == "defer_statement":
        return holder
    statements = error_only_statements(call)
    if statements is None or len(statements) != 1:
        return None
    block = statements[0].parent
    body = block.parent if block is not None and block.type == "statement_list" else block
    literal = body.parent if body is not None else None
    if literal is None or literal.type != "func_literal" or parameters(literal):
        return None
    if len([s for s in (block.named_children if block else []) if s.type != "comment"]) != 1:
        return None
    outer = literal.parent
    if outer is not None and outer.type == "call_expression" and not call_arguments(outer):
        statement = outer.parent
        return statement if statement is not None and statement.type == "defer_statement" else None
    if outer is not None and outer.type == "argument_list" and outer.parent is not None:
        cleanup = outer.parent
        statement = cleanup.parent
        if (
            call_parts(cleanup)[1] == "Cleanup"
            and statement is not None
            and statement.type == "expression_statement"
        ):
            return statement if is_inside(use, statement) else None
    return None
