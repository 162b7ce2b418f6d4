"""The one import manager: transforms ask for names, the engine adds and removes import specs.

Adding puts a spec in the group goimports would pick (stdlib with stdlib, third-party with the group
sharing the longest path prefix), sorted by path; removing drops a spec only when nothing in the file
uses its name any more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node, Tree

from codemod.edits import Edit, ImportRequest, splice
from codemod.gosyntax import find, line_end, line_start, parse, text, walk

_VERSION_ELEM = re.compile(r"^v[0-9]+$")


class ImportsUnavailable(Exception):
    """The file's imports cannot be edited safely (they sit in a region that does not parse)."""


def default_name(path: str) -> str:
    """The package name Go would most likely use for `path` (last element, minus a /vN suffix)."""
    parts = path.split("/")
    name = parts[-1]
    if _VERSION_ELEM.match(name) and len(parts) > 1:
        name = parts[-2]
    name = re.sub(r"\.v[0-9]+$", "", name)
    name = name.removeprefix("go-").replace("-", "_").replace(".", "_")
    return name


def is_stdlib(path: str) -> bool:
    return "." not in path.split("/")[0]


@dataclass(frozen=True)
class ImportSpec:
    path: str
    alias: str | None  # explicit name, '.' or '_' included
    node: Node
    decl: Node

    @property
    def local_name(self) -> str:
        return self.alias if self.alias else default_name(self.path)


class ImportTable:
    """What a file imports, and which names are free to take."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.specs: list[ImportSpec] = []
        self.decls: list[Node] = []
        for child in tree.root_node.children:
            if child.type != "import_declaration":
                continue
            self.decls.append(child)
            for spec in walk(child):
                if spec.type != "import_spec":
                    continue
                path = spec.child_by_field_name("path")
                name = spec.child_by_field_name("name")
                if path is None:
                    continue
                self.specs.append(ImportSpec(text(path).strip('"`'), text(name) or None, spec, child))
        self._identifiers: set[str] | None = None

    def local_name(self, path: str) -> str | None:
        for spec in self.specs:
            if spec.path == path and spec.alias not in ("_", "."):
                return spec.local_name
        return None

    def dot_imported(self, path: str) -> bool:
        """`import . "context"`: the package's names are used unqualified."""
        return any(spec.path == path and spec.alias == "." for spec in self.specs)

    def identifiers(self) -> set[str]:
        """Every identifier spelled in the file outside imports: a cheap, conservative 'taken' set."""
        if self._identifiers is None:
            names: set[str] = set()
            for node in find(self.tree.root_node, "identifier", "package_identifier", "type_identifier"):
                if node.parent is not None and node.parent.type == "import_spec":
                    continue
                names.add(text(node))
            self._identifiers = names
        return self._identifiers

    def name_for(self, path: str, preferred: str | None = None) -> str:
        """The name under which `path` is (or will be) usable in this file."""
        existing = self.local_name(path)
        if existing:
            return existing
        base = preferred or default_name(path)
        taken = {s.local_name for s in self.specs}
        candidates = [base, f"test{base}", *(f"{base}{i}" for i in range(2, 20))]
        for name in candidates:
            if name not in taken and name not in self.identifiers():
                return name
        raise ImportsUnavailable(f"no free name for {path}")


def uses_name(tree: Tree, name: str) -> bool:
    """Whether `name.X` (a selector or qualified type) appears outside the import declarations."""
    for node in walk(tree.root_node):
        if node.type == "import_declaration":
            continue
        if node.type == "package_identifier" and text(node) == name:
            if node.parent is not None and node.parent.type in ("qualified_type", "generic_type"):
                return True
        if node.type == "identifier" and text(node) == name:
            parent = node.parent
            if parent is not None and parent.type == "selector_expression":
                if parent.child_by_field_name("operand") == node:
                    return True
    return False


# The context package's functions that derive a child context from a parent.
CONTEXT_DERIVERS = frozenset(
    {
        "WithCancel",
        "WithCancelCause",
        "WithDeadline",
        "WithDeadlineCause",
        "WithTimeout",
        "WithTimeoutCause",
        "WithValue",
    }
)
# Exported names of packages a fix may dot-import away, so an unused `import . "pkg"` can be dropped.
DOT_EXPORTS: dict[str, frozenset[str]] = {
    "context": CONTEXT_DERIVERS
    | {
        "AfterFunc",
        "Background",
        "CancelCauseFunc",
        "CancelFunc",
        "Canceled",
        "Cause",
        "Context",
        "DeadlineExceeded",
        "TODO",
        "WithoutCancel",
    }
}


def uses_unqualified(tree: Tree, names: frozenset[str]) -> bool:
    """Whether any of `names` is spelled as a bare identifier or type outside the imports."""
    for node in find(tree.root_node, "identifier", "type_identifier"):
        if text(node) not in names:
            continue
        parent = node.parent
        if parent is None or parent.type not in ("qualified_type", "selector_expression"):
            return True
        if parent.child_by_field_name("operand") == node:
            return True  # `Background().Done()`: the name itself is unqualified
    return False


def update_imports(source: bytes, add: list[ImportRequest], maybe_unused: list[str]) -> bytes:
    """Add the requested imports that are missing, then drop `maybe_unused` paths nobody uses."""
    for request in sorted(set(add), key=lambda r: r.path):
        tree = parse(source)
        table = ImportTable(tree)
        if table.local_name(request.path) is not None:
            continue
        source = splice(source, [_add_edit(source, table, request)])
    for path in sorted(set(maybe_unused)):
        tree = parse(source)
        table = ImportTable(tree)
        spec = next((s for s in table.specs if s.path == path and s.alias != "_"), None)
        if spec is None:
            continue
        if spec.alias == ".":
            if path not in DOT_EXPORTS or uses_unqualified(tree, DOT_EXPORTS[path]):
                continue  # a dot import is dropped only when none of the package's names is left
        elif uses_name(tree, spec.local_name):
            continue
        source = splice(source, [_remove_edit(source, spec)])
    return source


