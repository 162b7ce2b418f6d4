"""`require.Equal(t, "msg", err.Error())` -> `require.EqualError(t, err, "msg")`, `Contains(t,
err.Error(), s)` -> `ErrorContains(t, err, s)`."""

from __future__ import annotations

from tree_sitter import Node

from codemod.edits import Edit, Finding, Fix, Safety
from codemod.flow import is_error_variable, pairs_of, visible_declaration
from codemod.gosyntax import call_arguments, call_parts, find, text
from codemod.testify import Assertion, assertions, error_check_before, missing, statement_alone
from codemod.transform import FileContext, Transform

_NAMES = frozenset({"Equal", "Equalf", "Contains", "Containsf"})
_TARGET = {"Equal": "EqualError", "Contains": "ErrorContains"}
_STRING_LITERALS = ("interpreted_string_literal", "raw_string_literal")


class ErrorMessageAssertion(Transform):
    """
    What it does
        Rewrites a check of an error's message through `err.Error()` to testify's error assertion:
        `Equal(t, "msg", err.Error())` (either argument order) becomes `EqualError(t, err, "msg")`
        and `Contains(t, err.Error(), s)` becomes `ErrorContains(t, err, s)`, for `require`/`assert`
        under any import name, `require.New(t)` and testify suite methods (`s.Equal`,
        `s.Require().Contains`); messages and format arguments stay (`Containsf` -> `ErrorContainsf`).
        A `require.Error(t, err)` right before it, spelled the same way and with no message of its
        own, goes: the new assertion starts with the same nil check and the same failure message.

    Why
        The guide's "Weak Error Assertions" asks for a check of which error came. `err.Error()` on a
        nil `err` panics: the test dies with a stack trace instead of "An error is expected but got
        nil", and `assert` forms take the rest of the test down with them. `ErrorContains` and
        `EqualError` check that there is an error first and print the message they got.

    Leaves alone
        `NotEqual`/`NotContains` (testify has no negative form), `x.Error()` where `x` is not shown
        to be an error variable (declared `error`, or named like one and bound from a call): a struct
        with an `Error() string` method (`resp.Error()`) is reported, not rewritten. A `require.Error`
        before an `assert` form stays: it stops the test and `assert` would not. `ErrorContains` needs
        testify v1.7.1: an older module is reported with the version it needs.

    Example
        require.Error(t, err)
        require.Contains(t, err.Error(), "connection refused")
        // becomes
        require.ErrorContains(t, err, "connection refused")

    Fix safety
        Safe when the expected text is plainly a string (a literal, `fmt.Sprintf`, `x.Error()`, a
        string variable, constant or struct field): the message comparison is the same, and a nil
        error now fails instead of panicking. Unsafe otherwise: `EqualError` and `ErrorContains`
        take a `string`, so a value of a named string type or `[]byte` would no longer compile.
    """

    id = "error-message-assertion"
    guide_section = "❌ Weak Error Assertions"
    summary = "require.Contains(t, err.Error(), s) -> require.ErrorContains(t, err, s); Equal -> EqualError"
    review_hint = "unsafe fixes: the expected text's type was not visible; the compiler will tell"

    def run(self, ctx: FileContext) -> list[Finding]:
        found = []
        for assertion in assertions(ctx, _NAMES):
            finding = self._site(ctx, assertion)
            if finding is not None:
                found.append(finding)
        return found

    def _site(self, ctx: FileContext, assertion: Assertion) -> Finding | None:
        if len(assertion.args) < 2 or _has_comment_between(assertion):
            return None
        first, second = assertion.args[0], assertion.args[1]
        if assertion.base == "Equal":
            error_call = second if _error_call(second) is not None else first
        else:
            error_call = first
        err = _error_call(error_call)
        if err is None:
            return None
        if error_call == first and assertion.base == "Equal" and err.type != "identifier":
            return None  # `Equal(t, ErrX.Error(), got.Message)`: the expected side, not an error checked
        expected = first if error_call == second else second
        target = assertion.renamed(_TARGET[assertion.base])
        spelled = f"{assertion.form}{assertion.name} on {text(err)}.Error()"
        if err.type != "identifier" or not is_error_variable(err):
            return ctx.finding(
                self.id,
                assertion.call,
                f"{spelled}: not rewritten to {target}, since {text(err)} is not shown to be an error "
                "variable",
            )
        declared = _declared_type(ctx, expected)
        if declared not in (None, "string"):
            return ctx.finding(
                self.id,
                assertion.call,
                f"{spelled}: not rewritten to {target}, since {text(expected)} is declared {declared} "
                "and it takes a string",
            )
        lacking = missing(ctx.project, _TARGET[assertion.base])
        if lacking is not None:
            return ctx.finding(self.id, assertion.call, f"{spelled}: not rewritten, {lacking}")
        expected_text = ctx.source[expected.start_byte : expected.end_byte].decode("utf-8")
        edits = [
            Edit(assertion.name_node.start_byte, assertion.name_node.end_byte, target),
            Edit(first.start_byte, second.end_byte, f"{text(err)}, {expected_text}"),
        ]
        check = error_check_before(assertion, err)
        dropped = statement_alone(ctx.source, check) if check is not None else None
        if dropped is not None:
            edits.insert(0, dropped)
        if _is_string(ctx, expected):
            safety, reason = Safety.SAFE, f"{target} compares the same message and fails on a nil error"
        else:
            safety, reason = (
                Safety.UNSAFE,
                f"{text(expected)} is not plainly a string: {target} takes one, and a named string type "
                "would not compile",
            )
        message = (
            f"{spelled} panics when {text(err)} is nil: {assertion.form}{target} checks it is set and "
            "prints the message"
        )
        if dropped is not None:
            message += f" (and makes the {assertion.form}Error before it redundant)"
        return ctx.finding(self.id, assertion.call, message, Fix(tuple(edits), safety, reason))


