"""The CLI contract, run the way a user runs it."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from codemod.cli import main
from codemod.config import Settings
from codemod.files import WriteRefused, discover, write_atomic
from codemod.runner import Job, process_file
from tests.helpers import run_codemod

GOMOD = "module github.com/multigres/multigres\n\ngo 1.25\n"
HELPER = (
    'package utils\n\nimport "testing"\n\nfunc WithShortDeadline(t *testing.T) {}\nfunc WithTimeout() {}\n'
)
TEST = """package foo

import (
\t"context"
\t"testing"
)

func get(ctx context.Context) error { return ctx.Err() }

func TestGet(t *testing.T) {
\t_ = get(context.Background())
}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "go.mod").write_text(GOMOD)
    (tmp_path / "go/test/utils").mkdir(parents=True)
    (tmp_path / "go/test/utils/context.go").write_text(HELPER)
    (tmp_path / "go/foo").mkdir(parents=True)
    (tmp_path / "go/foo/foo_test.go").write_text(TEST)
    return tmp_path


def invoke(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_codemod(*args, cwd=cwd)


def test_dry_run_prints_diff_and_writes_nothing(repo: Path) -> None:
    done = invoke("apply", "--dry-run", "./...", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "+\t_ = get(utils.WithShortDeadline(t))" in done.stdout
    assert done.stdout.startswith("--- a/go/foo/foo_test.go\n+++ b/go/foo/foo_test.go\n")
    assert "would change 1 file, 1 fix" in done.stderr
    assert (repo / "go/foo/foo_test.go").read_text() == TEST


def test_apply_writes_and_second_run_changes_nothing(repo: Path) -> None:
    target = repo / "go/foo/foo_test.go"
    target.chmod(0o640)
    assert invoke("apply", cwd=repo).returncode == 0
    assert "utils.WithShortDeadline(t)" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    again = invoke("apply", "--dry-run", cwd=repo)
    assert again.stdout == "" and "would change 0 files" in again.stderr


def test_json_records_one_per_fix(repo: Path) -> None:
    done = invoke("apply", "--dry-run", "--format", "json", cwd=repo)
    records = json.loads(done.stdout)
    assert records == [
        {
            "path": "go/foo/foo_test.go",
            "line": 11,
            "column": 10,
            "transform": "test-context",
            "message": "context.Background() in a test: derive the context from t",
            "safety": "safe",
            "reason": records[0]["reason"],
            "replacement": "utils.WithShortDeadline(t)",
            "applied": False,  # --dry-run: nothing is applied
        }
    ]
    written = json.loads(invoke("apply", "--format", "json", cwd=repo).stdout)
    assert [record["applied"] for record in written] == [True]


def test_usage_errors_exit_2(repo: Path) -> None:
    assert invoke("apply", "--select", "no-such-transform", cwd=repo).returncode == 2
    assert invoke("apply", "--format", "xml", cwd=repo).returncode == 2
    assert invoke("explain", "nope", cwd=repo).returncode == 2
    (repo / ".codemod.toml").write_text("style = 'weird'\n")
    done = invoke("apply", cwd=repo)
    assert done.returncode == 2 and "style must be one of" in done.stderr and "Traceback" not in done.stderr


def test_bad_files_get_one_line_and_the_run_goes_on(repo: Path) -> None:
    (repo / "go/foo/latin1_test.go").write_bytes(b"package foo\n// caf\xe9\n")
    (repo / "go/foo/broken_test.go").write_text("this is not go {{{")
    done = invoke("apply", cwd=repo)
    assert done.returncode == 0
    assert "go/foo/latin1_test.go: skipped: not valid UTF-8 (line 2)" in done.stderr
    assert "go/foo/broken_test.go: skipped: does not parse as Go" in done.stderr
    assert "Traceback" not in done.stderr
    assert "WithShortDeadline" in (repo / "go/foo/foo_test.go").read_text()


def test_file_gone_before_reading_is_named(tmp_path: Path) -> None:
    result = process_file(Job(str(tmp_path / "gone_test.go"), Settings(), ("test-context",), False))
    assert result.problem and result.skipped == "cannot read: No such file or directory"


def test_discovery_skips_vendor_testdata_hidden_and_production_code(repo: Path) -> None:
    for rel in ("vendor/a/a_test.go", "testdata/b_test.go", ".hidden/c_test.go", "go/foo/testutil.go"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(TEST)
    production = 'package foo\n\nimport "context"\n\nvar Root = context.Background()\n'
    (repo / "go/foo/foo.go").write_text(production)
    files, messages = discover([str(repo) + "/..."])
    # A non-test file that imports testing holds shared test helpers: in scope; production code is not.
    assert [f.relative_to(repo).as_posix() for f in files] == [
        "go/foo/foo_test.go",
        "go/foo/testutil.go",
        "go/test/utils/context.go",
    ]
    assert messages == []
    _, messages = discover([str(repo / "go/foo/foo.go")])
    skipped = "skipped: not a *_test.go file and does not import testing"
    assert messages == [f"{repo / 'go/foo/foo.go'}: {skipped}"]
    _, messages = discover([str(repo / "missing")])
    assert messages == [f"{repo / 'missing'}: no such file or directory"]


def test_exclude_globs(repo: Path) -> None:
    (repo / ".codemod.toml").write_text('exclude = ["go/foo/*"]\n')
    done = invoke("apply", "--dry-run", cwd=repo)
    assert done.stdout == ""


def test_refuses_to_write_a_file_changed_on_disk(tmp_path: Path) -> None:
    target = tmp_path / "a_test.go"
    target.write_bytes(b"new content")
    with pytest.raises(WriteRefused, match="changed on disk"):
        write_atomic(target, b"fixed", b"old content")
    assert target.read_bytes() == b"new content"
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind


def test_list_and_explain() -> None:
    runner = CliRunner()
    listed = runner.invoke(main, ["list"])
    assert listed.exit_code == 0 and "test-context" in listed.output
    explained = runner.invoke(main, ["explain", "test-context"])
    for heading in ("What it does", "Why", "Example", "Fix safety"):
        assert heading in explained.output


def test_check_exit_codes(repo: Path) -> None:
    done = invoke("check", cwd=repo)
    assert done.returncode == 1
    assert done.stdout.startswith("go/foo/foo_test.go:11:10: test-context ")
    invoke("apply", cwd=repo)
    assert invoke("check", cwd=repo).returncode == 0
