"""Which files to visit, and how to write them: atomically, and never over a concurrent change."""

from __future__ import annotations

import fnmatch
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

SKIP_DIRS = frozenset({"vendor", "testdata", "node_modules"})


# `import "testing"` or a `testing` line inside an import block, near the top of a Go file.
_IMPORTS_TESTING = re.compile(rb'^\s*import\s+(?:\w+\s+)?"testing"|^\s*(?:\w+\s+)?"testing"\s*$', re.M)


def imports_testing(path: Path) -> bool:
    """A non-test `.go` file that imports `testing`: shared test helpers (testutil/, e2e setup)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(64 * 1024)
    except OSError:
        return False
    end = head.find(b"\nfunc ")
    return bool(_IMPORTS_TESTING.search(head if end < 0 else head[:end]))


def in_scope(path: Path) -> bool:
    """Test files, and other Go files that import `testing` (helpers that take a testing handle)."""
    return path.name.endswith("_test.go") or imports_testing(path)


class WriteRefused(Exception):
    pass


def _skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith(".") or name.startswith("_")


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    posix = path.as_posix()
    return any(fnmatch.fnmatch(posix, p) or fnmatch.fnmatch(path.name, p) for p in patterns)


def discover(
    targets: list[str], exclude: tuple[str, ...] = (), include_non_test: bool = False
) -> tuple[list[Path], list[str]]:
    """Files under the targets (Go-style `dir/...` accepted), and messages about targets that are not."""
    found: dict[Path, None] = {}
    messages: list[str] = []
    for target in targets:
        cleaned = target[:-4] if target.endswith("/...") else target
        if cleaned in ("...", ""):
            cleaned = "."
        path = Path(cleaned)
        if path.is_file():
            if path.suffix != ".go" or (not include_non_test and not in_scope(path)):
                messages.append(f"{path}: skipped: not a *_test.go file and does not import testing")
                continue
            found[path] = None
            continue
        if not path.is_dir():
            messages.append(f"{target}: no such file or directory")
            continue
        for file in _walk(path, exclude, include_non_test):
            found[file] = None
    return sorted(found), messages


def _walk(root: Path, exclude: tuple[str, ...], include_non_test: bool) -> Iterator[Path]:
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        dirnames[:] = sorted(d for d in dirnames if not _skipped_dir(d) and not _excluded(here / d, exclude))
        for name in sorted(filenames):
            if not name.endswith(".go"):
                continue
            file = here / name
            if _excluded(file, exclude) or file.is_symlink():
                continue
            if include_non_test or in_scope(file):
                yield file


def write_atomic(path: Path, data: bytes, expected: bytes) -> None:
    """Replace `path` with `data` if it still holds `expected`: temp file + rename, mode kept."""
    try:
        current = path.read_bytes()
    except OSError as exc:
        raise WriteRefused(f"cannot re-read before writing: {exc.strerror or exc}") from None
    if current != expected:
        raise WriteRefused("changed on disk since it was read; not written")
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".codemod")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
