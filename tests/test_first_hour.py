"""What a new user hits in the first hour (issue 15), each reproduced on real files with the real CLI."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import run_codemod

GOMOD = "module example.com/m\n\ngo 1.25\n"
TEST = """package m

import (
\t"context"
\t"testing"
)

func get(ctx context.Context) error { return ctx.Err() }

func TestA(t *testing.T) {
\t_ = get(context.Background())
}
"""


def codemod(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "CODEMOD_CACHE_DIR": str(cwd / ".cache"), **env}
    return run_codemod(*args, cwd=cwd, env=base)


@pytest.fixture
def module(tmp_path: Path) -> Path:
    (tmp_path / "go.mod").write_text(GOMOD)
    (tmp_path / "a_test.go").write_text(TEST)
    return tmp_path


# 1. Selecting nothing is a usage error, never "run everything".


@pytest.mark.parametrize(
    "args",
    [
        ("check", "--select", "test-context", "--ignore", "test-context"),
        ("apply", "--select", "test-context", "--ignore", "test-context"),
        ("check", "--ignore", "all"),
        ("apply", "--ignore", "all"),
        ("apply", "--ignore", "test-context"),  # the config selects only test-context
    ],
)
def test_ignoring_every_selected_transform_is_a_usage_error(module: Path, args: tuple[str, ...]) -> None:
    (module / ".codemod.toml").write_text('select = ["test-context"]\n')
    done = codemod(*args, "./...", cwd=module)
    assert done.returncode == 2, done.stderr
    assert "no transform left to run" in done.stderr
    assert done.stdout == ""
    assert (module / "a_test.go").read_text() == TEST


# 2. A target that does not exist is an error, not a clean run.


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("check", "does-not-exist"), "does-not-exist: no such file or directory"),
        (("apply", "nonexist/..."), "nonexist/...: no such file or directory"),
        (("apply", "--dry-run", "./...", "nonexist"), "nonexist: no such file or directory"),
        (("check", "-", "./..."), "-: reading from stdin is not supported"),
    ],
)
def test_missing_targets_exit_2(module: Path, args: tuple[str, ...], message: str) -> None:
    done = codemod(*args, cwd=module)
    assert done.returncode == 2, done.stderr
    assert f"codemod: {message}" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # nothing else was run: a typo'd command line does half a job otherwise
    assert (module / "a_test.go").read_text() == TEST


# 3. --new-from-rev with Go-style paths, file paths (what pre-commit passes) and from a subfolder.


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", *args], cwd=cwd, check=True)


@pytest.fixture
def repository(module: Path) -> Path:
    (module / "pkg").mkdir()
    (module / "a_test.go").rename(module / "pkg/a_test.go")
    git(module, "init", "-q")
    git(module, "add", ".")
    git(module, "commit", "-q", "-m", "old findings")
    with (module / "pkg/a_test.go").open("a") as handle:
        handle.write("\nfunc TestB(t *testing.T) {\n\t_ = get(context.TODO())\n}\n")
    return module


@pytest.mark.parametrize(
    ("cwd", "target", "shown"),
    [
        (".", "./...", "pkg/a_test.go"),
        (".", "pkg/...", "pkg/a_test.go"),
        (".", "pkg/a_test.go", "pkg/a_test.go"),
        ("pkg", "./...", "a_test.go"),
        ("pkg", "a_test.go", "a_test.go"),
        ("..", "{root}/pkg/a_test.go", "{root}/pkg/a_test.go"),
    ],
)
def test_new_from_rev_with_any_target(repository: Path, cwd: str, target: str, shown: str) -> None:
    root = repository.name
    done = codemod("check", "--new-from-rev", "HEAD", target.format(root=root), cwd=repository / cwd)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"{shown.format(root=root)}:15:10: test-context context.TODO() in a test: derive the context "
        "from t [safe fix]"
    ]


# 4. Symlink loops and unreadable folders: one line naming the path, never a traceback.


def test_symlink_loops_are_named(tmp_path: Path) -> None:
    (tmp_path / "me").symlink_to("me")
    (tmp_path / "loop").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop")
    for args, shown in [
        (("check", "me"), "me"),
        (("check", "loop/..."), "loop/..."),
        (("apply", "loop"), "loop"),
    ]:
        done = codemod(*args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"codemod: {shown}: symlink loop (too many levels of symbolic links)\n"


def test_a_symlink_loop_inside_the_tree_is_not_followed(module: Path) -> None:
    (module / "sub").mkdir()
    (module / "sub/up").symlink_to("..")
    (module / "sub/self_test.go").symlink_to("self_test.go")
    done = codemod("check", "--select", "test-context", "./...", cwd=module)
    assert done.returncode == 1, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["a_test.go"]


def unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run codemod where permissions hold: as root, without the capabilities that bypass them."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv: file permissions are not enforced")
        caps = "-dac_override,-dac_read_search"
        prefix = ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]
    env = {"PATH": "/usr/bin:/bin", "CODEMOD_CACHE_DIR": str(cwd / ".cache")}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "codemod", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
    )


@pytest.fixture
def locked(module: Path) -> Iterator[Path]:
    (module / "locked").mkdir()
    (module / "locked/b_test.go").write_text(TEST)
    (module / "helper.go").write_text('package m\n\nimport "testing"\n\nfunc H(t *testing.T) {}\n')
    (module / "locked").chmod(0)
    (module / "helper.go").chmod(0)
    probe = unprivileged("list", cwd=module)  # skips when permissions cannot be enforced
    assert probe.returncode == 0, probe.stderr
    yield module
    (module / "locked").chmod(0o755)
    (module / "helper.go").chmod(0o644)


def test_unreadable_folders_met_in_the_walk_are_named(locked: Path) -> None:
    done = unprivileged("check", "--select", "test-context", "./...", cwd=locked)
    assert done.returncode == 2, done.stderr
    assert "codemod: locked: cannot read directory: permission denied\n" in done.stderr
    assert "codemod: helper.go: cannot read: permission denied\n" in done.stderr
    assert done.stdout.startswith("a_test.go:11:10: test-context")  # the rest was still checked
    assert "Traceback" not in done.stderr


def test_an_unreadable_target_is_named(locked: Path) -> None:
    for target in ("locked", "locked/...", "locked/b_test.go", "helper.go"):
        done = unprivileged("check", target, cwd=locked)
        assert done.returncode == 2, (target, done.stderr)
        assert "permission denied" in done.stderr and "Traceback" not in done.stderr


# 5. A syntax error inside a function: the file and the declaration are named, and check exits 2.

BROKEN_INSIDE = TEST.replace(
    "\t_ = get(context.Background())\n",
    "\tx := 1 +\n}\n\nfunc TestB(t *testing.T) {\n\t_ = get(context.Background())\n",
    1,
)


def test_a_syntax_error_inside_a_function_is_named(module: Path) -> None:
    (module / "b_test.go").write_text(BROKEN_INSIDE)
    done = codemod("check", "--select", "test-context", "./...", cwd=module)
    assert done.returncode == 2, done.stderr
    assert (
        "codemod: b_test.go:11:9: syntax error: func TestA (lines 10-12) not examined "
        "(no fixes there; findings may be missing)\n"
    ) in done.stderr
    assert "b_test.go:15:10: test-context" in done.stdout  # the rest of the file is still checked
    again = codemod("check", "--select", "test-context", "./...", cwd=module)  # not hidden by the cache
    assert again.returncode == 2 and "syntax error: func TestA" in again.stderr
    applied = codemod("apply", "./...", cwd=module)
    assert applied.returncode == 0, applied.stderr
    assert "b_test.go:11:9: syntax error: func TestA" in applied.stderr
    assert "1 file with syntax errors only partly examined" in applied.stderr
    assert "x := 1 +\n" in (module / "b_test.go").read_text()
    assert "get(t.Context())" in (module / "b_test.go").read_text()


# 11. A module older than Go 1.24 hears why test-context fixes nothing; a file without a package
# clause is not rewritten.


def test_an_old_go_module_is_told_what_test_context_needs(module: Path) -> None:
    (module / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    for command in ("check", "apply"):
        done = codemod(command, "--select", "test-context", cwd=module)
        assert (
            "codemod: test-context: t.Context() needs Go >= 1.24 and go.mod says go 1.22 (1 file): "
            "raise the go line to get fixes\n"
        ) in done.stderr
    assert (module / "a_test.go").read_text() == TEST
    (module / "go.mod").write_text(GOMOD)
    assert "needs Go >= 1.24" not in codemod("check", cwd=module).stderr


def test_a_file_without_a_package_clause_is_not_rewritten(module: Path) -> None:
    headless = TEST.replace("package m\n\n", "")
    (module / "a_test.go").write_text(headless)
    done = codemod("apply", cwd=module)
    assert "codemod: a_test.go: skipped: does not parse as Go: no package clause\n" in done.stderr
    assert (module / "a_test.go").read_text() == headless
    assert codemod("check", cwd=module).returncode == 2


# 12. Counts and plurals.


def test_check_summary_counts_files_with_findings(module: Path) -> None:
    (module / "clean_test.go").write_text('package m\n\nimport "testing"\n\nfunc TestC(t *testing.T) {}\n')
    done = codemod("check", "--select", "test-context", cwd=module)
    assert done.stderr.splitlines()[-1] == "codemod: 1 finding in 1 file (2 files checked)"
    (module / "b_test.go").write_text(TEST.replace("TestA", "TestB"))
    done = codemod("check", "--select", "test-context", cwd=module)
    assert done.stderr.splitlines()[-1] == "codemod: 2 findings in 2 files (3 files checked)"
    codemod("apply", cwd=module)
    done = codemod("check", "--select", "test-context", cwd=module)
    assert done.returncode == 0 and done.stderr == "codemod: 0 findings (3 files checked)\n"


def test_apply_summary_plurals(module: Path) -> None:
    done = codemod("apply", "--dry-run", "--select", "test-context", cwd=module)
    assert done.stderr == "codemod: 1 file scanned, would change 1 file, 1 fix\n"


# 7. A read-only file is not replaced behind the user's back.


def test_a_read_only_file_is_refused_and_named(module: Path) -> None:
    (module / "b_test.go").write_text(TEST.replace("TestA", "TestB"))
    (module / "a_test.go").chmod(0o444)
    done = codemod("apply", "--select", "test-context", cwd=module)
    assert done.returncode == 1, done.stderr
    assert "codemod: a_test.go: read-only file (mode 0444); not written\n" in done.stderr
    assert "1 file not written" in done.stderr
    assert (module / "a_test.go").read_text() == TEST
    assert stat.S_IMODE((module / "a_test.go").stat().st_mode) == 0o444
    assert "t.Context()" in (module / "b_test.go").read_text()  # the other file is still fixed
    assert sorted(p.name for p in module.glob("*.codemod")) == []


# 8. A misspelled id in an ignore comment is reported, as ruff's RUF100 does.


def test_unknown_ids_in_ignore_comments_are_reported(module: Path) -> None:
    source = TEST.replace(
        "\t_ = get(context.Background())\n",
        "\t_ = get(context.Background()) //codemod:ignore test-contxt\n"
        "\t//codemod:ignore test-context, no-such-rule\n"
        "\t_ = get(context.TODO())\n",
    )
    (module / "a_test.go").write_text(source)
    done = codemod("check", "--report-unused-ignores", "--select", "test-context", "--no-cache", cwd=module)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "a_test.go:11:10: test-context context.Background() in a test: derive the context from t [safe fix]",
        "a_test.go:11:32: unused-ignore //codemod:ignore test-contxt (did you mean test-context?): "
        "unknown transform id, so it silences nothing (see codemod list)",
        "a_test.go:12:2: unused-ignore //codemod:ignore no-such-rule: unknown transform id, so it silences "
        "nothing (see codemod list)",
    ]
    cached = codemod("check", "--report-unused-ignores", "--select", "test-context", cwd=module)
    assert cached.stdout == done.stdout  # the comments are read again when findings come from the cache


# 9. [sleep] values are Go duration expressions, checked when the config is loaded.


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("unit-tick", "banana", "unexpected 'banana'"),
        ("unit-wait", "5*", "it ends too early"),
        ("integration-wait", "30", "it has no time unit (a bare number is nanoseconds)"),
        ("integration-tick", "0*time.Second", "it must be positive"),
        ("unit-tick", "10*time.Milisecond", "unexpected 'time.Milisecond'"),
    ],
)
def test_sleep_values_are_validated_at_load(module: Path, key: str, value: str, why: str) -> None:
    (module / ".codemod.toml").write_text(f'[sleep]\n{key} = "{value}"\n')
    for command in ("check", "apply"):
        done = codemod(command, cwd=module)
        assert done.returncode == 2, done.stderr
        assert f"sleep.{key} = '{value}' is not a Go duration expression" in done.stderr
        assert why in done.stderr and "Traceback" not in done.stderr
    assert (module / "a_test.go").read_text() == TEST


def test_good_sleep_values_load(module: Path) -> None:
    (module / ".codemod.toml").write_text(
        '[sleep]\nunit-wait = "time.Minute + 30*time.Second"\n'
        'unit-tick = "time.Duration(50) * time.Millisecond"\n'
    )
    assert codemod("check", cwd=module).returncode == 1


# 10. Options that would be silently ignored, or make no sense, are usage errors.


def test_interactive_with_verify_is_a_usage_error(module: Path) -> None:
    done = codemod("apply", "--interactive", "--verify", "vet", cwd=module)
    assert done.returncode == 2
    assert "--interactive cannot be combined with --verify vet" in done.stderr


@pytest.mark.parametrize("timeout", ["-5", "0"])
def test_a_verify_timeout_must_be_positive(module: Path, timeout: str) -> None:
    done = codemod("apply", "--verify", "vet", "--verify-timeout", timeout, cwd=module)
    assert done.returncode == 2
    assert "Invalid value for '--verify-timeout'" in done.stderr
    assert (module / "a_test.go").read_text() == TEST


# 12. JSON says what reached the disk; NO_COLOR only counts when set to something; Ctrl-C exits 130
# and says what was written.


def test_json_applied_means_written(module: Path) -> None:
    (module / "b_test.go").write_text(TEST.replace("TestA", "TestB"))
    (module / "b_test.go").chmod(0o444)
    dry = json.loads(codemod("apply", "--dry-run", "--format", "json", cwd=module).stdout)
    assert [(r["path"], r["applied"]) for r in dry] == [("a_test.go", False), ("b_test.go", False)]
    done = codemod("apply", "--format", "json", cwd=module)
    assert done.returncode == 1
    records = json.loads(done.stdout)
    assert [(r["path"], r["applied"]) for r in records] == [("a_test.go", True), ("b_test.go", False)]


@pytest.mark.parametrize(("value", "coloured"), [("", True), ("1", False)])
def test_an_empty_no_color_keeps_colour(module: Path, value: str, coloured: bool) -> None:
    done = codemod("apply", "--dry-run", cwd=module, NO_COLOR=value, FORCE_COLOR="1")
    assert ("\x1b[" in done.stdout) is coloured


def default_sigint() -> None:
    """Ctrl-C as at a terminal, even when this test run was started with SIGINT ignored (a background
    job): a child inherits an ignored SIGINT and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_in_apply_exits_130_and_names_what_was_written(tmp_path: Path, jobs: str) -> None:
    (tmp_path / "go.mod").write_text(GOMOD)
    for n in range(400):
        (tmp_path / f"p{n:03}").mkdir()
        (tmp_path / f"p{n:03}/a_test.go").write_text(TEST.replace("package m", f"package p{n:03}"))
    env = {"PATH": "/usr/bin:/bin", "CODEMOD_CACHE_DIR": str(tmp_path / ".cache")}
    process = subprocess.Popen(
        [sys.executable, "-m", "codemod", "apply", "--jobs", jobs, "./..."],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: the signal reaches every worker, as at a terminal
        preexec_fn=default_sigint,
    )
    first = tmp_path / "p000/a_test.go"
    deadline = time.monotonic() + 60
    while first.read_text() == TEST.replace("package m", "package p000") and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Aborted!" not in stderr
    fixed = sorted(p.parent.name for p in tmp_path.glob("p*/a_test.go") if "t.Context()" in p.read_text())
    assert 1 <= len(fixed) < 400
    lines = stderr.splitlines()
    assert lines[-1] == "codemod: no file was left half-written; run the command again to finish"
    assert lines[-2].startswith(f"codemod: interrupted; {len(fixed)} file")
    assert all(f"{name}/a_test.go" in lines[-2] for name in fixed[:10])


