"""Go scope questions answered on the tree: who declares a name, where a variable is used."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from codemod.gosyntax import ancestors, find, is_inside, parameters, text

SCOPE_TYPES = frozenset(
    {
        "block",
        "for_statement",
        "if_statement",
        "expression_switch_statement",
        "type_switch_statement",
        "select_statement",
        "communication_case",
        "expression_case",
        "type_case",
        "default_case",
        "func_literal",
        "function_declaration",
        "method_declaration",
    }
)


def declared_names(node: Node) -> list[Node]:
    """Identifier nodes that `node` declares (for declaration-like nodes)."""
    if node.type in ("short_var_declaration", "range_clause"):
        left = node.child_by_field_name("left")
        return [c for c in (left.named_children if left else []) if c.type == "identifier"]
    if node.type in ("var_spec", "const_spec"):
        return [c for c in node.children_by_field_name("name") if c.type == "identifier"]
    if node.type == "type_switch_statement":
        alias = node.child_by_field_name("alias")
        return [c for c in (alias.named_children if alias else []) if c.type == "identifier"]
    if node.type == "receive_statement" and node.child_by_field_name("left") is not None:
        left = node.child_by_field_name("left")
        has_define = any(c.type == ":=" for c in node.children)
        return (
            [c for c in (left.named_children if left else []) if c.type == "identifier"] if has_define else []
        )
    return []


def scope_of(decl: Node) -> Node | None:
    return next((a for a in ancestors(decl) if a.type in SCOPE_TYPES), None)


_DECLARING = (
    "func_literal",
    "short_var_declaration",
    "range_clause",
    "var_spec",
    "const_spec",
    "type_switch_statement",
    "receive_statement",
)


# Per-file indexes of what `find` returns under a node, so asking for the uses of each variable of a
# function does not query the function again per variable. A key Node keeps its tree alive, so a key
# never matches a node of another file; the engine empties them before each file all the same.
_IDENTIFIERS: dict[Node, dict[str, list[Node]]] = {}
_DECLARATIONS: dict[Node, list[Node]] = {}


def forget_indexes() -> None:
    """Drop the per-file indexes (the engine calls this when it starts on a new file)."""
    _IDENTIFIERS.clear()
    _DECLARATIONS.clear()


def identifiers_in(scope: Node, name: str) -> list[Node]:
    """Identifier nodes spelled `name` inside `scope`, in source order (indexed once per scope)."""
    index = _IDENTIFIERS.get(scope)
    if index is None:
        index = {}
        for node in find(scope, "identifier"):
            index.setdefault(text(node), []).append(node)
        _IDENTIFIERS[scope] = index
    return index.get(name, [])


def _declaring(root: Node) -> list[Node]:
    found = _DECLARATIONS.get(root)
    if found is None:
        found = _DECLARATIONS[root] = find(root, *_DECLARING)
    return found


def declarations(root: Node, name: str) -> Iterator[Node]:
    """Declaration nodes inside `root` that declare `name` (parameters of nested funcs included)."""
    for node in _declaring(root):
        if node.type == "func_literal":
            if node != root and any(p.name == name for p in parameters(node)):
                yield node
            continue
        if any(text(n) == name for n in declared_names(node)):
            yield node


def is_shadowed(owner: Node, name: str, site: Node) -> bool:
    """Whether `name` at `site` refers to something declared inside `owner` rather than owner's own."""
    body = owner.child_by_field_name("body")
    if body is None:
        return False
    for decl in declarations(body, name):
        if decl.type == "func_literal":
            if is_inside(site, decl):
                return True
            continue
        scope = scope_of(decl)
        if scope is not None and is_inside(site, scope) and decl.start_byte < site.start_byte:
            return True
    return False


def uses_of(scope: Node, name: str, after: int) -> list[Node]:
    """Identifier nodes reading `name` inside `scope`, after byte `after`, not shadowed in between."""
    uses = []
    for node in identifiers_in(scope, name):
        if node.start_byte < after:
            continue
        parent = node.parent
        if (
            parent is not None
            and parent.type == "selector_expression"
            and parent.child_by_field_name("field") == node
        ):
            continue
        if parent is not None and is_struct_key(parent):
            continue
        uses.append(node)
    # A nested redeclaration hides the variable from the end of its statement to the end of its scope.
    shadows = [d for d in declarations(scope, name) if d.start_byte >= after]
    return [use for use in uses if not any(_hides(decl, use) for decl in shadows)]


def _hides(decl: Node, use: Node) -> bool:
    if decl.type == "func_literal":
        return is_inside(use, decl)
    if any(use == n for n in declared_names(decl)):
        return True  # the declaring identifier itself is not a read
    decl_scope = scope_of(decl)
    return decl_scope is not None and is_inside(use, decl_scope) and decl.end_byte <= use.start_byte


def is_struct_key(node: Node) -> bool:
    """`node` is the key element of a keyed composite-literal element (a field name, not a read)."""
    parent = node.parent
    return (
        node.type == "literal_element"
        and parent is not None
        and parent.type == "keyed_element"
        and (parent.child_by_field_name("key") == node)
    )
