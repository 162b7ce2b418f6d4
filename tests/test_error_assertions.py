"""The error-assertion rewrites make failure messages better, never weaker: a deliberately failing Go
test is run before and after the rewrite, and the after-message names the errors involved."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codemod.config import Settings
from codemod.engine import process_source
from codemod.project import ProjectInfo
from codemod.transform import select_transforms
from tests.gotool import make_module, require_go, run_go

FAILING = b"""package example

import (
\t"errors"
\t"fmt"
\t"io/fs"
\t"testing"

\t"github.com/stretchr/testify/require"
)

var (
\terrNotFound = errors.New("not found")
\terrTimeout  = errors.New("timeout")
)

func query() error { return fmt.Errorf("query users: %w", errTimeout) }

func nothing() error { return nil }

func TestIs(t *testing.T) {
\terr := query()
\trequire.True(t, errors.Is(err, errNotFound))
}

func TestAs(t *testing.T) {
\terr := query()
\tvar pathErr *fs.PathError
\trequire.True(t, errors.As(err, &pathErr))
}

func TestEqual(t *testing.T) {
\terr := query()
\trequire.Equal(t, "query users: not found", err.Error())
}

func TestContainsNil(t *testing.T) {
\terr := nothing()
\trequire.Error(t, err)
\trequire.Contains(t, err.Error(), "refused")
}

func TestContainsOther(t *testing.T) {
\terr := query()
\trequire.Contains(t, err.Error(), "refused")
}
"""

PANICS = b"""package example

import (
\t"testing"

\t"github.com/stretchr/testify/assert"
)

func nothing() error { return nil }

func TestContainsPanics(t *testing.T) {
\terr := nothing()
\tassert.Contains(t, err.Error(), "refused")
\tt.Log("the test went on")
}
"""

IDS = ("error-is-assertion", "error-as-assertion", "error-message-assertion")
PROJECT = ProjectInfo(go_version=(1, 24), testify_version=(1, 11, 1))


def _rewritten(source: bytes) -> bytes:
    result = process_source("failing_test.go", source, PROJECT, Settings(), select_transforms(IDS, ()))
    assert result.new is not None
    return result.new


def _test_output(output: str, name: str) -> str:
    """The lines `go test -v` printed for one test function, up to the next `=== RUN`."""
    match = re.search(rf"^=== RUN   {name}\n(.*?)(?=^=== RUN|\Z)", output, re.M | re.S)
    assert match, f"{name} did not run:\n{output}"
    return match.group(1)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, bytes]:
    """(`go test -v` before, after, the rewritten source); the panicking case runs in its own packages."""
    go = require_go()
    root: Path = tmp_path_factory.mktemp("failing")
    after = _rewritten(FAILING)
    files = {
        "before/failing_test.go": FAILING,
        "after/failing_test.go": after,
        "beforenil/failing_test.go": PANICS,
        "afternil/failing_test.go": _rewritten(PANICS),
    }
    make_module(root, go, files)
    runs = [run_go(go, root, "test", "-count=1", "-v", f"./{d}/") for d in ("before", "beforenil")]
    after_runs = [run_go(go, root, "test", "-count=1", "-v", f"./{d}/") for d in ("after", "afternil")]
    before_text = "".join(r.stdout + r.stderr for r in runs)
    return before_text, "".join(r.stdout + r.stderr for r in after_runs), after


def test_every_form_was_rewritten(outputs: tuple[str, str, bytes]) -> None:
    after = outputs[2].decode()
    for assertion in ("ErrorIs(t, err, errNotFound)", "ErrorAs(t, err, &pathErr)", "ErrorContains(t, err, "):
        assert assertion in after
    assert 'EqualError(t, err, "query users: not found")' in after
    assert "require.Error(t, err)" not in after, "the Error before ErrorContains is redundant"


@pytest.mark.go
@pytest.mark.parametrize(
    ("test", "before_says", "after_says"),
    [
        ("TestIs", ["Should be true"], ["Target error should be in err chain", '"not found"', "timeout"]),
        ("TestAs", ["Should be true"], ["Should be in error chain", "*fs.PathError", "query users: timeout"]),
        ("TestEqual", ["Not equal"], ["Error message not equal", "query users: not found", "timeout"]),
        ("TestContainsOther", ["does not contain"], ["query users: timeout", "does not contain", "refused"]),
    ],
)
def test_failure_names_the_errors(
    outputs: tuple[str, str, bytes], test: str, before_says: list[str], after_says: list[str]
) -> None:
    before, after, _ = outputs
    before_lines, after_lines = _test_output(before, test), _test_output(after, test)
    assert f"--- FAIL: {test}" in before_lines and f"--- FAIL: {test}" in after_lines
    for phrase in before_says:
        assert phrase in before_lines, before_lines
    for phrase in after_says:
        assert phrase in after_lines, after_lines
    if test in ("TestIs", "TestAs"):
        assert "timeout" not in before_lines, "the old message named no error at all"


@pytest.mark.go
def test_nil_error_fails_where_it_stopped_the_same_way(outputs: tuple[str, str, bytes]) -> None:
    """`require.Error` + `Contains(err.Error())` became one `ErrorContains`: a nil error still stops
    the test with testify's own message (no panic was reached before either: Error stopped first)."""
    before, after, _ = outputs
    for lines in (_test_output(before, "TestContainsNil"), _test_output(after, "TestContainsNil")):
        assert "An error is expected but got nil." in lines
        assert "panic:" not in lines


@pytest.mark.go
def test_nil_error_fails_instead_of_panicking(outputs: tuple[str, str, bytes]) -> None:
    before, after, _ = outputs
    before_lines, after_lines = (
        _test_output(before, "TestContainsPanics"),
        _test_output(after, "TestContainsPanics"),
    )
    assert "nil pointer dereference" in before_lines and "the test went on" not in before_lines
    assert "An error is expected but got nil." in after_lines and "panic:" not in after_lines
    assert "the test went on" in after_lines, "assert.ErrorContains fails and lets the test go on"


GRPC_TEST = (
    Path(__file__).resolve().parent.parent / "golden" / "grpc-bufconn" / "same-literal.input"
).read_bytes()


def _bufconn(grpc: tuple[int, int, int]) -> tuple[bytes | None, list[str]]:
    project = ProjectInfo(
        go_version=(1, 24), testify_version=(1, 11, 1), module_versions=(("google.golang.org/grpc", grpc),)
    )
    result = process_source(
        "grpc_test.go",
        GRPC_TEST,
        project,
        Settings(),
        select_transforms(("grpc-bufconn",), ()),
        allow_unsafe=True,
    )
    return result.new, [f.message for f in result.findings]


def test_bufconn_keeps_dial_before_grpc_has_new_client() -> None:
    new, _ = _bufconn((1, 62, 1))
    assert new is not None
    assert b'grpc.Dial("passthrough:///bufnet", grpc.WithContextDialer(' in new
    assert b"NewClient" not in new and b"WithInsecure" not in new


def test_bufconn_uses_new_client_from_grpc_1_63() -> None:
    new, _ = _bufconn((1, 63, 0))
    assert new is not None and b'grpc.NewClient("passthrough:///bufnet"' in new


def test_bufconn_reported_before_bufconn_has_dial_context() -> None:
    new, messages = _bufconn((1, 40, 0))
    assert new is None
    assert messages and messages[0].endswith(
        "bufconn's DialContext needs grpc >= v1.41.0, go.mod has v1.40.0"
    )
