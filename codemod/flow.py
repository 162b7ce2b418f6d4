"""Where a value goes: the declaration or assignment that binds an expression, and the names it lands in.

Every transform that follows a value (a context into `ctx`, a port into `addr`, an error into `err`, a
command into `cmd`) asks here instead of walking `short_var_declaration` / `assignment_statement` /
`var_spec` shapes itself.
"""

from __future__ import annotations

from tree_sitter import Node

from codemod.gosyntax import text, walk

BINDINGS = ("short_var_declaration", "assignment_statement", "var_spec")


def binding_of(expr: Node) -> Node | None:
    """The declaration or assignment whose right-hand side holds `expr` (`x := expr`, `var x = expr`)."""
    parent = expr.parent
    if parent is None or parent.type != "expression_list":
        return None
    holder = parent.parent
    if holder is None:
        return None
    if holder.type in ("short_var_declaration", "assignment_statement"):
        return holder if holder.child_by_field_name("right") == parent else None
    if holder.type == "var_spec" and holder.child_by_field_name("value") == parent:
        return holder
    return None


def targets_of(binding: Node) -> list[Node]:
    """The left-hand side of a binding, in order (`a, b := ...`, `var a, b = ...`)."""
    if binding.type == "var_spec":
        return binding.children_by_field_name("name")
    left = binding.child_by_field_name("left")
    return left.named_children if left is not None else []


def values_of(binding: Node) -> list[Node]:
    right = binding.child_by_field_name("value" if binding.type == "var_spec" else "right")
    return right.named_children if right is not None else []


def assigned_targets(binding: Node, expr: Node) -> list[Node]:
    """Where `expr` lands: all targets of a single multi-value call (`ctx, cancel := f()`), else its own."""
    values = values_of(binding)
    targets = targets_of(binding)
    if len(values) == 1:
        return targets
    return [t for t, v in zip(targets, values, strict=False) if v == expr]


def bound_names(expr: Node) -> list[Node]:
    """Identifiers the value of `expr` is stored in; the first target only of a multi-value call, no `_`."""
    binding = binding_of(expr)
    if binding is None:
        return []
    targets = assigned_targets(binding, expr)
    if len(values_of(binding)) == 1:
        targets = targets[:1]
    return [t for t in targets if t.type == "identifier" and text(t) != "_"]


def is_assigned(identifier: Node) -> bool:
    """`err` on the left of `=`/`:=`: a new value, not a read of the old one."""
    parent = identifier.parent
    holder = parent.parent if parent is not None else None
    return (
        parent is not None
        and parent.type == "expression_list"
        and holder is not None
        and holder.type in ("assignment_statement", "short_var_declaration")
        and holder.child_by_field_name("left") == parent
    )


def mentions(node: Node, name: str) -> bool:
    """Whether `name` appears as an identifier anywhere in `node`."""
    return any(n.type == "identifier" and text(n) == name for n in walk(node))


def assignments_to(owner: Node, name: str) -> list[tuple[Node, Node]]:
    """Every `(binding, value)` in `owner` that gives the variable `name` a value, in source order."""
    found = []
    for node in walk(owner):
        if node.type not in BINDINGS:
            continue
        values = values_of(node)
        for index, target in enumerate(targets_of(node)):
            if target.type == "identifier" and text(target) == name:
                # `a, b := f()`: both come from the one call; `a, b := x, y`: each from its own.
                paired = index if len(values) > 1 else 0
                if paired < len(values):
                    found.append((node, values[paired]))
    return found
