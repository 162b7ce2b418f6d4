"""testify suites whose type is declared in another file of the package, run through the real CLI and Go."""

from __future__ import annotations

from pathlib import Path

from codemod.suites import scan, suite_types
from tests.gotool import make_module, require_go, run_go
from tests.helpers import run_codemod

SUITE_FILE = """package foo

import (
\t"testing"

\t"github.com/stretchr/testify/suite"
)

type (
\tbase struct {
\t\tsuite.Suite
\t}
\tfooSuite struct {
\t\t*base
\t\tname string
\t}
)

func TestFoo(t *testing.T) { suite.Run(t, &fooSuite{base: &base{}}) }
"""
METHODS_FILE = """package foo

import "context"

func load(ctx context.Context) error { return ctx.Err() }

func (f *fooSuite) TestLoad() {
\tctx := context.Background()
\tf.NoError(load(ctx))
}

// Not a suite: a plain type with a method stays as it is.
type plain struct{}

func (plain) Load() error { return load(context.Background()) }
"""


def test_scan_sees_groups_pointers_and_suite_run() -> None:
    embeds, run = scan(SUITE_FILE.encode())
    assert embeds == {"base": {"<testify>"}, "fooSuite": {"base"}}
    assert run == {"fooSuite"}


def test_suite_declared_in_another_file_is_rewritten_and_compiles(tmp_path: Path) -> None:
    go = require_go()
    make_module(
        tmp_path, go, {"foo/suite_test.go": SUITE_FILE.encode(), "foo/methods_test.go": METHODS_FILE.encode()}
    )
    assert suite_types(str(tmp_path / "foo/methods_test.go"), METHODS_FILE.encode()) == {"base", "fooSuite"}
    done = run_codemod("apply", "--select", "test-context", "./...", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    methods = (tmp_path / "foo/methods_test.go").read_text()
    assert "\tctx := f.T().Context()\n" in methods
    assert "func (plain) Load() error { return load(context.Background()) }" in methods
    tested = run_go(go, tmp_path, "test", "-count=1", "./foo/")
    assert tested.returncode == 0, tested.stdout + tested.stderr