# Conventions from ruff: --statistics, --exit-zero; SARIF uris are percent-encoded.


def test_statistics_count_per_transform(module: Path) -> None:
    (module / "b_test.go").write_text(TEST.replace("TestA", "TestB"))
    done = codemod("check", "--statistics", "--no-cache", cwd=module)
    assert done.returncode == 1
    assert done.stdout.splitlines() == ["     2  test-context              [2 fixable]"]
    records = json.loads(codemod("check", "--statistics", "--format", "json", cwd=module).stdout)
    assert records == [{"transform": "test-context", "count": 2, "fixable": 2, "left": {}}]
    bad = codemod("check", "--statistics", "--format", "sarif", cwd=module)
    assert bad.returncode == 2 and "--statistics prints text or json" in bad.stderr


def test_sites_left_are_counted_by_reason(module: Path) -> None:
    """Nothing silent: check --statistics and apply's summary say how many sites were left, and why."""
    stored = "\nvar keep func()\n\nfunc TestB(t *testing.T) {\n"
    stored += "\tkeep = func() { _ = get(context.Background()) }\n}\n"
    (module / "a_test.go").write_text(TEST + stored)  # TestA's site is fixed, TestB's closure is left
    done = codemod("check", "--statistics", "--no-cache", cwd=module)
    assert "left: inside a closure that may run after the test" in done.stdout, done.stdout
    applied = codemod("apply", "--dry-run", cwd=module)
    assert "codemod:   left 1: test-context: inside a closure that may run after the test" in applied.stderr


