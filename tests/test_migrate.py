"""`codemod migrate` in real git repositories holding real Go modules."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from codemod import transform as registry
from codemod.codeowners import compile_pattern, find_codeowners, owners_of, parse_codeowners
from codemod.migrate import (
    STATE_DIR,
    chunk,
    doc_sections,
    github_anchor,
    group_files,
    migrate,
    slug,
)
from tests.gotool import make_module, require_go
from tests.test_verify import PREEXISTING, package_source

CLI = click.Group(commands={"migrate": migrate})
CODEOWNERS = """\
# last match wins
*            @org/everyone
/go/a/       @org/team-a
go/b/**      @org/team-b @org/reviewers
"""


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits work without the machine's git config, and that config cannot interfere."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = require_go()
    root = tmp_path_factory.mktemp("migrate-template") / "module"
    root.mkdir()
    make_module(root, go, {f"go/{p}/{p}_test.go": package_source(p) for p in ("a", "b", "c")})
    return root


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(template, root)
    (root / "CODEOWNERS").write_text(CODEOWNERS)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    return root


def run_migrate(root: Path, *args: str) -> Result:
    return CliRunner().invoke(CLI, ["migrate", str(root), "--jobs", "1", *args])


def branches(root: Path) -> list[str]:
    return git(root, "for-each-ref", "--format=%(refname:short)", "refs/heads/").splitlines()


def changed_files(root: Path, branch: str) -> list[str]:
    return git(root, "diff", "--name-only", f"main...{branch}").splitlines()


def state(root: Path) -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads((root / STATE_DIR / "state.json").read_text())["shards"]
    return data


# -- the whole run ---------------------------------------------------------------------------------


def test_one_verified_branch_per_shard_and_back_on_main(repo: Path) -> None:
    main_head = git(repo, "rev-parse", "HEAD")
    done = run_migrate(repo, "--split-by", "package")
    assert done.exit_code == 0, done.output

    shards = ["codemod/test-context/go-a", "codemod/test-context/go-b", "codemod/test-context/go-c"]
    assert branches(repo) == [*shards, "main"]
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(repo, "rev-parse", "HEAD") == main_head
    assert git(repo, "status", "--porcelain") == ""
    for shard, pkg in zip(shards, "abc", strict=True):
        assert changed_files(repo, shard) == [f"go/{pkg}/{pkg}_test.go"]
        assert git(repo, "rev-list", "--count", f"main..{shard}") == "1"
        message = git(repo, "log", "-1", "--format=%B", shard)
        assert message.startswith(f"codemod: test-context in go/{pkg}\n")
        assert "- test-context: 1 fix (" in message and "Verified: go vet on 1 package: 1 passed" in message
        assert "utils.WithShortDeadline(t)" in git(repo, "show", f"{shard}:go/{pkg}/{pkg}_test.go")

    description = (repo / STATE_DIR / "codemod__test-context__go-a.md").read_text()
    assert "❌ Using context.Background() Instead of t.Context()" in description
    assert "> The guide's first rule" in description  # the transform's own Why
    assert "| `test-context` | 1 | 1 |" in description
    assert (
        "`GOTOOLCHAIN=local go vet <package>`" in description
        and "go vet on 1 package: 1 passed" in description
    )
    assert "## How to review" in description and "`go/a/a_test.go`" in description
    index = (repo / STATE_DIR / "index.md").read_text()
    assert index.count("| done `") == 3
    assert f"/{STATE_DIR}/" in (repo / ".git/info/exclude").read_text()
    assert all(STATE_DIR not in f for shard in shards for f in changed_files(repo, shard))
    assert {info["status"] for info in state(repo).values()} == {"done"}

    again = run_migrate(repo, "--split-by", "package")
    assert again.exit_code == 0 and again.stderr.count("already done, skipped") == 3


def test_a_shard_whose_fix_breaks_the_build_is_rolled_back(repo: Path, break_build: str) -> None:
    (repo / "go/a/a_test.go").write_bytes(package_source("a", "codemod-test: break"))
    (repo / "go/b/b_test.go").write_bytes(package_source("b", "codemod-test: break repairable"))
    (repo / "go/c/c_test.go").write_bytes(package_source("c", template=PREEXISTING))
    git(repo, "commit", "-q", "-am", "cases")

    done = run_migrate(repo, "--split-by", "package", "--select", break_build)
    assert done.exit_code == 0, done.output

    # go/a: broken with and without the retry, so nothing is left: no branch, reported and recorded.
    assert "codemod/break-build/go-a" not in branches(repo)
    assert "go/a: reverted (break-build): `go vet ./go/a`" in done.stderr
    assert "nothing left after verification" in done.stderr
    assert state(repo)["codemod/break-build/go-a"]["reverted"] == ["go/a"]
    text = (repo / STATE_DIR / "codemod__break-build__go-a.md").read_text()
    assert "undefined: undefinedContext" in text and "1 reverted" in text
    # go/b: the retry in the t-context style compiles, and that is what is committed.
    assert "get(t.Context())" in git(repo, "show", "codemod/break-build/go-b:go/b/b_test.go")
    assert "repaired with safe t.Context() fixes" in git(
        repo, "log", "-1", "--format=%B", "codemod/break-build/go-b"
    )
    # go/c: `go vet` failed before the change too; the fix is not blamed and is committed.
    assert "context.TODO()" in git(repo, "show", "codemod/break-build/go-c:go/c/c_test.go")
    assert "failed before the change too" in git(repo, "log", "-1", "--format=%B", "codemod/break-build/go-c")
    assert git(repo, "status", "--porcelain") == "" and git(repo, "symbolic-ref", "--short", "HEAD") == "main"


def test_dirty_work_tree_is_refused(repo: Path) -> None:
    (repo / "go/a/a_test.go").write_text("package a\n")
    done = run_migrate(repo)
    assert done.exit_code == 2
    assert "uncommitted changes" in done.stderr and "go/a/a_test.go" in done.stderr
    assert branches(repo) == ["main"]


def test_not_a_git_repository_is_a_usage_error(template: Path, tmp_path: Path) -> None:
    root = tmp_path / "plain"
    shutil.copytree(template, root)
    done = run_migrate(root)
    assert done.exit_code == 2 and "not inside a git repository" in done.stderr


def test_dry_run_prints_the_plan_and_touches_nothing(repo: Path) -> None:
    exclude = (repo / ".git/info/exclude").read_bytes()
    refs = git(repo, "for-each-ref")
    done = run_migrate(repo, "--dry-run", "--split-by", "package", "--max-files", "1")
    assert done.exit_code == 0, done.output
    assert "3 shards:" in done.stdout
    assert "codemod/test-context/go-b  1 file: test-context 1  (go/b)" in done.stdout
    assert git(repo, "for-each-ref") == refs and git(repo, "status", "--porcelain") == ""
    assert not (repo / ".codemod").exists() and (repo / ".git/info/exclude").read_bytes() == exclude


def test_codeowners_shards_have_one_owner_set(repo: Path) -> None:
    (repo / "go/b/more").mkdir()
    (repo / "go/b/more/more_test.go").write_bytes(package_source("more"))
    (repo / "go/d").mkdir()
    (repo / "go/d/d_test.go").write_bytes(package_source("d"))
    (repo / ".github").mkdir()
    git(repo, "mv", "CODEOWNERS", ".github/CODEOWNERS")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "more")

    done = run_migrate(repo, "--split-by", "codeowners", "--max-files", "1", "--verify", "none")
    assert done.exit_code == 0, done.output

    expected = {
        "codemod/test-context/org-everyone-1": ["go/c/c_test.go"],
        "codemod/test-context/org-everyone-2": ["go/d/d_test.go"],
        "codemod/test-context/org-team-a": ["go/a/a_test.go"],
        "codemod/test-context/org-team-b-org-reviewers-1": ["go/b/b_test.go"],
        "codemod/test-context/org-team-b-org-reviewers-2": ["go/b/more/more_test.go"],
    }
    assert {b: changed_files(repo, b) for b in branches(repo) if b != "main"} == expected
    description = (repo / STATE_DIR / "codemod__test-context__org-team-b-org-reviewers-1.md").read_text()
    assert "files owned by @org/team-b @org/reviewers" in description
    subject = git(repo, "log", "-1", "--format=%s", "codemod/test-context/org-team-a")
    assert subject == "codemod: test-context for @org/team-a"
    assert "Not verified (`--verify none`)" in description


def test_codeowners_split_without_codeowners_is_a_usage_error(repo: Path) -> None:
    git(repo, "rm", "-q", "CODEOWNERS")
    git(repo, "commit", "-q", "-m", "no owners")
    done = run_migrate(repo, "--split-by", "codeowners")
    assert done.exit_code == 2 and "no CODEOWNERS" in done.stderr


KILLER = """
import os, sys, click
from codemod import migrate as m

real = m.Migration._commit

def commit(self, shard, report, base):
    if shard.branch.endswith(os.environ["KILL_AT"]):
        os._exit(9)  # like SIGKILL: no cleanup at all, files written, branch checked out
    return real(self, shard, report, base)

m.Migration._commit = commit
click.Group(commands={"migrate": m.migrate})(sys.argv[1:])
"""


def test_resume_after_a_killed_run(repo: Path, tmp_path: Path) -> None:
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    args = ["migrate", str(repo), "--split-by", "package", "--jobs", "1"]
    killed = subprocess.run(
        [sys.executable, str(script), *args],
        env={**os.environ, "KILL_AT": "go-b"},
        capture_output=True,
        text=True,
    )
    assert killed.returncode == 9, killed.stderr
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "codemod/test-context/go-b"
    assert git(repo, "status", "--porcelain") != ""
    first = git(repo, "rev-parse", "codemod/test-context/go-a")

    done = run_migrate(repo, "--split-by", "package")
    assert done.exit_code == 0, done.output
    assert "recovered from an interrupted run: back on main" in done.stderr
    assert "[1/3] codemod/test-context/go-a: already done, skipped" in done.stderr
    assert git(repo, "rev-parse", "codemod/test-context/go-a") == first
    assert changed_files(repo, "codemod/test-context/go-b") == ["go/b/b_test.go"]
    assert changed_files(repo, "codemod/test-context/go-c") == ["go/c/c_test.go"]
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main" and git(repo, "status", "--porcelain") == ""


def test_ctrl_c_puts_the_user_back_on_their_branch(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from codemod import migrate as module

    real = module.Migration._commit

    def interrupt(self: module.Migration, shard: module.Shard, report: object, base: str) -> str | None:
        if shard.branch.endswith("go-b"):
            raise KeyboardInterrupt
        return real(self, shard, report, base)  # type: ignore[arg-type]

    monkeypatch.setattr(module.Migration, "_commit", interrupt)
    done = run_migrate(repo, "--split-by", "package", "--verify", "none")

    assert done.exit_code == 130 and "run the same command again to resume" in done.stderr
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(repo, "status", "--porcelain") == ""
    assert branches(repo) == ["codemod/test-context/go-a", "main"]


def test_rerun_redoes_deleted_branches_from_the_new_base(repo: Path) -> None:
    assert run_migrate(repo, "--split-by", "package", "--verify", "none").exit_code == 0
    git(repo, "merge", "-q", "--ff-only", "codemod/test-context/go-a")  # "merged" and deleted
    git(repo, "branch", "-q", "-d", "codemod/test-context/go-a")
    (repo / "go/c/c_test.go").write_bytes(package_source("c") + b"\nfunc TestMore(t *testing.T) {}\n")
    git(repo, "commit", "-q", "-am", "more in c")

    done = run_migrate(repo, "--split-by", "package", "--verify", "none")
    assert done.exit_code == 0, done.output
    assert "go-b: already done, skipped" in done.stderr and "go-c: already done, skipped" in done.stderr
    assert "codemod/test-context/go-a" not in branches(repo)  # main has the fix now: nothing to redo
    assert "go-a" not in done.stderr


def test_a_branch_that_is_not_ours_is_left_alone(repo: Path) -> None:
    git(repo, "branch", "codemod/test-context/go-b")
    done = run_migrate(repo, "--split-by", "package", "--verify", "none")
    assert done.exit_code == 1
    assert "go-b: the branch exists already" in done.stderr
    assert git(repo, "rev-parse", "codemod/test-context/go-b") == git(repo, "rev-parse", "main")
    assert changed_files(repo, "codemod/test-context/go-c") == ["go/c/c_test.go"]


def test_a_second_concurrent_run_is_refused(repo: Path) -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        (repo / STATE_DIR).mkdir(parents=True)
        (repo / STATE_DIR / "state.json").write_text(json.dumps({"running": True, "pid": other.pid}))
        done = run_migrate(repo, "--verify", "none")
        assert done.exit_code == 2 and f"another codemod migrate (pid {other.pid})" in done.stderr
    finally:
        other.kill()
        other.wait()


def test_base_and_a_detached_start(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    (repo / "go/c/c_test.go").write_bytes(package_source("c").replace(b"context.Background()", b"nil"))
    git(repo, "commit", "-q", "-am", "c is done on main")
    git(repo, "checkout", "-q", "--detach", "HEAD")
    done = run_migrate(repo, "--base", base, "--split-by", "package", "--verify", "none")
    assert done.exit_code == 0, done.output
    assert "codemod/test-context/go-c" in branches(repo)  # planned on the base, not on main
    assert git(repo, "rev-parse", "codemod/test-context/go-c~1") == base
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "HEAD"  # still detached where we were
    assert git(repo, "rev-parse", "HEAD") == git(repo, "rev-parse", "main")


def test_push_and_open_pr_with_gh(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    fake = tmp_path / "bin" / "gh"
    fake.parent.mkdir()
    calls = tmp_path / "gh-calls"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho https://github.com/o/r/pull/1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")

    done = run_migrate(repo, "--split-by", "package", "--verify", "none", "--push", "origin", "--open-pr")
    assert done.exit_code == 0, done.output
    pushed = git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/").splitlines()
    assert pushed == ["codemod/test-context/go-a", "codemod/test-context/go-b", "codemod/test-context/go-c"]
    lines = calls.read_text().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        "pr create --head codemod/test-context/go-a --title codemod: test-context in go/a"
    )
    assert "--body-file" in lines[0] and lines[0].endswith("--base main")
    assert state(repo)["codemod/test-context/go-a"]["pr"] == "https://github.com/o/r/pull/1"


def test_open_pr_without_gh_says_so(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    monkeypatch.setattr("codemod.migrate.gh_path", lambda: None)
    done = run_migrate(repo, "--select", "test-context", "--verify", "none", "--push", "origin", "--open-pr")
    assert done.exit_code == 0, done.output
    assert "gh (the GitHub CLI) is not installed" in done.stderr
    assert run_migrate(repo, "--open-pr").exit_code == 2  # --open-pr needs --push


# -- the pieces ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("*", ["a.go", "x/y/z.go"], []),
        ("*.go", ["a.go", "x/y/z.go"], ["a.txt"]),
        ("/go/a/", ["go/a/x.go", "go/a/b/y.go"], ["go/ab/x.go", "x/go/a/y.go", "go/a"]),
        ("go/b/**", ["go/b/x.go", "go/b/c/d.go"], ["go/bb/x.go"]),
        ("docs/*", ["docs/x.md"], ["docs/a/x.md"]),
        ("apps/", ["apps/x", "a/b/apps/x"], ["apps"]),
        ("**/logs", ["logs/x", "deep/logs/y"], ["logsx/y"]),
        ("go/services/multiorch", ["go/services/multiorch/a.go"], ["x/go/services/multiorch/a.go"]),
        ("/build/logs/", ["build/logs/x"], ["a/build/logs/x"]),
    ],
)
def test_codeowners_patterns(pattern: str, matches: list[str], misses: list[str]) -> None:
    regex = compile_pattern(pattern)
    assert [m for m in matches if not regex.match(m)] == []
    assert [m for m in misses if regex.match(m)] == []


