"""Which testing variable is in scope at a node, and when the code around it runs relative to the test."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from tree_sitter import Node

from codemod.edits import Edit
from codemod.gosyntax import call_parts, enclosing_functions, find, is_inside, parameters, testing_kind, text
from codemod.scope import is_shadowed, uses_of

# Functions that call their func argument synchronously, while the test runs.
SYNC_CALLERS = frozenset(
    {
        "Run",
        "RunParallel",
        "Fuzz",
        "Eventually",
        "EventuallyWithT",
        "EventuallyWithTf",
        "Eventuallyf",
        "Never",
        "Neverf",
        "Condition",
        "Conditionf",
        "Panics",
        "NotPanics",
        "PanicsWithValue",
        "PanicsWithError",
        "Panicsf",
        "NotPanicsf",
    }
)
GOROUTINE_CALLERS = frozenset({"Go", "TryGo"})  # errgroup.Group.Go, sync.WaitGroup.Go


class Lifetime(StrEnum):
    SYNC = "sync"  # runs while the test runs, on its goroutine or waited for
    GOROUTINE = "goroutine"  # runs concurrently with the test
    CLEANUP = "cleanup"  # runs after t.Context() is cancelled
    UNKNOWN = "unknown"  # stored, returned or handed to other code: may run at any time


@dataclass(frozen=True)
class TestVar:
    name: str
    kind: str  # "T", "TB", "B", "F"
    owner: Node  # the function declaring it


def test_var(node: Node, testing_name: str | None) -> TestVar | None:
    """The innermost usable testing parameter in scope at `node` (*testing.T preferred in one list)."""
    if testing_name is None:
        return None
    inner_names: set[str] = set()
    for func in enclosing_functions(node):
        params = parameters(func)
        found = [(p, testing_kind(p.type_node, testing_name)) for p in params]
        usable = [(p, k) for p, k in found if k is not None and p.name not in ("", "_")]
        usable.sort(key=lambda pk: pk[1] != "T")
        if usable:
            param, kind = usable[0]
            if param.name in inner_names or is_shadowed(func, param.name, node):
                return None
            assert kind is not None
            return TestVar(param.name, kind, func)
        inner_names.update(p.name for p in params)
    return None


def unnamed_test_param(node: Node, testing_name: str) -> tuple[TestVar, Edit | None] | None:
    """`func TestX(_ *testing.T)` / `func(*testing.T)` around `node`: the handle it would need, and the
    edit that names the parameter `t` (`b`, `f`, `tb`; None when that name is spelled anywhere in the
    function)."""
    for func in enclosing_functions(node):
        plist = func.child_by_field_name("parameters")
        if plist is None:
            continue
        for decl in plist.named_children:
            type_node = decl.child_by_field_name("type")
            kind = testing_kind(type_node, testing_name) if type_node is not None else None
            if kind is None:
                continue
            names = decl.children_by_field_name("name")
            if names and text(names[0]) != "_":
                return None  # a named handle that test_var refused (shadowed, or an outer one): leave it
            name = _CONVENTIONAL_NAMES[kind]
            tvar = TestVar(name, kind, func)
            if any(text(n) == name for n in find(func, "identifier")):
                return tvar, None
            assert type_node is not None
            if names:
                return tvar, Edit(names[0].start_byte, names[0].end_byte, name)
            return tvar, Edit(type_node.start_byte, type_node.start_byte, f"{name} ")
    return None


_CONVENTIONAL_NAMES = {"T": "t", "B": "b", "F": "f", "TB": "tb"}


def closure_lifetime(func_literal: Node) -> Lifetime:
    """When a func literal's body runs, judged by what is done with the literal."""
    parent = func_literal.parent
    if parent is None:
        return Lifetime.UNKNOWN
    if parent.type == "call_expression" and parent.child_by_field_name("function") == func_literal:
        grand = parent.parent
        if grand is not None and grand.type == "go_statement":
            return Lifetime.GOROUTINE
        return Lifetime.SYNC  # called on the spot, or deferred (runs before the test ends)
    if _takes_testing_param(func_literal):
        return Lifetime.SYNC  # only a running test has a t to call it with (table-driven test bodies)
    if _called_in_place(func_literal) or _table_field_called(func_literal):
        return Lifetime.SYNC  # only ever called by the test body itself
    if parent.type == "argument_list" and parent.parent is not None:
        _, name = call_parts(parent.parent)
        if name == "Cleanup":
            return Lifetime.CLEANUP
        if name in SYNC_CALLERS:
            return Lifetime.SYNC
        if name in GOROUTINE_CALLERS:
            return Lifetime.GOROUTINE
    return Lifetime.UNKNOWN


