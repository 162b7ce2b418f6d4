"""`time.Sleep` followed by assertions becomes `require.Eventually` / `require.EventuallyWithT`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tree_sitter import Node

from codemod.config import go_duration
from codemod.edits import Edit, Finding, Fix, ImportRequest, Safety
from codemod.flow import mentions
from codemod.gosyntax import (
    ancestors,
    call_arguments,
    call_parts,
    comments_around,
    duration_seconds,
    find,
    line_indent,
    text,
    walk,
)
from codemod.scope import uses_of
from codemod.testscope import Lifetime, TestVar, lifetime_between, test_var
from codemod.transform import FileContext, Transform

ASSERT = "github.com/stretchr/testify/assert"
REQUIRE = "github.com/stretchr/testify/require"
COLLECT_MIN_TESTIFY = (1, 8, 3)  # first release with EventuallyWithT and CollectT

_BASE_ASSERTIONS = {
    "True", "False", "Equal", "EqualValues", "Exactly", "NotEqual", "NotEqualValues", "Len", "Contains",
    "NotContains", "ElementsMatch", "Subset", "NotSubset", "NoError", "Error", "ErrorIs", "NotErrorIs",
    "ErrorAs", "ErrorContains", "EqualError", "Nil", "NotNil", "Empty", "NotEmpty", "Zero", "NotZero",
    "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Positive", "Negative", "InDelta", "InEpsilon",
    "Regexp", "NotRegexp", "JSONEq", "YAMLEq", "FileExists", "DirExists", "Same", "NotSame", "IsType",
    "Implements", "Condition",
}  # fmt: skip
ASSERTIONS = frozenset(_BASE_ASSERTIONS | {f"{name}f" for name in _BASE_ASSERTIONS})
# "Nothing happened" checks: Eventually would pass at once and check nothing.
_NEGATIVE_NAMES = frozenset({"False", "Empty", "Zero", "Nil", "NotContains", "NoFileExists", "NoDirExists"})
_NEGATION = re.compile(
    r"\b(no|not|never|none|nothing|still|remain|remains|unchanged|stay|stays|without)\b|n't\b", re.IGNORECASE
)
# A state change just before the sleep makes a falsy check a wait for that change, not a "still nothing".
_STATE_CHANGE = re.compile(
    r"^(Stop|Close|Cancel|Shutdown|Remove|Delete|Kill|Disconnect|Clear|Drain|Reset|Evict|Expire|Release|"
    r"Unregister|Deregister|Terminate|Unsubscribe|Revoke|Purge|Flush)",
    re.IGNORECASE,
)


@dataclass
class Assertion:
    statement: Node
    call: Node
    package: str  # local name, e.g. "require"
    name: str  # e.g. "Equal"


class SleepThenAssert(Transform):
    """
    What it does
        Turns `time.Sleep(d)` directly followed by testify assertions on the test's `t` into a wait
        for the condition:

        - a single `require.True(t, cond, msg...)` becomes
          `require.Eventually(t, func() bool { return cond }, wait, tick, msg...)` (`False`: `!cond`);
        - anything else (`Equal`, `Len`, `NoError`, several assertions, and statements between the
          sleep and the assertions that compute what is asserted) becomes
          `require.EventuallyWithT(t, func(c *assert.CollectT) { ...; assert.Equal(c, ...) }, wait, tick)`,
          keeping every message. Testify before 1.8.3 has no EventuallyWithT: only `Equal` is
          rewritten there, with `assert.ObjectsAreEqual`.

        `wait`/`tick` are the guide's constants: 5s/10ms for unit tests, 30s/1s for integration tests
        (a file under an end-to-end tree); `[sleep]` in `.codemod.toml` changes them. The wait is
        raised to 3 times the sleep it replaces when that is longer; the tick never follows the
        sleep, so a test whose condition holds early gets faster, never slower.

    Why
        The guide's first anti-pattern: a fixed sleep is either too short (flaky) or too long (slow).
        Waiting for the condition is both reliable and fast.

    Leaves alone
        Sleeps with no assertion after them, sleeps inside `for` loops (polling), negative checks
        ("after 300ms, still nothing happened": `False`, `Empty`, `Zero`, `Nil`, `NotContains`, an
        `Equal` between a value taken before the sleep and one after, or a message saying "no"/
        "not"/"still"), sleeps inside `synctest` bubbles (fake clock), assertions on another `t`,
        and assertion arguments with effects (`Close()`, `Write`, `Send`, `Add`, `Inc`, channel
        receives). Negative checks and effects are reported: `require.Never` is a human decision.

    Example
        time.Sleep(100 * time.Millisecond)
        require.Equal(t, 3, counter.Load())
        // becomes
        require.EventuallyWithT(t, func(c *assert.CollectT) {
            assert.Equal(c, 3, counter.Load())
        }, 5*time.Second, 10*time.Millisecond)

    Fix safety
        Always unsafe (applied with --unsafe, or hunk by hunk with --interactive): the condition is
        retried, so a test that used to fail may now pass for another reason.
    """

    id = "sleep-then-assert"
    guide_section = "❌ Using time.Sleep() Instead of require.Eventually()"
    review_hint = (
        "check that each waited-for condition is what the sleep was waiting for; "
        "a check that something does *not* happen must stay a sleep."
    )
    summary = "time.Sleep followed by assertions: wait for the condition with require.Eventually"

    def run(self, ctx: FileContext) -> list[Finding]:
        time_pkg = ctx.imports.local_name("time")
        testing_pkg = ctx.imports.local_name("testing")
        if time_pkg is None or testing_pkg is None:
            return []
        packages = {n: p for p in (ASSERT, REQUIRE) if (n := ctx.imports.local_name(p))}
        if not packages:
            return []
        findings = []
        for call in ctx.calls(time_pkg, "Sleep"):
            node = call.parent
            if node is None or node.type != "expression_statement":
                continue
            finding = self._site(ctx, node, call, packages)
            if finding is not None:
                findings.append(finding)
        return findings

    def _site(self, ctx: FileContext, sleep: Node, call: Node, packages: dict[str, str]) -> Finding | None:
        tvar = test_var(sleep, ctx.imports.local_name("testing"))
        if tvar is None or sleep.parent is None or sleep.parent.type != "statement_list":
            return None
        if in_bubble(sleep):
            return None  # a fake clock: the sleep costs nothing and orders the bubble's goroutines
        compute, assertions = _following(sleep, packages)
        if not assertions:
            return None  # sleep-without-condition's site
        message = f"time.Sleep then {len(assertions)} assertion(s): wait for the condition instead"
        # From here on the site is ours, and sleep-without-condition stays silent: say why it stays.
        if tvar.kind != "T":
            return ctx.finding(
                self.id, call, f"{message} (in a {tvar.kind} function, not a test; review by hand)"
            )
        life = lifetime_between(sleep, tvar.owner)
        if life is not Lifetime.SYNC:
            where = {
                Lifetime.GOROUTINE: "a goroutine",
                Lifetime.CLEANUP: "a t.Cleanup",
            }.get(life, "a closure that may run after the test")
            return ctx.finding(self.id, call, f"{message} (inside {where}; review by hand)")
        if _in_own_loop(sleep, tvar.owner):
            return ctx.finding(self.id, call, f"{message} (inside a loop: each pass sleeps; review by hand)")
        if _first_arg(assertions[0]) != tvar.name:
            return ctx.finding(
                self.id, call, f"{message} (the assertions are not on {tvar.name}; review by hand)"
            )
        assertions = _prefix_on(assertions, tvar.name)
        problem = self._problem(sleep, compute, assertions, tvar)
        if problem is None and _time_is_the_subject(sleep, compute, assertions):
            problem = "the sleep is the time under test (durations, timeouts, expiry)"
        if problem is not None:
            return ctx.finding(self.id, call, f"{message} ({problem}; review by hand)")
        fix = self._fix(ctx, sleep, call, compute, assertions, tvar)
        if isinstance(fix, str):
            return ctx.finding(self.id, call, f"{message} ({fix})")
        return ctx.finding(self.id, call, message, fix)

    def _problem(
        self, sleep: Node, compute: list[Node], assertions: list[Assertion], tvar: TestVar
    ) -> str | None:
        """Why this site must not be rewritten, or None."""
        for assertion in assertions:
            if _negative(sleep, assertion):
                return "a negative check: Eventually would pass at once; consider require.Never"
            args = call_arguments(assertion.call)[1:]
            effects = [e for e in (_effect(a) for a in args) if e is not None]
            if effects:
                return f"side effect in the condition: {effects[0]}, and a retry would repeat it"
            if any(mentions(a, tvar.name) for a in args):
                return f"an assertion argument uses {tvar.name}"
        for statement in compute:
            if statement.type not in ("short_var_declaration", "assignment_statement"):
                return "statements between the sleep and the assertions"
            effect = _effect(statement)
            if effect is not None or mentions(statement, tvar.name):
                return f"side effect in the condition: {effect or tvar.name} would run on every poll"
            if any(_used_after(statement, assertions[-1].statement)):
                return "a value computed after the sleep is used after the assertions"
            if statement.type == "assignment_statement":
                return "an assignment between the sleep and the assertions"
        polled = [*compute, *(a for x in assertions for a in call_arguments(x.call)[1:])]
        if not _repolled(polled, tvar.owner):
            return (
                "nothing to poll: the assertions check values computed before the sleep, which cannot change"
            )
        return None

    def _fix(
        self,
        ctx: FileContext,
        sleep: Node,
        call: Node,
        compute: list[Node],
        assertions: list[Assertion],
        tvar: TestVar,
    ) -> Fix | str:
        wait, tick = self._timing(ctx, call)
        fatal = any(a.package == "require" for a in assertions)
        outer_path = REQUIRE if fatal else ASSERT
        outer = ctx.imports.name_for(outer_path)
        indent = line_indent(ctx.source, sleep.start_byte)
        start = sleep.start_byte
        end = assertions[-1].statement.end_byte
        imports = [ImportRequest(outer_path, outer)]
        only = assertions[0]
        if not compute and len(assertions) == 1 and only.name in ("True", "False", "Truef", "Falsef"):
            args = call_arguments(only.call)
            cond = text(args[1])
            if only.name.startswith("False"):
                cond = f"!{cond}" if _simple(args[1]) else f"!({cond})"
            rest = "".join(f", {text(a)}" for a in args[2:])
            closure = f"func() bool {{\n{indent}\treturn {cond}\n{indent}}}"
            body = f"{outer}.Eventually({tvar.name}, {closure}, {wait}, {tick}{rest})"
            return self._make(start, end, body, imports)
        version = ctx.project.testify_version
        if version is not None and version < COLLECT_MIN_TESTIFY:
            return "testify is older than 1.8.3 (no EventuallyWithT); not rewritten"
        assert_name = ctx.imports.name_for(ASSERT)
        imports.append(ImportRequest(ASSERT, assert_name))
        collector = _free_name(ctx, [*compute, *(a.statement for a in assertions)], ("c", "collect", "ct"))
        if collector is None:
            return "no free name for the collector"
        inner_lines = []
        for statement in compute:
            inner_lines.append(_reindent(ctx.source, statement, indent))
        for assertion in assertions:
            inner_lines.append(
                _reindent(ctx.source, assertion.statement, indent, (assertion, assert_name, collector))
            )
        inner = "\n".join(f"{indent}\t{line}" for line in inner_lines)
        if any("\n" in text(n) and "`" in text(n) for n in [*compute, *(a.statement for a in assertions)]):
            return "a raw string spans lines; not moved"
        between = ctx.source[sleep.end_byte : assertions[0].statement.start_byte].decode()
        if "//" in between or "/*" in between:
            return "comments between the sleep and the assertions; not moved"
        body = (
            f"{outer}.EventuallyWithT({tvar.name}, func({collector} *{assert_name}.CollectT) {{\n"
            f"{inner}\n{indent}}}, {wait}, {tick})"
        )
        return self._make(start, end, body, imports)

    def _make(self, start: int, end: int, body: str, imports: list[ImportRequest]) -> Fix:
        return Fix(
            edits=(Edit(start, end, body),),
            safety=Safety.UNSAFE,
            reason="the condition is retried until it holds: a failing test may now pass for another reason",
            add_imports=tuple(imports),
            maybe_unused_imports=("time",),
        )

    def _timing(self, ctx: FileContext, sleep_call: Node) -> tuple[str, str]:
        args = call_arguments(sleep_call)
        seconds = duration_seconds(args[0]) if args else None
        if args and args[0].type in ("int_literal", "float_literal") and seconds is not None:
            seconds *= 1e-9  # a bare number is nanoseconds
        settings = ctx.settings
        # The tick follows the kind of test, never the sleep: a unit test that slept 1 s must not now
        # wait a 1 s tick after its first failed poll. The wait covers the sleep it replaces, 3 times.
        if ctx.project.integration:
            wait, tick = settings.integration_wait, settings.integration_tick
        else:
            wait, tick = settings.unit_wait, settings.unit_tick
        if seconds is not None:
            try:
                configured = go_duration(wait) / 1e9
            except ValueError:
                return wait, tick
            if 3 * seconds > configured:
                wait = f"{math.ceil(3 * seconds)}*time.Second"
        return wait, tick


def _following(sleep: Node, packages: dict[str, str]) -> tuple[list[Node], list[Assertion]]:
    """Statements right after the sleep: (compute statements, then consecutive assertions)."""
    compute: list[Node] = []
    assertions: list[Assertion] = []
    node = sleep.next_named_sibling
    while node is not None:
        if node.type == "comment":
            node = node.next_named_sibling
            continue
        assertion = _assertion(node, packages)
        if assertion is not None:
            assertions.append(assertion)
        elif assertions:
            break
        elif len(compute) < 3 and node.type in ("short_var_declaration", "assignment_statement"):
            compute.append(node)
        else:
            break
        node = node.next_named_sibling
    return compute, assertions


def _assertion(statement: Node, packages: dict[str, str]) -> Assertion | None:
    if statement.type != "expression_statement" or not statement.named_children:
        return None
    call = statement.named_children[0]
    if call.type != "call_expression":
        return None
    operand, name = call_parts(call)
    if operand not in packages or name not in ASSERTIONS:
        return None
    return Assertion(statement, call, "require" if packages[operand] == REQUIRE else "assert", name)


def following_assertions(sleep: Node, packages: dict[str, str]) -> list[Assertion]:
    """The assertions that follow a sleep statement (for the report-only sleep transform)."""
    return _following(sleep, packages)[1]


def _first_arg(assertion: Assertion) -> str:
    args = call_arguments(assertion.call)
    return text(args[0]) if args else ""


def _prefix_on(assertions: list[Assertion], tname: str) -> list[Assertion]:
    """The run of assertions on `tname`; an assertion on another t ends it."""
    out = []
    for assertion in assertions:
        if _first_arg(assertion) != tname:
            break
        out.append(assertion)
    return out


def _in_own_loop(node: Node, owner: Node) -> bool:
    """A `for` loop inside the test function around the sleep (a poll, or a repetition)."""
    for anc in ancestors(node):
        if anc == owner:
            return False
        if anc.type == "for_statement":
            return True
    return False


def in_bubble(node: Node) -> bool:
    """A synctest bubble anywhere around the sleep (a fake clock)."""
    return any(
        a.type == "call_expression" and call_parts(a) in (("synctest", "Test"), ("synctest", "Run"))
        for a in ancestors(node)
    )


def _negative(sleep: Node, assertion: Assertion) -> bool:
    args = call_arguments(assertion.call)
    messages = [text(a) for a in args if a.type in ("interpreted_string_literal", "raw_string_literal")]
    # "verify no more executions", "should still be running": the comment says nothing must change.
    messages += [text(c) for c in comments_around(sleep)]
    if any(_NEGATION.search(m) for m in messages):
        return True
    base = assertion.name.removesuffix("f")
    if base == "Len" and len(args) >= 3 and text(args[2]) == "0":
        return not _state_change_before(sleep)
    if base in _NEGATIVE_NAMES:
        return not _state_change_before(sleep)
    if base in ("Equal", "EqualValues", "Exactly") and len(args) >= 3:
        return _snapshot_before(sleep, args[1]) or _snapshot_before(sleep, args[2])
    return False


TIME_SUBJECT = re.compile(
    r"duration|elapsed|\bSince\(|timeout|timed.?out|expir|deadline|\bttl|ttl\b|\bage\b|stale|idle|grace|"
    r"halfway|backoff|\brate\b|rate.?limit|interval|period|debounce|throttle|latency",
    re.IGNORECASE,
)


def _time_is_the_subject(sleep: Node, compute: list[Node], assertions: list[Assertion]) -> bool:
    """Whether the test measures the passage of time itself: then the sleep is the point, not a wait."""
    nearby = [text(n) for n in (*compute, *(a.statement for a in assertions))]
    # The comment block above the sleep (a block's first statement's comments are not its siblings in
    # tree-sitter's tree) and a comment on its line.
    nearby.extend(text(c) for c in comments_around(sleep))
    return any(TIME_SUBJECT.search(chunk) for chunk in nearby)


def _state_change_before(sleep: Node) -> bool:
    previous = sleep.prev_named_sibling
    while previous is not None and previous.type == "comment":
        previous = previous.prev_named_sibling
    if previous is None or previous.type in ("defer_statement", "go_statement"):
        return False  # a deferred call has not happened yet
    calls = [n for n in walk(previous) if n.type == "call_expression"]
    return any(_STATE_CHANGE.match(call_parts(c)[1] or "") for c in calls)


def _snapshot_before(sleep: Node, arg: Node) -> bool:
    """`arg` names a value read before the sleep (count2 := x.Count(); sleep; Equal(count2, x.Count()))."""
    if arg.type != "identifier":
        return False
    name = text(arg)
    previous = sleep.prev_named_sibling
    for _ in range(6):
        if previous is None:
            return False
        if previous.type in ("short_var_declaration", "assignment_statement"):
            left = previous.child_by_field_name("left")
            right = previous.child_by_field_name("right")
            if left is not None and any(text(n) == name for n in left.named_children):
                return right is not None and any(n.type == "call_expression" for n in walk(right))
        previous = previous.prev_named_sibling
    return False


def _effect(node: Node) -> str | None:
    """What in `node` a retry would repeat: a receive, a write, or a call not known to be a read."""
    for child in walk(node):
        if child.type == "unary_expression" and text(child).startswith("<-"):
            return "a channel receive"
        if child.type in ("inc_statement", "dec_statement", "send_statement", "func_literal"):
            return f"`{text(child).splitlines()[0]}` writes"
        if child.type == "call_expression" and not _is_read(child):
            return f"{text(child.child_by_field_name('function'))}() is not a known read"
    return None


# Calls that only read: getters, atomic loads, lookups, lengths. Any other call is not a read (a
# token bucket's Retrieve(5), a CheckReplica that writes a store): retrying it would repeat it.
_READ_METHOD = re.compile(
    r"^(?:Get|Load|Len|Count|Size|Cap|Is|Has|Contains|Exists|Lookup|Find|Peek|State|Status|Value|Values|"
    r"Keys|Snapshot|Stats|Current|Num|Total|Healthy|Ready|Running|Err|Error|String|Name|Names|ID|Addr|"
    r"Equal|Unwrap|Seconds|Duration|Time|Age|Milliseconds|Microseconds|Nanoseconds|Minutes|Hours|Before|After|IsZero|Sub|Since|Until|Bool|Int|Int32|Int64|Uint|"
    r"Uint32|Uint64|Float64|Bytes|Elapsed|Stat|ReadFile|Lstat|ReadDir|DeepEqual|Sprintf|Sprint|HasPrefix|"
    r"HasSuffix|Index|Join|Base|Dir|Ext|Fields|Split|TrimSpace|ToLower|ToUpper|Itoa|Atoi|FormatInt|As|"
    r"NumGoroutine|Now|Matches|Match|MatchString)(?:[A-Z0-9_]\w*)?$"
)
_READ_BUILTINS = frozenset(
    {"len", "cap", "min", "max", "string", "int", "int32", "int64", "uint", "uint32", "uint64", "float64",
     "bool", "byte", "rune", "errors", "complex", "real", "imag"}
)  # fmt: skip


def _is_read(call: Node) -> bool:
    operand, name = call_parts(call)
    if not name:
        return False
    if not operand:
        return name in _READ_BUILTINS or bool(_READ_METHOD.match(name[:1].upper() + name[1:]))
    return bool(_READ_METHOD.match(name[:1].upper() + name[1:]) or _READ_SUFFIX.search(name))


_READ_SUFFIX = re.compile(r"(?:Count|Len|Length|Size|Total|Capacity)$")


def _repolled(nodes: list[Node], owner: Node) -> bool:
    """Whether the poll would re-evaluate something that can change: a call, a field, an index, a
    dereference, or a local that a closure of the test assigns (a goroutine's flag)."""
    written = {
        text(target)
        for literal in find(owner, "func_literal")
        for stmt in find(literal, "assignment_statement", "inc_statement", "dec_statement")
        for target in (stmt.child_by_field_name("left") or stmt).named_children[:1] or [stmt]
    }
    for node in nodes:
        for child in walk(node):
            if child.type in ("call_expression", "selector_expression", "index_expression"):
                return True
            if child.type == "unary_expression" and text(child).startswith("*"):
                return True
            if child.type == "identifier" and text(child) in written:
                return True
    return False


def _used_after(statement: Node, last: Node) -> list[Node]:
    scope = statement.parent
    if scope is None:
        return []
    left = statement.child_by_field_name("left")
    names = [
        text(n) for n in (left.named_children if left else []) if n.type == "identifier" and text(n) != "_"
    ]
    return [u for name in names for u in uses_of(scope, name, last.end_byte)]


def _simple(node: Node) -> bool:
    return node.type in ("identifier", "call_expression", "selector_expression", "index_expression")


def _free_name(ctx: FileContext, nodes: list[Node], candidates: tuple[str, ...]) -> str | None:
    used = {text(n) for node in nodes for n in walk(node) if n.type == "identifier"}
    return next((c for c in candidates if c not in used), None)


def _reindent(
    source: bytes, statement: Node, indent: str, rewrite: tuple[Assertion, str, str] | None = None
) -> str:
    """The statement's text one level deeper; an assertion is aimed at the collector."""
    start, end = statement.start_byte, statement.end_byte
    edits: list[tuple[int, int, str]] = []
    if rewrite is not None:
        assertion, assert_name, collector = rewrite
        function = assertion.call.child_by_field_name("function")
        operand = function.child_by_field_name("operand") if function is not None else None
        first = call_arguments(assertion.call)[0]
        if operand is not None:
            edits.append((operand.start_byte, operand.end_byte, assert_name))
        edits.append((first.start_byte, first.end_byte, collector))
    out = []
    pos = start
    for e_start, e_end, new in sorted(edits):
        out.append(source[pos:e_start].decode())
        out.append(new)
        pos = e_end
    out.append(source[pos:end].decode())
    joined = "".join(out)
    return joined.replace("\n", "\n\t")