def test_codeowners_last_match_wins_and_comments(tmp_path: Path) -> None:
    rules = parse_codeowners(CODEOWNERS + "go/a/gen/ # no owner: un-owns the subtree\n")
    assert owners_of(rules, "README.md") == ("@org/everyone",)
    assert owners_of(rules, "go/a/a_test.go") == ("@org/team-a",)
    assert owners_of(rules, "go/a/gen/x.go") == ()
    assert owners_of(rules, "go/b/x/y.go") == ("@org/team-b", "@org/reviewers")
    assert owners_of(parse_codeowners("a\\#b @x  # comment\n"), "a#b") == ("@x",)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/CODEOWNERS").write_text("")
    (tmp_path / "CODEOWNERS").write_text("")
    assert find_codeowners(tmp_path) == tmp_path / "CODEOWNERS"
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/CODEOWNERS").write_text("")
    assert find_codeowners(tmp_path) == tmp_path / ".github/CODEOWNERS"


def test_directory_split_picks_the_first_depth_that_splits(tmp_path: Path) -> None:
    files = [tmp_path / p for p in ("go/a/x_test.go", "go/a/deep/y_test.go", "go/b/z_test.go")]
    groups = group_files(files, tmp_path, tmp_path, "directory")
    assert list(groups) == ["go/a", "go/b"]
    assert list(group_files(files, tmp_path, tmp_path, "directory", depth=1)) == ["go"]
    assert list(group_files(files, tmp_path, tmp_path / "go", "directory")) == ["go/a", "go/b"]
    assert list(group_files(files, tmp_path, tmp_path, "package")) == ["go/a", "go/a/deep", "go/b"]


def test_chunks_keep_packages_together_when_they_fit(tmp_path: Path) -> None:
    files = [tmp_path / p for p in ("a/1.go", "a/2.go", "b/1.go", "c/1.go", "c/2.go", "c/3.go")]
    assert [len(c) for c in chunk(files, 3)] == [3, 3]
    assert chunk(files, 3)[0] == files[:3]
    assert [len(c) for c in chunk(files, 2)] == [2, 1, 2, 1]
    assert chunk(files, 10) == [files]


def test_names_anchors_and_doc_sections() -> None:
    assert slug("@org/team-b @org/reviewers") == "org-team-b-org-reviewers"
    assert slug("..") == "root" and slug("go/a.lock") == "go-a"
    assert (
        github_anchor("❌ Using context.Background() Instead of t.Context()")
        == "-using-contextbackground-instead-of-tcontext"
    )
    sections = doc_sections(registry.all_transforms()["test-context"].doc())
    assert {"What it does", "Why", "Fix safety"} <= set(sections)
    assert sections["Why"].startswith("The guide's first rule")
