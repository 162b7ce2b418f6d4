"""Which helper functions of a package run during cleanup or in shared setup, judged by their callers.

A helper such as `func resetGUCs(t *testing.T)` looks like any test function, but when every call of it
sits in a `t.Cleanup` closure its contexts must outlive `t.Context()`. The package's test files are read
once per directory and per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tree_sitter import Query, QueryCursor, Tree

from codemod.files import package_sources
from codemod.gosyntax import GO, ancestors, parse, text
from codemod.testscope import Lifetime, closure_lifetime


@dataclass(frozen=True)
class CallContexts:
    cleanup: frozenset[str]  # functions called (maybe indirectly) from a cleanup
    shared: frozenset[str]  # functions called (maybe indirectly) from a closure of unknown lifetime


@dataclass(frozen=True)
class _Scan:
    """What one file says: who calls whom, and which names are called from cleanups or callbacks."""

    calls: tuple[tuple[str, frozenset[str]], ...]
    cleanup: frozenset[str]
    shared: frozenset[str]


# Plain calls `f(...)` and `x.Cleanup(...)` calls, picked out by tree-sitter's query engine: the other
# calls of a file (most of them) are never looked at in Python.
_CALLS = Query(
    GO,
    """
    (call_expression function: (identifier) @plain)
    (call_expression
      function: (selector_expression field: (field_identifier) @method (#eq? @method "Cleanup"))
      arguments: (argument_list) @cleanup)
    """,
)


def _scan(tree: Tree) -> _Scan:
    """One pass over the file's calls: each plain `f(...)` is credited to its function declaration and
    to every closure around it (a closure's lifetime decides whether its callees run in cleanups)."""
    calls: dict[str, set[str]] = {}
    roots_cleanup: set[str] = set()
    roots_shared: set[str] = set()
    lifetimes: dict[int, Lifetime] = {}
    for decl in tree.root_node.children:
        if decl.type == "function_declaration":
            calls.setdefault(text(decl.child_by_field_name("name")), set())
    captures = QueryCursor(_CALLS).captures(tree.root_node)
    for arguments in captures.get("cleanup", []):
        # t.Cleanup(helper): a function value handed over directly.
        roots_cleanup.update(text(a) for a in arguments.named_children if a.type == "identifier")
    for function in captures.get("plain", []):
        name = text(function)
        call = function.parent
        assert call is not None
        for outer in ancestors(call):
            if outer.type == "func_literal":
                if outer.id not in lifetimes:
                    lifetimes[outer.id] = closure_lifetime(outer)
                life = lifetimes[outer.id]
                if life is Lifetime.CLEANUP:
                    roots_cleanup.add(name)
                elif life is Lifetime.UNKNOWN:
                    roots_shared.add(name)
            elif outer.type == "function_declaration":
                calls.setdefault(text(outer.child_by_field_name("name")), set()).add(name)
                break
    frozen = tuple((caller, frozenset(callees)) for caller, callees in calls.items())
    return _Scan(frozen, frozenset(roots_cleanup), frozenset(roots_shared))


def _closure(roots: set[str], calls: dict[str, set[str]]) -> frozenset[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(calls.get(name, ()))
    return frozenset(seen)


@lru_cache(maxsize=256)
def _directory_scans(directory: str) -> tuple[tuple[str, _Scan], ...]:
    """Every test file of a directory (and helper file importing testing), scanned once per process."""
    return tuple((name, _scan(parse(source))) for name, source in package_sources(directory))


def call_contexts(path: str, tree: Tree) -> CallContexts:
    """Cleanup-only and shared-setup helpers of the package holding `path` (its own tree as given)."""
    file = Path(path)
    scans = [_scan(tree)]
    if file.parent.is_dir():
        scans.extend(scan for name, scan in _directory_scans(str(file.parent.resolve())) if name != file.name)
    calls: dict[str, set[str]] = {}
    cleanup: set[str] = set()
    shared: set[str] = set()
    for scan in scans:
        for caller, callees in scan.calls:
            calls.setdefault(caller, set()).update(callees)
        cleanup |= scan.cleanup
        shared |= scan.shared
    return CallContexts(_closure(cleanup, calls), _closure(shared, calls))
