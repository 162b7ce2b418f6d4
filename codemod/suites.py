"""testify suites: which types of a package are suites, and the test a suite method runs in.

A type is a suite when it embeds testify's `suite.Suite`, directly or through another suite type of
its package (often declared in another file, often in a `type ( ... )` group), or when the package
hands it to `suite.Run`. In its methods the test is `<receiver>.T()`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from tree_sitter import Node

from codemod.files import package_sources
from codemod.gosyntax import enclosing_functions, text
from codemod.scope import is_shadowed
from codemod.testscope import TestVar

SUITE_IMPORT = b'"github.com/stretchr/testify/suite"'
_IMPORT_ALIAS = re.compile(rb'(?:^|[\s(])(\w+)\s+"github\.com/stretchr/testify/suite"')
_STRUCT = re.compile(rb"\b(\w+)(?:\[[^\]]*\])?\s+struct\s*\{")
_EMBEDDED = re.compile(rb"^\s*\*?([\w.]+)(?:\[[^\]]*\])?\s*(?:`[^`]*`)?\s*(?://.*)?$")
# Methods testify calls with the suite's own test, alive until the whole suite ends.
SUITE_LEVEL = frozenset({"SetupSuite", "TearDownSuite"})


def _alias(source: bytes) -> bytes | None:
    if SUITE_IMPORT not in source:
        return None
    match = _IMPORT_ALIAS.search(source)
    return match.group(1) if match else b"suite"


def _struct_bodies(source: bytes) -> list[tuple[str, bytes]]:
    bodies = []
    for match in _STRUCT.finditer(source):
        depth, index = 1, match.end()
        while depth and index < len(source):
            char = source[index]
            depth += 1 if char == ord("{") else -1 if char == ord("}") else 0
            index += 1
        bodies.append((match.group(1).decode(), source[match.end() : index - 1]))
    return bodies


def scan(source: bytes) -> tuple[dict[str, set[str]], set[str]]:
    """(type -> embedded type names, with `suite.Suite` spelled `<testify>`; types passed to suite.Run)."""
    alias = _alias(source)
    embeds: dict[str, set[str]] = {}
    for name, body in _struct_bodies(source):
        for line in body.split(b"\n"):
            match = _EMBEDDED.match(line)
            if match is None:
                continue
            embedded = match.group(1)
            if alias is not None and embedded == alias + b".Suite":
                embeds.setdefault(name, set()).add("<testify>")
            elif b"." not in embedded:
                embeds.setdefault(name, set()).add(embedded.decode())
    run: set[str] = set()
    if alias is not None:
        runner = re.compile(rb"\b" + re.escape(alias) + rb"\.Run\(\s*\w+\s*,\s*(?:&|new\()\s*(\w+)")
        run = {m.group(1).decode() for m in runner.finditer(source)}
    return embeds, run


@lru_cache(maxsize=256)
def _directory_scans(directory: str) -> tuple[tuple[str, dict[str, set[str]], set[str]], ...]:
    return tuple((name, *scan(source)) for name, source in package_sources(directory))


@lru_cache(maxsize=64)
def suite_types(path: str, source: bytes) -> frozenset[str]:
    """The suite types of the package holding `path` (its own text as given); asked by several
    transforms and per function, so answered once per file text."""
    embeds, run = scan(source)
    file = Path(path)
    if file.parent.is_dir():
        for name, more, more_run in _directory_scans(str(file.parent.resolve())):
            if name == file.name:
                continue
            for key, value in more.items():
                embeds.setdefault(key, set()).update(value)
            run |= more_run
    suites = {name for name, embedded in embeds.items() if "<testify>" in embedded} | run
    changed = True
    while changed:
        changed = False
        for name, embedded in embeds.items():
            if name not in suites and embedded & suites:
                suites.add(name)
                changed = True
    return frozenset(suites)


def receiver(method: Node) -> tuple[str, str] | None:
    """(receiver name, its type name) of a method declaration: `func (s *fooSuite)` -> ('s', 'fooSuite')."""
    params = method.child_by_field_name("receiver")
    if params is None:
        return None
    decls = [c for c in params.named_children if c.type == "parameter_declaration"]
    if len(decls) != 1:
        return None
    type_node = decls[0].child_by_field_name("type")
    while type_node is not None and type_node.type in ("pointer_type", "generic_type"):
        type_node = type_node.named_children[0] if type_node.named_children else None
    if type_node is None or type_node.type != "type_identifier":
        return None
    name = decls[0].child_by_field_name("name")
    return (text(name) if name is not None else "", text(type_node))


def suite_method(node: Node, suites: frozenset[str]) -> tuple[Node, str, str] | None:
    """(method, receiver name, method name) when `node` is inside a method of a suite type."""
    functions = enclosing_functions(node)
    if not functions or functions[-1].type != "method_declaration":
        return None
    method = functions[-1]
    found = receiver(method)
    if found is None or found[1] not in suites:
        return None
    return method, found[0], text(method.child_by_field_name("name"))


def suite_test_var(node: Node, found: tuple[Node, str, str]) -> TestVar | None:
    """`s.T()` as the test handle at `node` in the suite method `found` (from `suite_method`), when
    the receiver is named and not shadowed there."""
    method, name, _ = found
    if name in ("", "_") or is_shadowed(method, name, node):
        return None
    for func in enclosing_functions(node)[:-1]:
        params = func.child_by_field_name("parameters")
        if params is not None and re.search(rf"\b{re.escape(name)}\b", text(params)):
            return None  # a closure parameter hides the receiver
    return TestVar(f"{name}.T()", "T", method)
