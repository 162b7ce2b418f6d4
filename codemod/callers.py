"""Which helper functions of a package run during cleanup or in shared setup, judged by their callers.

A helper such as `func resetGUCs(t *testing.T)` looks like any test function, but when every call of it
sits in a `t.Cleanup` closure its contexts must outlive `t.Context()`. The package's test files are read
once per directory and per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tree_sitter import Node, Tree

from codemod.gosyntax import call_arguments, call_parts, enclosing_functions, find, parse, text
from codemod.testscope import Lifetime, closure_lifetime


@dataclass(frozen=True)
class CallContexts:
    cleanup: frozenset[str]  # functions called (maybe indirectly) from a cleanup
    shared: frozenset[str]  # functions called (maybe indirectly) from a closure of unknown lifetime


def _top_function(node: Node) -> Node | None:
    functions = enclosing_functions(node)
    return functions[-1] if functions else None


@dataclass(frozen=True)
class _Scan:
    """What one file says: who calls whom, and which names are called from cleanups or callbacks."""

    calls: tuple[tuple[str, frozenset[str]], ...]
    cleanup: frozenset[str]
    shared: frozenset[str]


def _scan(tree: Tree) -> _Scan:
    calls: dict[str, set[str]] = {}
    roots_cleanup: set[str] = set()
    roots_shared: set[str] = set()
    for node in find(tree.root_node, "call_expression"):
        operand, name = call_parts(node)
        if not name or operand:
            if name == "Cleanup":
                # t.Cleanup(helper): a function value handed over directly.
                for arg in call_arguments(node):
                    if arg.type == "identifier":
                        roots_cleanup.add(text(arg))
            continue
        functions = enclosing_functions(node)
        top = functions[-1] if functions else None
        caller = (
            text(top.child_by_field_name("name"))
            if top is not None and top.type == "function_declaration"
            else ""
        )
        calls.setdefault(caller, set()).add(name)
        for func in functions:
            if func.type != "func_literal":
                continue
            life = closure_lifetime(func)
            if life is Lifetime.CLEANUP:
                roots_cleanup.add(name)
            elif life is Lifetime.UNKNOWN:
                roots_shared.add(name)
    return _Scan(
        tuple((k, frozenset(v)) for k, v in calls.items()), frozenset(roots_cleanup), frozenset(roots_shared)
    )


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
    """Every test file of a directory, scanned once per process."""
    scans = []
    for path in sorted(Path(directory).glob("*_test.go")):
        try:
            scans.append((path.name, _scan(parse(path.read_bytes()))))
        except OSError:
            continue
    return tuple(scans)


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
