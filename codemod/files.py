"""Which files to visit, and how to write them: atomically, and never over a concurrent change."""

from __future__ import annotations

import fnmatch
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

SKIP_DIRS = frozenset({"vendor", "testdata", "node_modules"})


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
            if path.suffix != ".go" or (not include_non_test and not path.name.endswith("_test.go")):
                messages.append(f"{path}: skipped: not a *_test.go file")
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
            if not include_non_test and not name.endswith("_test.go"):
                continue
            file = here / name
            if not _excluded(file, exclude) and not file.is_symlink():
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