def _called_in_place(func_literal: Node) -> bool:
    """A closure bound by `name := func...` whose every use is a direct call in the same function."""
    values = func_literal.parent
    decl = values.parent if values is not None else None
    if (
        values is None
        or decl is None
        or values.type != "expression_list"
        or decl.type != "short_var_declaration"
    ):
        return False
    left = decl.child_by_field_name("left")
    if left is None or len(left.named_children) != 1 or len(values.named_children) != 1:
        return False
    name = text(left.named_children[0])
    scope = decl.parent
    if scope is None or name == "_":
        return False
    home = enclosing_functions(decl)[:1]
    uses = uses_of(scope, name, decl.end_byte)
    for use in uses:
        call = _called_as(use)
        if call is None:
            return False  # handed on, stored or returned: may run at any time
        if call.parent is not None and call.parent.type == "go_statement":
            return False
        if enclosing_functions(use)[:1] != home:
            return False  # called from another closure, whose own lifetime is unknown here
    return bool(uses)


def _called_as(use: Node) -> Node | None:
    """The call `use(...)` when `use` is the function called, not a value passed or stored."""
    call = use.parent
    if call is None or call.type != "call_expression" or call.child_by_field_name("function") != use:
        return None
    return call


def _table_field_called(func_literal: Node) -> bool:
    """`{apply: func() {...}}` in a table of cases whose every `x.apply` is a direct call in the test
    that declares the table (`tc.apply()`, not in a goroutine, not handed on)."""
    element = func_literal.parent
    keyed = element.parent if element is not None else None
    if element is None or keyed is None or element.type != "literal_element" or keyed.type != "keyed_element":
        return False
    key = keyed.named_children[0] if keyed.named_children else None
    if key is None or key == element:
        return False
    field = text(key)
    home = enclosing_functions(func_literal)[:1]
    if not home or not field.isidentifier() or not _ranged_table_row(keyed, home[0]):
        return False
    uses = [n for n in find(home[0], "selector_expression") if text(n.child_by_field_name("field")) == field]
    for use in uses:
        call = _called_as(use)
        if call is None:
            return False  # read as a value: may be stored or handed on
        if call.parent is not None and call.parent.type in ("go_statement", "defer_statement"):
            return False
        if is_inside(use, func_literal) or lifetime_between(use, home[0]) is not Lifetime.SYNC:
            return False  # called from a goroutine or a closure that may run later
    return bool(uses)


def _ranged_table_row(keyed: Node, home: Node) -> bool:
    """The row's literal is an element of a table literal that the test only ranges over."""
    row = keyed.parent  # literal_value of the row
    element = row.parent if row is not None else None
    if element is None or element.type != "literal_element" or element.parent is None:
        return False
    table = element.parent.parent  # composite_literal of the table
    if table is None or table.type != "composite_literal" or table.parent is None:
        return False
    if table.parent.type == "range_clause":
        return True
    values, decl = table.parent, table.parent.parent
    if values.type != "expression_list" or decl is None or decl.type != "short_var_declaration":
        return False
    left = decl.child_by_field_name("left")
    if left is None or len(left.named_children) != 1 or decl.parent is None:
        return False
    uses = uses_of(decl.parent, text(left.named_children[0]), decl.end_byte)
    return bool(uses) and all(u.parent is not None and u.parent.type == "range_clause" for u in uses)


def _takes_testing_param(func: Node) -> bool:
    return any(re.fullmatch(r"\*\w+\.(T|B|F)|\w+\.TB", text(p.type_node)) for p in parameters(func))


def lifetime_between(node: Node, owner: Node) -> Lifetime:
    """The worst lifetime of the closures between `node` and the function `owner`."""
    worst = Lifetime.SYNC
    for func in enclosing_functions(node):
        if func == owner:
            break
        if func.type != "func_literal":
            continue
        life = closure_lifetime(func)
        if life is Lifetime.CLEANUP:
            return life
        if life is Lifetime.UNKNOWN or (life is Lifetime.GOROUTINE and worst is Lifetime.SYNC):
            worst = life
    return worst