def test_exit_zero_still_reports(module: Path) -> None:
    done = codemod("check", "--exit-zero", cwd=module)
    assert done.returncode == 0 and "a_test.go:11:10: test-context" in done.stdout
    (module / "bad_test.go").write_bytes(b"package m\n// \xff\n")
    assert codemod("check", "--exit-zero", cwd=module).returncode == 2  # errors are not findings


def test_sarif_uris_are_percent_encoded(module: Path) -> None:
    (module / "a#1 b").mkdir()
    (module / "a_test.go").rename(module / "a#1 b/a_test.go")
    sarif = json.loads(codemod("check", "--format", "sarif", cwd=module).stdout)
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "a%231%20b/a_test.go"


# A progress bar at a terminal, nothing when piped.


def test_progress_bar_only_at_a_terminal(module: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    for n in range(30):
        (module / f"p{n}").mkdir()
        (module / f"p{n}/a_test.go").write_text(TEST.replace("package m", f"package p{n}"))
    command = f"{shlex.quote(sys.executable)} -m codemod check --no-cache -j 1 ./... > out.txt"
    env = {"PATH": "/usr/bin:/bin", "TERM": "xterm", "CODEMOD_CACHE_DIR": str(module / ".cache")}
    child = pexpect.spawn("bash", ["-c", command], cwd=str(module), env=env, encoding="utf-8", timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    terminal = child.before
    assert "codemod: checking" in terminal and "0/31" in terminal
    assert "codemod: 31 findings in 31 files (31 files checked)" in terminal
    assert child.exitstatus == 1
    piped = codemod("check", "--no-cache", "-j", "1", "./...", cwd=module)
    assert "checking" not in piped.stderr and "\x1b" not in piped.stderr
    assert piped.stdout == (module / "out.txt").read_text()
