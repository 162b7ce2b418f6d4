"""Shared by the tests that run the real command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from codemod.edits import Edit, Finding, Fix, Safety
from codemod.transform import FileContext, Transform


def run_codemod(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`codemod ARGS` in a subprocess, as a user runs it, with no terminal on stdin (or `input` on it)."""
    return subprocess.run(
        [sys.executable, "-m", "codemod", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        env=env,
    )


class BreakBuild(Transform):
    """
    What it does
        Test-only: rewrites `context.Background()` according to a marker comment in the file.

    Why
        To provoke fixes that do not compile, and fixes that compile only in the t-context style.

    Fix safety
        Safe, by declaration.
    """

    id = "break-build"
    summary = "a test-only transform whose fixes may not compile"

    def run(self, ctx: FileContext) -> list[Finding]:
        source = ctx.source
        if b"codemod-test: break" in source:
            repairable = b"repairable" in source and ctx.settings.style == "t-context"
            text = "t.Context()" if repairable else "undefinedContext()"
        else:
            text = "context.TODO()"
        return [
            Finding(
                self.id,
                m.start(),
                m.end(),
                "rewrite",
                Fix((Edit(m.start(), m.end(), text),), Safety.SAFE, "x"),
            )
            for m in re.finditer(rb"context\.Background\(\)", source)
        ]
