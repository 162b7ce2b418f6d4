"""testify assertion calls in every spelling a test uses, and the testify release each assertion needs.

A call is an assertion when it is `require.X(t, ...)` / `assert.X(t, ...)` (under any import name),
`r.X(...)` on `r := require.New(t)`, or, in a testify suite method, `s.X(...)`, `s.Require().X(...)`
and `s.Assert().X(...)` on the method's receiver.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from codemod.edits import Edit, Finding, Fix, Safety
from codemod.flow import visible_declaration
from codemod.gosyntax import call_arguments, call_parts, line_end, line_start, text
from codemod.project import ProjectInfo
from codemod.suites import suite_method, suite_test_var, suite_types
from codemod.transform import FileContext

REQUIRE = "github.com/stretchr/testify/require"
ASSERT = "github.com/stretchr/testify/assert"

# The first testify release that has each assertion (and its `f` form), read in the released
# sources (`require/require.go` of v1.1.4, v1.6.1, v1.7.0, v1.7.1, v1.9.0 and v1.10.0).
SINCE: dict[str, tuple[int, int, int]] = {
    "EqualError": (1, 1, 4),
    "ErrorIs": (1, 7, 0),
    "NotErrorIs": (1, 7, 0),
    "ErrorAs": (1, 7, 0),
    "NotErrorAs": (1, 10, 0),
    "ErrorContains": (1, 7, 1),
}
_WITH_F_FORM = frozenset({"True", "False", "Equal", "Contains", "Error"})


@dataclass(frozen=True)
class Assertion:
    call: Node
    name: str  # as spelled: "True", "Truef"
    name_node: Node  # where the name is spelled
    form: str  # the text before the name: "require.", "s.Require().", "s.", "r."
    stops: bool | None  # True: require (the test stops), False: assert, None: a suite's own (either)
    t: Node | None  # the testing argument of the package functions
    args: list[Node]  # the arguments after t

    @property
    def base(self) -> str:
        """The name without its format suffix: `Truef` -> `True`."""
        if self.name.endswith("f") and self.name[:-1] in _WITH_F_FORM:
            return self.name[:-1]
        return self.name

    @property
    def formatted(self) -> bool:
        return self.base != self.name

    def renamed(self, base: str) -> str:
        return base + ("f" if self.formatted else "")

    @property
    def leading(self) -> str:
        """`t, ` for the package functions, nothing for methods: what precedes the first argument."""
        return "" if self.t is None else text(self.t) + ", "


def assertions(ctx: FileContext, names: frozenset[str]) -> list[Assertion]:
    """Every testify assertion call named in `names` (give the `f` forms too), in source order."""
    packages = {name: path for path in (REQUIRE, ASSERT) if (name := ctx.imports.local_name(path))}
    found = []
    suites: frozenset[str] | None = None
    for call in ctx.nodes("call_expression"):
        fn = call.child_by_field_name("function")
        if fn is None or fn.type != "selector_expression":
            continue
        name_node = fn.child_by_field_name("field")
        operand = fn.child_by_field_name("operand")
        if name_node is None or operand is None or text(name_node) not in names:
            continue
        if suites is None and (operand.type != "identifier" or text(operand) not in packages):
            suites = suite_types(ctx.path, ctx.source)  # the suite type may be declared in another file
        assertion = _assertion(call, name_node, operand, packages, suites or frozenset())
        if assertion is not None:
            found.append(assertion)
    return found


def _assertion(
    call: Node, name_node: Node, operand: Node, packages: dict[str, str], suites: frozenset[str]
) -> Assertion | None:
    args = call_arguments(call)
    name, form = text(name_node), text(operand) + "."
    if operand.type == "identifier":
        declared = visible_declaration(operand)
        if declared is None and text(operand) in packages:
            if not args:
                return None
            stops = packages[text(operand)] == REQUIRE
            return Assertion(call, name, name_node, form, stops, args[0], args[1:])
        if declared is not None:
            made_by = _made_by_new(declared, text(operand), packages)
            if made_by is not None:
                return Assertion(call, name, name_node, form, made_by, None, args)
        if _is_suite_receiver(operand, suites):
            return Assertion(call, name, name_node, form, None, None, args)
        return None
    if operand.type == "call_expression" and not call_arguments(operand):
        method = call_parts(operand)[1]
        inner = operand.child_by_field_name("function")
        holder = inner.child_by_field_name("operand") if inner is not None else None
        if method in ("Require", "Assert") and holder is not None and holder.type == "identifier":
            if _is_suite_receiver(holder, suites):
                return Assertion(call, name, name_node, form, method == "Require", None, args)
    return None


def _made_by_new(declaration: Node, name: str, packages: dict[str, str]) -> bool | None:
    """Whether `name := require.New(t)` (True) or `assert.New(t)` (False) declared it; None otherwise."""
    if declaration.type not in ("short_var_declaration", "var_spec"):
        return None
    field = "value" if declaration.type == "var_spec" else "right"
    values = declaration.child_by_field_name(field)
    left = (
        declaration.children_by_field_name("name")
        if declaration.type == "var_spec"
        else (declaration.child_by_field_name("left") or declaration).named_children
    )
    if values is None or len(values.named_children) != len(left):
        return None
    for target, value in zip(left, values.named_children, strict=True):
        if text(target) == name and value.type == "call_expression":
            package, function = call_parts(value)
            if function == "New" and package in packages:
                return packages[package] == REQUIRE
    return None


def _is_suite_receiver(identifier: Node, suites: frozenset[str]) -> bool:
    if not suites:
        return False
    found = suite_method(identifier, suites)
    if found is None or found[1] != text(identifier):
        return False
    return suite_test_var(identifier, found) is not None


def version_text(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(str(p) for p in version)


def missing(project: ProjectInfo, assertion: str) -> str | None:
    """Why the module's testify lacks `assertion` (`ErrorIs needs testify >= v1.7.0, go.mod has
    v1.6.1`), or None when it has it (or the version is unknown: no go.mod to say otherwise)."""
    needed = SINCE.get(assertion)
    have = project.testify_version
    if needed is None or have is None or have >= needed:
        return None
    return f"{assertion} needs testify >= {version_text(needed)}, go.mod has {version_text(have)}"


def statement_alone(source: bytes, statement: Node) -> Edit | None:
    """The edit that deletes `statement` with its line(s), when nothing else shares those lines."""
    start, end = line_start(source, statement.start_byte), line_end(source, statement.end_byte - 1)
    before = source[start : statement.start_byte]
    after = source[statement.end_byte : end]
    if before.strip() or after.strip():
        return None
    return Edit(start, end, "")


def error_check_before(assertion: Assertion, err: Node) -> Node | None:
    """`require.Error(t, err)` right before the assertion's statement (no comment between), on the
    same error and test, with no message of its own, spelled as the assertion is (`require.` before
    `require.`, `s.` before `s.`, so it stops the test exactly when the assertion does): the statement
    an EqualError/ErrorContains makes redundant, since both begin with the same nil check."""
    statement = assertion.call.parent
    if statement is None or statement.type != "expression_statement":
        return None
    previous = statement.prev_sibling
    while previous is not None and not previous.is_named:
        previous = previous.prev_sibling
    if previous is None or previous.type != "expression_statement" or not previous.named_children:
        return None
    call = previous.named_children[0]
    fn = call.child_by_field_name("function")
    if call.type != "call_expression" or fn is None or fn.type != "selector_expression":
        return None
    if text(fn.child_by_field_name("field")) != "Error":
        return None
    operand = fn.child_by_field_name("operand")
    args = call_arguments(call)
    if operand is None or text(operand) + "." != assertion.form:
        return None  # another spelling may stop the test where this one does not
    expected = [text(assertion.t), text(err)] if assertion.t is not None else [text(err)]
    return previous if [text(a) for a in args] == expected else None


# -- True(errors.Is(err, X)) / True(errors.As(err, &target)) -------------------------------------------

# Packages whose Is/As are the standard library's (pkg/errors from v0.9.0, the first with them, on any
# Go >= 1.13; xerrors only from its 2024 releases: before, its own walk did not follow errors.Join).
ERRORS_PACKAGES = {"errors": "", "github.com/pkg/errors": "", "golang.org/x/xerrors": "xerrors"}
_PREDICATE_HOLDERS = frozenset({"True", "Truef", "False", "Falsef"})


def error_predicate_findings(
    ctx: FileContext, transform_id: str, predicate: str, on_true: str, on_false: str
) -> list[Finding]:
    """`True(t, errors.<predicate>(err, x))` becomes `<on_true>(t, err, x)`, `False` `<on_false>`."""
    packages = {name: path for path in ERRORS_PACKAGES if (name := ctx.imports.local_name(path))}
    if not packages:
        return []
    found = []
    for assertion in assertions(ctx, _PREDICATE_HOLDERS):
        condition = assertion.args[0] if assertion.args else None
        if condition is None or condition.type != "call_expression":
            continue  # `errors.Is(err, X) == true`, `!errors.Is(...)`: another shape, left alone
        fn = condition.child_by_field_name("function")
        operand = fn.child_by_field_name("operand") if fn is not None else None
        package, function = call_parts(condition)
        inner = call_arguments(condition)
        if function != predicate or package not in packages or operand is None or len(inner) != 2:
            continue
        if visible_declaration(operand) is not None:
            continue  # a local variable named like the package
        target = assertion.renamed(on_true if assertion.base == "True" else on_false)
        spelled = f"{assertion.form}{assertion.name}({assertion.leading}{package}.{predicate}(...))"
        lacking = missing(ctx.project, on_true if assertion.base == "True" else on_false)
        if lacking is not None:
            found.append(ctx.finding(transform_id, assertion.call, f"{spelled}: not rewritten, {lacking}"))
            continue
        arguments = ctx.source[inner[0].start_byte : inner[1].end_byte].decode("utf-8")
        edits = (
            Edit(assertion.name_node.start_byte, assertion.name_node.end_byte, target),
            Edit(condition.start_byte, condition.end_byte, arguments),
        )
        path = packages[package]
        if ERRORS_PACKAGES[path]:
            safety, reason = (
                Safety.UNSAFE,
                f"{package}.{predicate} before x/xerrors' 2024 releases does not follow errors.Join "
                f"chains; {target} uses the standard library's errors.{predicate}",
            )
        else:
            safety, reason = Safety.SAFE, f"{target} calls errors.{predicate} on the same arguments"
        message = (
            f"{spelled} fails with only 'Should be {assertion.base.lower()}': "
            f"{assertion.form}{target} prints the error chain"
        )
        fix = Fix(edits, safety, reason, maybe_unused_imports=(path,))
        found.append(ctx.finding(transform_id, assertion.call, message, fix))
    return found
