"""Which files to visit, and how to write them: atomically, and never over a concurrent change."""

from __future__ import annotations

import errno
import fnmatch
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SKIP_DIRS = frozenset({"vendor", "testdata", "node_modules"})


# `import "testing"` or a `testing` line inside an import block, near the top of a Go file.
_IMPORTS_TESTING = re.compile(rb'^\s*import\s+(?:\w+\s+)?"testing"|^\s*(?:\w+\s+)?"testing"\s*$', re.M)


def imports_testing(path: Path) -> bool:
    """A non-test `.go` file that imports `testing`: shared test helpers (testutil/, e2e setup)."""
    try:
        return _head_imports_testing(path)
    except OSError:
        return False


def _head_imports_testing(path: Path) -> bool:
    """Whether the file's imports (before its first func) name `testing`; OSError when unreadable."""
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    end = head.find(b"\nfunc ")
    return bool(_IMPORTS_TESTING.search(head if end < 0 else head[:end]))


def in_scope(path: Path) -> bool:
    """Test files, and other Go files that import `testing` (helpers that take a testing handle)."""
    return path.name.endswith("_test.go") or imports_testing(path)


@lru_cache(maxsize=64)
def package_sources(directory: str) -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of every in-scope Go file of a directory, read once per process for the
    package-wide analyses (callers, suite types); unreadable files are left out."""
    sources = []
    for path in sorted(Path(directory).glob("*.go")):
        try:
            if in_scope(path):
                sources.append((path.name, path.read_bytes()))
        except OSError:
            continue
    return tuple(sources)


class WriteRefused(Exception):
    pass


def _skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith(".") or name.startswith("_")


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    posix = path.as_posix()
    return any(fnmatch.fnmatch(posix, p) or fnmatch.fnmatch(path.name, p) for p in patterns)


@dataclass
class Discovered:
    """The files to visit, and what the user should hear about the targets."""

    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # targets skipped on purpose (not a test file)
    missing: list[str] = field(default_factory=list)  # targets that do not exist: a usage error
    unreadable: list[str] = field(default_factory=list)  # folders or files met but not readable

    @property
    def messages(self) -> list[str]:
        return [*self.missing, *self.notes, *self.unreadable]


def _why(exc: OSError) -> str:
    """One lower-case phrase for an OSError, without the path (the caller names it)."""
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file or directory"
    if exc.errno == errno.ELOOP:
        return "symlink loop (too many levels of symbolic links)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


def target_path(target: str) -> Path:
    """The path a target names: Go-style `dir/...` is `dir`, `...` is `.`."""
    cleaned = target[:-4] if target.endswith("/...") else target
    return Path("." if cleaned in ("...", "") else cleaned)


class _Missing(Exception):
    pass


def _stat_target(target: str, path: Path) -> os.stat_result:
    if target == "-":
        raise _Missing(
            "-: reading from stdin is not supported with other targets: `-` alone, with --stdin-filename"
        )
    try:
        return path.stat()
    except OSError as exc:
        raise _Missing(f"{target}: {_why(exc)}") from None


def missing_targets(targets: list[str]) -> list[str]:
    """One message per target that does not exist (or is a symlink loop, or is `-`)."""
    messages = []
    for target in targets:
        try:
            _stat_target(target, target_path(target))
        except _Missing as exc:
            messages.append(str(exc))
    return messages


def find_targets(
    targets: list[str], exclude: tuple[str, ...] = (), include_non_test: bool = False
) -> Discovered:
    """Files under the targets (Go-style `dir/...` accepted); never raises for a bad target."""
    found: dict[Path, None] = {}
    result = Discovered()
    for target in targets:
        path = target_path(target)
        try:
            info = _stat_target(target, path)
        except _Missing as exc:
            result.missing.append(str(exc))
            continue
        if stat.S_ISREG(info.st_mode):
            if path.suffix != ".go":
                result.notes.append(f"{path}: skipped: not a *_test.go file and does not import testing")
                continue
            if not include_non_test and not path.name.endswith("_test.go"):
                try:
                    helper = _head_imports_testing(path)
                except OSError as exc:
                    result.unreadable.append(f"{path}: cannot read: {_why(exc)}")
                    continue
                if not helper:
                    result.notes.append(f"{path}: skipped: not a *_test.go file and does not import testing")
                    continue
            found[path] = None
            continue
        if not stat.S_ISDIR(info.st_mode):
            result.notes.append(f"{target}: skipped: not a file or directory")
            continue
        for file in _walk(path, exclude, include_non_test, result.unreadable):
            found[file] = None
    result.files = sorted(found)
    return result


def discover(
    targets: list[str], exclude: tuple[str, ...] = (), include_non_test: bool = False
) -> tuple[list[Path], list[str]]:
    """Files under the targets (Go-style `dir/...` accepted), and messages about targets that are not."""
    result = find_targets(targets, exclude, include_non_test)
    return result.files, result.messages


def _walk(
    root: Path, exclude: tuple[str, ...], include_non_test: bool, unreadable: list[str]
) -> Iterator[Path]:
    def failed(exc: OSError) -> None:
        unreadable.append(f"{Path(exc.filename or root)}: cannot read directory: {_why(exc)}")

    for directory, dirnames, filenames in os.walk(root, onerror=failed):
        here = Path(directory)
        dirnames[:] = sorted(d for d in dirnames if not _skipped_dir(d) and not _excluded(here / d, exclude))
        for name in sorted(filenames):
            if not name.endswith(".go"):
                continue
            file = here / name
            if _excluded(file, exclude) or file.is_symlink():
                continue
            if include_non_test or name.endswith("_test.go"):
                yield file
                continue
            try:
                if _head_imports_testing(file):
                    yield file
            except OSError as exc:
                unreadable.append(f"{file}: cannot read: {_why(exc)}")


def write_atomic(path: Path, data: bytes, expected: bytes) -> None:
    """Replace `path` with `data` if it still holds `expected`: temp file + rename, mode kept."""
    try:
        current = path.read_bytes()
    except OSError as exc:
        raise WriteRefused(f"cannot re-read before writing: {exc.strerror or exc}") from None
    if current != expected:
        raise WriteRefused("changed on disk since it was read; not written")
    mode = path.stat().st_mode & 0o7777
    if not mode & stat.S_IWUSR or not os.access(path, os.W_OK):
        # A rename would replace a file the user may not write (root can): refuse, as an editor would.
        raise WriteRefused(f"read-only file (mode {mode:04o}); not written")
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
