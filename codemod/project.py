"""What the engine knows of a file's Go module: go.mod, the helper package, the file's import path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_GO_DIRECTIVE = re.compile(r"^go\s+([0-9]+)\.([0-9]+)", re.M)
_MODULE = re.compile(r"^module\s+(\S+)", re.M)
_REQUIRE = re.compile(r"^\s*(?:require\s+)?(\S+)\s+v([0-9]+)\.([0-9]+)\.([0-9]+)", re.M)
_IMPORT_PATH = re.compile(r'"([^"\s]+)"')
_FUNC = re.compile(r"^func\s+([A-Z]\w*)\s*\(", re.M)
HELPER_FUNCS = frozenset({"WithShortDeadline", "WithTimeout", "GetFreePort"})


@dataclass(frozen=True)
class GoMod:
    root: str
    module: str
    go_version: tuple[int, int] | None
    requires: tuple[tuple[str, tuple[int, int, int]], ...]

    def version_of(self, module: str) -> tuple[int, int, int] | None:
        return next((v for m, v in self.requires if m == module), None)


@dataclass(frozen=True)
class ProjectInfo:
    """Facts for one file. Defaults describe 'no go.mod found': recent Go, no helper."""

    go_version: tuple[int, int] | None = None
    testify_version: tuple[int, int, int] | None = None
    package_path: str | None = None  # import path of the file's directory
    helper_name_unqualified: bool = False  # the file is inside the helper package itself
    helper_functions: frozenset[str] = frozenset()
    integration: bool = False  # under an end-to-end / integration tree
    module_versions: tuple[tuple[str, tuple[int, int, int]], ...] = ()  # go.mod's require lines

    def version_of(self, module: str) -> tuple[int, int, int] | None:
        """The version go.mod requires of `module`; None when it is not required (or no go.mod)."""
        return next((v for m, v in self.module_versions if m == module), None)

    def has_helper(self, name: str) -> bool:
        return name in self.helper_functions

    def go_at_least(self, major: int, minor: int) -> bool:
        return self.go_version is None or self.go_version >= (major, minor)


def parse_gomod(text: str, root: str) -> GoMod | None:
    module = _MODULE.search(text)
    if module is None:
        return None
    go = _GO_DIRECTIVE.search(text)
    requires = tuple(
        (m.group(1), (int(m.group(2)), int(m.group(3)), int(m.group(4))))
        for m in _REQUIRE.finditer(text)
        if not m.group(1).startswith("//")
    )
    return GoMod(
        root=root,
        module=module.group(1).strip('"'),
        go_version=(int(go.group(1)), int(go.group(2))) if go else None,
        requires=requires,
    )


@lru_cache(maxsize=1024)
def find_gomod(directory: str) -> GoMod | None:
    current = Path(directory)
    for candidate in (current, *current.parents):
        gomod = candidate / "go.mod"
        if gomod.is_file():
            try:
                return parse_gomod(gomod.read_text(encoding="utf-8", errors="replace"), str(candidate))
            except OSError:
                return None
    return None


def _imports_of_dir(directory: Path) -> set[str]:
    paths: set[str] = set()
    for go_file in directory.glob("*.go"):
        if go_file.name.endswith("_test.go"):
            continue
        try:
            source = go_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for block in re.finditer(r"^import\s*(\([^)]*\)|\"[^\"]+\")", source, re.M):
            paths.update(_IMPORT_PATH.findall(block.group(1)))
    return paths


@lru_cache(maxsize=64)
def helper_dependencies(module_root: str, module: str, helper: str) -> frozenset[str]:
    """In-module packages the helper imports, transitively: their internal tests cannot import it."""
    seen: set[str] = set()
    todo = [helper]
    while todo:
        path = todo.pop()
        if path in seen or not (path == module or path.startswith(module + "/")):
            continue
        seen.add(path)
        rel = path[len(module) :].lstrip("/")
        todo.extend(_imports_of_dir(Path(module_root) / rel))
    seen.discard(helper)
    return frozenset(seen)


@lru_cache(maxsize=64)
def helper_functions_in(directory: str) -> frozenset[str]:
    found: set[str] = set()
    for go_file in Path(directory).glob("*.go"):
        if go_file.name.endswith("_test.go"):
            continue
        try:
            found.update(_FUNC.findall(go_file.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    return frozenset(found & HELPER_FUNCS)


def _helper_functions(gomod: GoMod, helper: str) -> frozenset[str]:
    if helper == gomod.module or helper.startswith(gomod.module + "/"):
        rel = helper[len(gomod.module) :].lstrip("/")
        return helper_functions_in(str(Path(gomod.root) / rel))
    if any(helper == m or helper.startswith(m + "/") for m, _ in gomod.requires):
        return HELPER_FUNCS  # a dependency we cannot read: trust the configuration
    return frozenset()


def project_for(
    file: Path,
    helper: str,
    package_name: str | None = None,
    end_to_end_folders: tuple[str, ...] = ("endtoend", "e2e", "integration"),
) -> ProjectInfo:
    """Facts for `file`; `package_name` is its package clause (to tell internal from external tests)."""
    directory = file.resolve().parent
    gomod = find_gomod(str(directory))
    integration = any(part in end_to_end_folders for part in directory.parts)
    if gomod is None:
        return ProjectInfo(integration=integration)
    rel = directory.relative_to(gomod.root).as_posix()
    package_path = gomod.module if rel == "." else f"{gomod.module}/{rel}"
    functions = _helper_functions(gomod, helper)
    external_test = bool(package_name and package_name.endswith("_test"))
    in_helper = package_path == helper and not external_test
    if functions and not external_test and not in_helper:
        if package_path in helper_dependencies(gomod.root, gomod.module, helper):
            functions = frozenset()  # importing the helper here would be an import cycle
    return ProjectInfo(
        go_version=gomod.go_version,
        testify_version=gomod.version_of("github.com/stretchr/testify"),
        package_path=package_path,
        helper_name_unqualified=in_helper,
        helper_functions=functions,
        integration=integration,
        module_versions=gomod.requires,
    )