def _error_call(node: Node) -> Node | None:
    """The operand of `x.Error()`, else None."""
    if node.type != "call_expression" or call_arguments(node):
        return None
    fn = node.child_by_field_name("function")
    if fn is None or fn.type != "selector_expression" or text(fn.child_by_field_name("field")) != "Error":
        return None
    return fn.child_by_field_name("operand")


def _has_comment_between(assertion: Assertion) -> bool:
    first, second = assertion.args[0], assertion.args[1]
    holder = first.parent
    return holder is not None and any(
        c.type == "comment" and first.end_byte <= c.start_byte < second.start_byte for c in holder.children
    )


def _is_string(ctx: FileContext, node: Node, depth: int = 0) -> bool:
    """Whether `node` is plainly of type string (or an untyped string constant)."""
    if depth > 4:
        return False
    if node.type in _STRING_LITERALS:
        return True
    if node.type == "parenthesized_expression" and node.named_children:
        return _is_string(ctx, node.named_children[0], depth + 1)
    if node.type == "binary_expression" and text(node.child_by_field_name("operator")) == "+":
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        return any(side is not None and _is_string(ctx, side, depth + 1) for side in (left, right))
    if node.type == "call_expression":
        package, function = call_parts(node)
        fmt = ctx.imports.local_name("fmt")
        return _error_call(node) is not None or (
            fmt is not None and package == fmt and function in ("Sprintf", "Sprint", "Sprintln")
        )
    if node.type == "identifier":
        return _identifier_is_string(ctx, node, depth)
    if node.type == "selector_expression":
        return _field_is_string(ctx, text(node.child_by_field_name("field")))
    return False


def _identifier_is_string(ctx: FileContext, identifier: Node, depth: int) -> bool:
    decl = visible_declaration(identifier)
    if decl is None:  # a package-level constant or variable of this file
        decls = [
            d
            for d in find(ctx.tree.root_node, "const_spec", "var_spec")
            if d.parent is not None
            and d.parent.parent == ctx.tree.root_node
            and any(text(n) == text(identifier) for n in d.children_by_field_name("name"))
        ]
        decl = decls[0] if len(decls) == 1 else None
    if decl is None:
        return False
    declared_type = decl.child_by_field_name("type")
    if declared_type is not None:
        return text(declared_type) == "string"
    if decl.type not in ("short_var_declaration", "var_spec", "const_spec"):
        return False
    value = pairs_of(decl).get(text(identifier))
    return value is not None and _is_string(ctx, value, depth + 1)


def _field_types(ctx: FileContext, field: str) -> set[str]:
    """The declared types of the struct fields of this file named `field` (table-driven cases)."""
    return {
        text(decl.child_by_field_name("type"))
        for decl in ctx.nodes("field_declaration")
        if any(text(n) == field for n in decl.children_by_field_name("name"))
    }


def _field_is_string(ctx: FileContext, field: str) -> bool:
    return _field_types(ctx, field) == {"string"}


def _declared_type(ctx: FileContext, node: Node) -> str | None:
    """The one type a variable or field is visibly declared with (`var x any`, `want []byte` in the
    file's only struct with that field), else None."""
    if node.type == "selector_expression":
        types = _field_types(ctx, text(node.child_by_field_name("field")))
        return types.pop() if len(types) == 1 else None
    if node.type != "identifier":
        return None
    decl = visible_declaration(node)
    declared = decl.child_by_field_name("type") if decl is not None else None
    return text(declared) if declared is not None else None
