"""tree-sitter-go helpers: parsing, walking, and the small questions transforms ask of a Go tree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import tree_sitter_go
from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

GO = Language(tree_sitter_go.language())
_PARSER = Parser(GO)

FUNCTION_TYPES = frozenset({"function_declaration", "method_declaration", "func_literal"})
TESTING_TYPES = ("T", "TB", "B", "F")


_RECENT: dict[bytes, Tree] = {}
_RECENT_LIMIT = 48  # a package's files: the runner and the caller/suite scans of its siblings share them


def parse(source: bytes) -> Tree:
    """The tree of `source`. Trees are immutable, so the same bytes parsed again (a file read as itself
    and as a sibling of the file next to it) reuse the recent tree instead of parsing twice."""
    tree = _RECENT.get(source)
    if tree is None:
        tree = _PARSER.parse(source)
        if len(_RECENT) >= _RECENT_LIMIT:
            del _RECENT[next(iter(_RECENT))]
        _RECENT[source] = tree
    return tree


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def walk(node: Node) -> Iterator[Node]:
    """Pre-order walk of every node below and including `node`."""
    cursor = node.walk()
    visited_children = False
    while True:
        if not visited_children:
            assert cursor.node is not None
            yield cursor.node
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
            continue
        if not cursor.goto_parent() or cursor.node == node:
            return
        visited_children = True


@cache
def _query(types: tuple[str, ...]) -> Query:
    return Query(GO, "[" + " ".join(f"({t})" for t in types) + "] @n")


def find(node: Node, *types: str) -> list[Node]:
    """Nodes of the given types at or below `node`, in source order (outer first): tree-sitter's C
    query engine, much faster than walking the tree in Python."""
    found = QueryCursor(_query(tuple(sorted(types)))).captures(node).get("n", [])
    return sorted(found, key=lambda n: (n.start_byte, -n.end_byte))


def error_nodes(tree: Tree) -> list[Node]:
    if not tree.root_node.has_error:
        return []
    return [n for n in walk(tree.root_node) if n.is_error or n.is_missing]


def error_count(tree: Tree) -> int:
    return len(error_nodes(tree))


def broken_ranges(tree: Tree) -> list[tuple[int, int]]:
    """Byte ranges no edit may touch: every top-level declaration that contains an ERROR/MISSING node."""
    ranges = []
    for child in tree.root_node.children:
        if child.has_error or child.is_error or child.is_missing:
            ranges.append((child.start_byte, child.end_byte))
    return ranges


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def enclosing_functions(node: Node) -> list[Node]:
    """Function nodes around `node`, innermost first."""
    return [a for a in ancestors(node) if a.type in FUNCTION_TYPES]


def is_inside(node: Node, container: Node) -> bool:
    return container.start_byte <= node.start_byte and node.end_byte <= container.end_byte


def field_text(node: Node, name: str) -> str:
    return text(node.child_by_field_name(name))


@dataclass(frozen=True)
class Param:
    name: str
    type_node: Node


def parameters(func: Node) -> list[Param]:
    plist = func.child_by_field_name("parameters")
    if plist is None:
        return []
    params: list[Param] = []
    for decl in plist.named_children:
        if decl.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        type_node = decl.child_by_field_name("type")
        if type_node is None:
            continue
        names = [c for c in decl.children_by_field_name("name")]
        if not names:
            params.append(Param("", type_node))
        for name in names:
            params.append(Param(text(name), type_node))
    return params


def testing_kind(type_node: Node, testing_name: str) -> str | None:
    """'T', 'B', 'F' for *testing.X; 'TB' for testing.TB; None otherwise."""
    pointer = type_node.type == "pointer_type"
    inner = type_node.named_children[0] if pointer and type_node.named_children else type_node
    if inner.type != "qualified_type":
        return None
    if field_text(inner, "package") != testing_name:
        return None
    name = field_text(inner, "name")
    if name == "TB" and not pointer:
        return "TB"
    if name in ("T", "B", "F") and pointer:
        return name
    return None


def call_parts(call: Node) -> tuple[str, str]:
    """(operand, name) of a call: `pkg.Fn(...)` -> ('pkg', 'Fn'); `fn(...)` -> ('', 'fn')."""
    fn = call.child_by_field_name("function")
    if fn is None:
        return "", ""
    if fn.type == "selector_expression":
        return field_text(fn, "operand"), field_text(fn, "field")
    if fn.type == "identifier":
        return "", text(fn)
    return "", ""


def call_arguments(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    if args is None:
        return []
    return [a for a in args.named_children if a.type != "comment"]


def is_call_to(node: Node, operand: str, names: tuple[str, ...] | frozenset[str]) -> bool:
    if node.type != "call_expression":
        return False
    op, name = call_parts(node)
    return op == operand and name in names


def outermost_paren(node: Node) -> Node:
    """The outermost parenthesized expression around `node` (`node` itself when there is none)."""
    while node.parent is not None and node.parent.type == "parenthesized_expression":
        node = node.parent
    return node


def unparen(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node


def statement_of(node: Node) -> Node | None:
    """The statement that directly holds `node` inside a statement list."""
    current = node
    while current.parent is not None:
        if current.parent.type == "statement_list":
            return current
        current = current.parent
    return None


def func_body(func: Node) -> Node | None:
    return func.child_by_field_name("body")


def identifiers_named(root: Node, name: str) -> Iterator[Node]:
    for node in walk(root):
        if node.type == "identifier" and text(node) == name:
            yield node


def is_selector_field(node: Node) -> bool:
    parent = node.parent
    return (
        parent is not None
        and parent.type == "selector_expression"
        and parent.child_by_field_name("field") == node
    )


def line_start(source: bytes, offset: int) -> int:
    return source.rfind(b"\n", 0, offset) + 1


def line_end(source: bytes, offset: int) -> int:
    """Offset just past the newline that ends the line holding `offset`."""
    nl = source.find(b"\n", offset)
    return len(source) if nl < 0 else nl + 1


def line_indent(source: bytes, offset: int) -> str:
    start = line_start(source, offset)
    end = start
    while end < len(source) and source[end : end + 1] in (b"\t", b" "):
        end += 1
    return source[start:end].decode("utf-8")


_UNITS = {
    "Nanosecond": 1e-9,
    "Microsecond": 1e-6,
    "Millisecond": 1e-3,
    "Second": 1.0,
    "Minute": 60.0,
    "Hour": 3600.0,
}


def duration_seconds(node: Node) -> float | None:
    """Seconds of a constant duration expression (`100 * time.Millisecond`, `time.Second`), else None."""
    if node.type == "parenthesized_expression" and node.named_children:
        return duration_seconds(node.named_children[0])
    if node.type == "selector_expression":
        return _UNITS.get(text(node.child_by_field_name("field")))
    if node.type in ("int_literal", "float_literal"):
        try:
            return float(text(node).replace("_", ""))
        except ValueError:
            return None
    if node.type == "binary_expression" and text(node.child_by_field_name("operator")) == "*":
        left = duration_seconds(node.child_by_field_name("left"))  # type: ignore[arg-type]
        right = duration_seconds(node.child_by_field_name("right"))  # type: ignore[arg-type]
        if left is not None and right is not None:
            return left * right
    return None


def comments_around(statement: Node, comments: list[Node] | None = None) -> list[Node]:
    """The comment block right above `statement` (contiguous lines) and comments on its own lines.

    tree-sitter puts a block's leading comments outside its statement list, so siblings miss them:
    comments are looked up by line in the outermost enclosing function (or the file) instead;
    `comments` are that function's comments when the caller has them already.
    """
    if comments is None:
        functions = enclosing_functions(statement)
        scope = functions[-1] if functions else statement
        while scope.parent is not None and not functions:
            scope = scope.parent
        comments = find(scope, "comment")
    first, last = statement.start_point[0], statement.end_point[0]
    found = [c for c in comments if first <= c.start_point[0] <= last]
    row = first
    for comment in reversed([c for c in comments if c.end_point[0] < first]):
        if comment.end_point[0] != row - 1:
            break
        found.append(comment)
        row = comment.start_point[0]
    return found
