"""The real Go toolchain for tests: a missing `go` skips locally and fails in CI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

MODULE = "github.com/multigres/multigres"
TESTIFY = "v1.11.1"

HELPER_STUB = """package utils

import (
\t"context"
\t"net"
\t"testing"
\t"time"
)

// WithShortDeadline mirrors multigres' go/test/utils: a 2-second deadline derived from t.Context().
func WithShortDeadline(t *testing.T) context.Context {
\tt.Helper()
\treturn WithTimeout(t, 2*time.Second)
}

// WithTimeout mirrors multigres' go/test/utils.
func WithTimeout(t *testing.T, timeout time.Duration) context.Context {
\tt.Helper()
\tctx, cancel := context.WithTimeout(t.Context(), timeout)
\tt.Cleanup(cancel)
\treturn ctx
}

// GetFreePort mirrors multigres' go/test/utils: a port the kernel just handed out, released again.
func GetFreePort(t *testing.T) int {
\tt.Helper()
\tl, err := net.Listen("tcp", "127.0.0.1:0")
\tif err != nil {
\t\tt.Fatal(err)
\t}
\tdefer l.Close()
\treturn l.Addr().(*net.TCPAddr).Port
}
"""


def require_go() -> str:
    go = shutil.which("go")
    if go is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but `go` is not on PATH: the Go checks must run in CI")
        pytest.skip("go is not on PATH")
    return go


def go_version(go: str) -> str:
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"go(\d+)\.(\d+)", out.strip())
    return f"{match.group(1)}.{match.group(2)}" if match else "1.24"


def make_module(root: Path, go: str, files: dict[str, bytes]) -> None:
    """A Go module named like multigres, with the helper stub and testify, holding `files`."""
    (root / "go.mod").write_text(
        f"module {MODULE}\n\ngo {go_version(go)}\n\nrequire github.com/stretchr/testify {TESTIFY}\n"
    )
    helper = root / "go" / "test" / "utils"
    helper.mkdir(parents=True, exist_ok=True)
    (helper / "utils.go").write_text(HELPER_STUB)
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    run_go(go, root, "mod", "tidy")


def run_go(go: str, root: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    done = subprocess.run([go, *args], cwd=root, capture_output=True, text=True, env=env, timeout=timeout)
    if args[:2] == ("mod", "tidy") and done.returncode != 0:
        raise RuntimeError(f"go mod tidy failed:\n{done.stderr}")
    return done
