"""A content-hash cache for `check`: an unchanged file (and package) is not parsed again."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

from codemod import __version__
from codemod.edits import Edit, Finding, Fix, ImportRequest, Safety
from codemod.engine import FileResult
from codemod.suppress import Directive

CACHE_DIR = ".codemod-cache"


def cache_root() -> Path:
    return Path(os.environ.get("CODEMOD_CACHE_DIR", CACHE_DIR))


@cache
def code_fingerprint() -> str:
    """codemod's own code (engine and transforms): a changed rule must not be served from the cache."""
    import transforms

    digest = hashlib.sha256()
    for package in (Path(__file__).parent, Path(transforms.__file__).parent):
        for source in sorted(package.glob("*.py")):
            digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()


def cache_key(path: Path, raw: bytes, context: str) -> str:
    """Hash of the file, its package's other Go files (helpers are judged by their callers, suites may
    be declared in a helper file), and config."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}\0{code_fingerprint()}\0{context}\0{path.name}\0".encode())
    digest.update(raw)
    try:
        for directory in (path.resolve().parent, *path.resolve().parent.parents):
            gomod = directory / "go.mod"
            if gomod.is_file():
                digest.update(gomod.read_bytes())
                break
        for sibling in sorted(path.parent.glob("*.go")):
            if sibling.name != path.name:
                stat = sibling.stat()
                digest.update(f"{sibling.name}:{stat.st_mtime_ns}:{stat.st_size}\0".encode())
    except OSError:
        pass
    return digest.hexdigest()


def load(key: str) -> FileResult | None:
    file = cache_root() / key[:2] / f"{key}.json"
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError):
        return None
    try:
        return _result(data)
    except (KeyError, TypeError, ValueError):
        return None


def store(key: str, result: FileResult) -> None:
    directory = cache_root() / key[:2]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        marker = cache_root() / ".gitignore"
        if not marker.exists():
            marker.write_text("# created by codemod\n*\n")
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(_data(result), handle)
        os.replace(tmp, directory / f"{key}.json")
    except OSError:
        return  # a cache that cannot be written is only slower


def _data(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "findings": [asdict(f) for f in result.findings],
        "skipped": result.skipped,
        "problem": result.problem,
        "unused": [[d.line, d.column, sorted(d.ids)] for d in result.unused_ignores],
    }


def _finding(data: dict[str, Any]) -> Finding:
    fix = data.get("fix")
    return Finding(
        data["transform_id"],
        data["start_byte"],
        data["end_byte"],
        data["message"],
        None
        if fix is None
        else Fix(
            tuple(Edit(**e) for e in fix["edits"]),
            Safety(fix["safety"]),
            fix["reason"],
            tuple(ImportRequest(**i) for i in fix["add_imports"]),
            tuple(fix["maybe_unused_imports"]),
        ),
        data["line"],
        data["column"],
    )


def _result(data: dict[str, Any]) -> FileResult:
    return FileResult(
        path=data["path"],
        findings=[_finding(f) for f in data["findings"]],
        skipped=data["skipped"],
        problem=data["problem"],
        unused_ignores=[Directive(line, column, frozenset(ids)) for line, column, ids in data["unused"]],
    )
