"""The real gofmt, when it is on PATH: formatting and a second, authoritative syntax check."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache


@cache
def gofmt_path() -> str | None:
    return shutil.which("gofmt")


def gofmt(source: bytes) -> bytes | None:
    """gofmt's output for `source`, or None when gofmt is missing or rejects the source."""
    path = gofmt_path()
    if path is None:
        return None
    try:
        done = subprocess.run([path], input=source, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None