def _spec_text(request: ImportRequest) -> str:
    alias = "" if request.name == default_name(request.path) else f"{request.name} "
    return f'{alias}"{request.path}"'


def _check_parses(node: Node) -> None:
    if node.has_error:
        raise ImportsUnavailable("the import block does not parse")


def _add_edit(source: bytes, table: ImportTable, request: ImportRequest) -> Edit:
    spec_text = _spec_text(request)
    block = next((d for d in table.decls if _spec_list(d) is not None), None)
    if block is not None:
        _check_parses(block)
        return _add_to_block(source, table, block, request, spec_text)
    if len(table.decls) > 1:
        # Several single-line imports: add one more line after them, in the same style.
        last = table.decls[-1]
        _check_parses(last)
        return Edit(last.end_byte, last.end_byte, f"\nimport {spec_text}")
    if table.decls:
        # One single-line import: turn it into a block holding both.
        first = table.decls[0]
        _check_parses(first)
        specs = [s for s in table.specs if s.decl == first]
        lines = [text(s.node) for s in specs]
        group_new = is_stdlib(request.path) != is_stdlib(specs[0].path)
        if is_stdlib(request.path) and not is_stdlib(specs[0].path):
            body = f"\t{spec_text}\n\n\t" + "\n\t".join(lines)
        elif group_new:
            body = "\t" + "\n\t".join(lines) + f"\n\n\t{spec_text}"
        else:
            body = "\t" + "\n\t".join(sorted([*lines, spec_text], key=_path_key))
        return Edit(first.start_byte, first.end_byte, f"import (\n{body}\n)")
    package = next((c for c in table.tree.root_node.children if c.type == "package_clause"), None)
    if package is None:
        raise ImportsUnavailable("no package clause")
    return Edit(package.end_byte, package.end_byte, f"\n\nimport {spec_text}")


def _path_key(spec_line: str) -> str:
    return spec_line.split('"')[1] if '"' in spec_line else spec_line


def _spec_list(decl: Node) -> Node | None:
    return next((c for c in decl.named_children if c.type == "import_spec_list"), None)


def _groups(specs: list[ImportSpec]) -> list[list[ImportSpec]]:
    """Runs of specs separated by blank lines, as gofmt sees them."""
    groups: list[list[ImportSpec]] = []
    previous_end_line = -10
    for spec in specs:
        start_line = spec.node.start_point[0]
        if groups and start_line - previous_end_line <= 1:
            groups[-1].append(spec)
        else:
            groups.append([spec])
        previous_end_line = spec.node.end_point[0]
        # A comment line directly after a spec keeps the group together.
        nxt = spec.node.next_named_sibling
        while nxt is not None and nxt.type == "comment" and nxt.start_point[0] == previous_end_line + 1:
            previous_end_line = nxt.end_point[0]
            nxt = nxt.next_named_sibling
    return groups


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if x != y:
            break
        n += 1
    return n


def _choose_group(groups: list[list[ImportSpec]], path: str) -> list[ImportSpec] | None:
    if is_stdlib(path):
        return next((g for g in groups if all(is_stdlib(s.path) for s in g)), None)
    third_party = [g for g in groups if not all(is_stdlib(s.path) for s in g)]
    if not third_party:
        return None
    best = max(third_party, key=lambda g: max(_common_prefix(s.path, path) for s in g))
    if max(_common_prefix(s.path, path) for s in best) >= 2:
        return best  # same host and owner (github.com/multigres/...): goimports -local keeps them together
    return None


def _add_to_block(
    source: bytes, table: ImportTable, block: Node, request: ImportRequest, spec_text: str
) -> Edit:
    specs = [s for s in table.specs if s.decl == block]
    if not specs:
        spec_list = _spec_list(block)
        assert spec_list is not None
        close = spec_list.end_byte - 1
        return Edit(
            close, close, f"\t{spec_text}\n" if source[close - 1 : close] == b"\n" else f"\n\t{spec_text}\n"
        )
    groups = _groups(specs)
    group = _choose_group(groups, request.path)
    if group is None:
        if is_stdlib(request.path):
            at = line_start(source, groups[0][0].node.start_byte)
            return Edit(at, at, f"\t{spec_text}\n\n")
        at = line_end(source, groups[-1][-1].node.end_byte)
        return Edit(at, at, f"\n\t{spec_text}\n")
    for spec in group:
        if spec.path > request.path:
            at = line_start(source, spec.node.start_byte)
            return Edit(at, at, f"\t{spec_text}\n")
    at = line_end(source, group[-1].node.end_byte)
    return Edit(at, at, f"\t{spec_text}\n")


def _remove_edit(source: bytes, spec: ImportSpec) -> Edit:
    specs_in_decl = [n for n in walk(spec.decl) if n.type == "import_spec"]
    if len(specs_in_decl) == 1:
        start = line_start(source, spec.decl.start_byte)
        return Edit(start, line_end(source, spec.decl.end_byte - 1), "")
    start = line_start(source, spec.node.start_byte)
    end = line_end(source, spec.node.end_byte)
    # Drop one of the blank lines that would otherwise stand next to each other (or before ')').
    prev_blank = start >= 2 and source[start - 2 : start] == b"\n\n"
    next_line = source[end : line_end(source, end)].strip()
    if prev_blank and next_line in (b"", b")"):
        start -= 1
    return Edit(start, end, "")
