"""The transform interface and its discovery: every `Transform` subclass in `transforms/` registers."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar, TypeVar, cast

from tree_sitter import Node, Tree

from codemod.config import Settings
from codemod.edits import Finding, Fix
from codemod.gosyntax import call_parts, find
from codemod.imports import ImportTable
from codemod.project import ProjectInfo

T = TypeVar("T")

INDEXED_TYPES = ("call_expression", "expression_statement", "interpreted_string_literal", "int_literal")


@dataclass
class FileContext:
    """Everything a transform may look at for one file."""

    path: str
    source: bytes
    tree: Tree
    project: ProjectInfo
    settings: Settings
    imports: ImportTable
    _index: dict[str, list[Node]] = field(default_factory=dict, repr=False)
    _calls: dict[tuple[str, str], list[Node]] | None = field(default=None, repr=False)
    _memo: dict[object, object] = field(default_factory=dict, repr=False)

    def nodes(self, node_type: str) -> list[Node]:
        """Every node of a type, in source order, found once per file and shared by every transform."""
        if not self._index:
            # One query pass for the types transforms commonly ask for, split by type.
            for node in find(self.tree.root_node, *INDEXED_TYPES):
                self._index.setdefault(node.type, []).append(node)
            for indexed in INDEXED_TYPES:
                self._index.setdefault(indexed, [])
        if node_type not in self._index:
            self._index[node_type] = find(self.tree.root_node, node_type)
        return self._index[node_type]

    def calls(self, operand: str, name: str) -> list[Node]:
        """Calls `operand.name(...)` (operand "" for a plain `name(...)`), in source order.

        `operand` is the local name: ask `imports.local_name(path)` for a package's. Built once per file
        from one pass over its calls, so a transform looks up its calls instead of testing every one.
        """
        if self._calls is None:
            self._calls = {}
            for call in self.nodes("call_expression"):
                self._calls.setdefault(call_parts(call), []).append(call)
        return self._calls.get((operand, name), [])

    def memo(self, key: object, compute: Callable[[], T]) -> T:
        """A per-file answer computed once and shared (transforms keep no per-file state themselves)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return cast(T, self._memo[key])

    def finding(self, transform_id: str, node: Node, message: str, fix: Fix | None = None) -> Finding:
        return Finding(transform_id, node.start_byte, node.end_byte, message, fix)


class Transform:
    """Base class. The subclass docstring is its spec: What it does / Why / Example / Fix safety."""

    id: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # False for transforms that only report (no fixes), so `apply` can skip them quickly.
    fixes: ClassVar[bool] = True
    # The heading of the test-writing guide's section this transform answers to (PR descriptions link it).
    guide_section: ClassVar[str] = ""
    # Where a reviewer's attention pays off (PR descriptions); empty for none.
    review_hint: ClassVar[str] = ""
    # The oldest Go (major, minor) whose toolchain has what the fix writes; (1, 0) for any.
    min_go: ClassVar[tuple[int, int]] = (1, 0)

    def run(self, ctx: FileContext) -> list[Finding]:
        raise NotImplementedError

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")


@cache
def all_transforms() -> dict[str, type[Transform]]:
    """Discover transforms: import every module of the `transforms` package, keep the subclasses."""
    import transforms

    found: dict[str, type[Transform]] = {}
    for module_info in pkgutil.iter_modules(transforms.__path__):
        module = importlib.import_module(f"transforms.{module_info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(obj, Transform)
                and obj is not Transform
                and obj.id
                and obj.__module__ == module.__name__
            ):
                found[obj.id] = obj
    return dict(sorted(found.items()))


def select_transforms(select: tuple[str, ...], ignore: tuple[str, ...]) -> list[Transform]:
    """Instances of the selected transforms; unknown ids raise KeyError naming them."""
    available = all_transforms()
    unknown = [i for i in (*select, *ignore) if i not in available and i != "all"]
    if unknown:
        raise KeyError(", ".join(unknown))
    ids = [i for i in available if not select or "all" in select or i in select]
    return [available[i]() for i in ids if i not in ignore]
