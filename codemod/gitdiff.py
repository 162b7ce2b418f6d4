"""Lines changed since a git revision, for `check --new-from-rev` (adopt the tool without fixing the past)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_FILE = re.compile(r"^\+\+\+ b/(.*)$")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class GitError(Exception):
    pass


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from None
    if done.returncode != 0:
        raise GitError(
            done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {args[0]} failed"
        )
    return done.stdout


def changed_lines(rev: str, start: Path) -> dict[Path, set[int] | None]:
    """Absolute path -> new-side line numbers changed since `rev` (None: the whole file is new)."""
    root = Path(_git(start, "rev-parse", "--show-toplevel").strip())
    _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    changed: dict[Path, set[int] | None] = {}
    current: Path | None = None
    for line in _git(root, "diff", "--unified=0", "--no-color", "--no-ext-diff", rev, "--").splitlines():
        if match := _FILE.match(line):
            current = (root / match.group(1)).resolve()
            changed.setdefault(current, set())
            continue
        if current is not None and (match := _HUNK.match(line)):
            first, count = int(match.group(1)), int(match.group(2) or "1")
            lines = changed[current]
            if lines is not None:
                lines.update(range(first, first + count))
    for name in _git(root, "ls-files", "--others", "--exclude-standard").splitlines():
        changed[(root / name).resolve()] = None
    return changed
