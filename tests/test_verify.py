"""verify.py with the real Go toolchain: new failures are repaired or rolled back, old ones not blamed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codemod.config import Settings
from codemod.engine import FileResult
from codemod.runner import run_files
from codemod.verify import (
    GoRun,
    PackageReport,
    Verifier,
    VerifyError,
    newly_failing,
    verify_and_repair,
    verify_results,
)
from tests.gotool import make_module, require_go

pytestmark = pytest.mark.go

PACKAGE = """package {pkg}

import (
\t"context"
\t"fmt"
\t"testing"

\t"github.com/stretchr/testify/require"
)

func get(ctx context.Context) error {{ return ctx.Err() }}

// {marker}
func Test{name}(t *testing.T) {{
\tfmt.Println("{pkg}")
\trequire.NoError(t, get(context.Background()))
}}
"""
# `go vet` fails on this package before any fix: a pre-existing failure.
PREEXISTING = PACKAGE.replace('fmt.Println("{pkg}")', 'fmt.Printf("%d\\n", "{pkg}")')


def package_source(pkg: str, marker: str = "", template: str = PACKAGE) -> bytes:
    return template.format(pkg=pkg, name=pkg.capitalize(), marker=marker or "plain").encode()


@pytest.fixture(scope="session")
def module_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module with testify in go.sum, built once; tests copy it."""
    go = require_go()
    root = tmp_path_factory.mktemp("verify-template") / "module"
    root.mkdir()
    make_module(root, go, {"go/keep/keep_test.go": package_source("keep")})
    return root


def new_module(template: Path, dest: Path, files: dict[str, bytes]) -> Path:
    shutil.copytree(template, dest)
    for rel, data in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return dest


def fix_with(paths: list[Path], transform_id: str, style: str = "auto") -> list[FileResult]:
    return [r for r in run_files(paths, Settings(style=style), (transform_id,), False, 1) if r.changed]


def maps(results: list[FileResult]) -> tuple[dict[Path, bytes], dict[Path, bytes], dict[Path, list[str]]]:
    original = {Path(r.path): r.original for r in results}
    fixed = {Path(r.path): r.new for r in results if r.new is not None}
    applied = {Path(r.path): [f.transform_id for f in r.applied] for r in results}
    return original, fixed, applied


def by_dir(packages: list[PackageReport], name: str) -> PackageReport:
    return next(p for p in packages if p.directory.name == name)


def test_fix_that_breaks_compilation_is_rolled_back(
    module_template: Path, tmp_path: Path, break_build: str
) -> None:
    root = new_module(
        module_template,
        tmp_path / "m",
        {
            "go/broken/broken_test.go": package_source("broken", "codemod-test: break"),
            "go/fine/fine_test.go": package_source("fine"),
        },
    )
    broken, fine = root / "go/broken/broken_test.go", root / "go/fine/fine_test.go"
    original_broken = broken.read_bytes()
    results = fix_with([broken, fine], break_build)
    original, fixed, applied = maps(results)

    def rerun(paths: list[Path]) -> list[FileResult]:
        assert all(p.read_bytes() == original[p] for p in paths), "the retry must see the original bytes"
        return fix_with(paths, break_build, style="t-context")

    report = verify_and_repair(original, fixed, "vet", rerun, applied=applied, jobs=2)

    assert broken.read_bytes() == original_broken
    assert b"context.TODO()" in fine.read_bytes()
    failed = by_dir(report.packages, "broken")
    assert failed.outcome == "reverted"
    assert failed.transforms == ("break-build",)
    assert "undefined: undefinedContext" in failed.error
    assert failed.command == "go vet ./go/broken"
    assert "retry" in failed.note
    assert by_dir(report.packages, "fine").outcome == "passed"
    assert report.changed == [fine]
    assert report.counts() == {"break-build": 1}
    text = "\n".join(report.lines(root))
    assert "go/broken: reverted (break-build): `go vet ./go/broken`" in text
    assert "1 passed, 1 reverted" in text


def test_retry_with_safe_t_context_fixes_repairs_the_package(
    module_template: Path, tmp_path: Path, break_build: str
) -> None:
    root = new_module(
        module_template,
        tmp_path / "m",
        {"go/fragile/fragile_test.go": package_source("fragile", "codemod-test: break repairable")},
    )
    target = root / "go/fragile/fragile_test.go"
    original, fixed, applied = maps(fix_with([target], break_build))
    assert b"undefinedContext()" in fixed[target]

    verifier = Verifier("vet", jobs=1)
    report = verifier.verify_and_repair(
        original, fixed, lambda paths: fix_with(paths, break_build, "t-context"), applied
    )

    pkg = report.packages[0]
    assert pkg.outcome == "repaired", report.lines()
    assert "undefined: undefinedContext" in pkg.error
    assert b"get(t.Context())" in target.read_bytes()
    assert report.final[target] == target.read_bytes()
    assert report.applied[target] == ["break-build"]


def test_preexisting_failure_is_not_blamed(module_template: Path, tmp_path: Path, break_build: str) -> None:
    root = new_module(
        module_template,
        tmp_path / "m",
        {
            "go/old/old_test.go": package_source("old", template=PREEXISTING),
            "go/worse/worse_test.go": package_source("worse", "codemod-test: break", template=PREEXISTING),
        },
    )
    old, worse = root / "go/old/old_test.go", root / "go/worse/worse_test.go"
    original, fixed, applied = maps(fix_with([old, worse], break_build))

    report = verify_and_repair(original, fixed, "vet", None, applied=applied)

    kept = by_dir(report.packages, "old")
    assert kept.outcome == "preexisting", report.lines()
    assert "same failure" in kept.note
    assert b"context.TODO()" in old.read_bytes()
    # A package that failed before and fails in a new way is still blamed.
    blamed = by_dir(report.packages, "worse")
    assert blamed.outcome == "reverted"
    assert "undefinedContext" in blamed.error and "format %d" not in blamed.error
    assert worse.read_bytes() == original[worse]


def test_test_mode_reverts_a_fix_that_makes_a_test_fail(module_template: Path, tmp_path: Path) -> None:
    source = b'package flaky\n\nimport "testing"\n\nfunc TestOne(t *testing.T) {\n\tif 1+1 != 2 {\n'
    source += b"\t\tt.Fatal()\n\t}\n}\n"
    root = new_module(module_template, tmp_path / "m", {"go/flaky/flaky_test.go": source})
    target = root / "go/flaky/flaky_test.go"
    fixed = source.replace(b"1+1 != 2", b"1+1 != 3")

    report = verify_and_repair({target: source}, {target: fixed}, "test", None, applied={target: ["x"]})

    pkg = report.packages[0]
    assert pkg.outcome == "reverted"
    assert pkg.command == "go test -short -count=1 ./go/flaky"
    assert "--- FAIL: TestOne" in pkg.error
    assert target.read_bytes() == source


def test_time_limit_is_reported(module_template: Path, tmp_path: Path) -> None:
    source = b'package slow\n\nimport "testing"\n\nfunc TestSlow(t *testing.T) {}\n'
    root = new_module(module_template, tmp_path / "m", {"go/slow/slow_test.go": source})
    target = root / "go/slow/slow_test.go"
    hangs = source.replace(b"{}", b"{\n\tselect {}\n}")

    verifier = Verifier("test", timeout=120)
    verifier.baseline(target.parent)  # a cold build cache must not make the unchanged tree time out
    verifier.timeout = 3
    report = verifier.verify_and_repair({target: source}, {target: hangs})

    pkg = report.packages[0]
    assert pkg.outcome == "reverted"
    assert "time limit" in pkg.error and "3s time limit per package" in pkg.note
    assert target.read_bytes() == source


def test_real_engine_output_verifies_and_stays(module_template: Path, tmp_path: Path) -> None:
    root = new_module(module_template, tmp_path / "m", {"go/real/real_test.go": package_source("real")})
    target = root / "go/real/real_test.go"
    results = list(run_files([target], Settings(), ("test-context",), False, 1))

    report = verify_results(results, "vet", Settings(), ("test-context",))

    assert [p.outcome for p in report.packages] == ["passed"]
    assert b"utils.WithShortDeadline(t)" in target.read_bytes()
    assert report.counts() == {"test-context": 1}


def test_interrupt_puts_every_original_back(module_template: Path, tmp_path: Path, break_build: str) -> None:
    root = new_module(
        module_template,
        tmp_path / "m",
        {"go/stop/stop_test.go": package_source("stop", "codemod-test: break")},
    )
    target = root / "go/stop/stop_test.go"
    original, fixed, applied = maps(fix_with([target], break_build))

    def interrupted(paths: list[Path]) -> list[FileResult]:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        verify_and_repair(original, fixed, "vet", interrupted, applied=applied)
    assert target.read_bytes() == original[target]


def test_mode_none_writes_without_checking(tmp_path: Path) -> None:
    target = tmp_path / "x_test.go"
    target.write_bytes(b"old")
    report = verify_and_repair({target: b"old"}, {target: b"new"}, "none")
    assert target.read_bytes() == b"new"
    assert report.packages[0].outcome == "unverified"
    assert report.summary() == "not verified (--verify none)"


def test_missing_go_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("codemod.verify.shutil.which", lambda _name: None)
    with pytest.raises(VerifyError, match="not on PATH"):
        Verifier("vet")
    with pytest.raises(VerifyError, match="unknown verify mode"):
        Verifier("lint", go="go")


def run(status: str, output: str = "", command: str = "go vet ./p") -> GoRun:
    return GoRun(command, status, output, 0.1)


def test_newly_failing_compares_failures_without_positions() -> None:
    message = "fmt.Printf format %d has arg x of wrong type string"
    before = [run("fail", f"# p\nvet: p/a_test.go:10:3: {message}\n")]
    shifted = [run("fail", f"# p\nvet: p/a_test.go:12:3: {message}\n")]
    new = [run("fail", "vet: p/a_test.go:9:2: undefined: foo\n")]
    assert newly_failing(before, shifted) is None
    assert newly_failing(before, new) is new[0]
    assert newly_failing([run("pass")], [run("fail", "x")]) is not None
    assert newly_failing([run("pass")], [run("timeout")]) is not None
    assert newly_failing([run("timeout")], [run("timeout")]) is None
    assert newly_failing([run("pass"), run("pass")], [run("pass"), run("fail", "--- FAIL: TestX (0.01s)")])
    flaky_timing = [run("fail", "--- FAIL: TestX (0.01s)\nFAIL\tp\t0.2s")]
    assert newly_failing(flaky_timing, [run("fail", "--- FAIL: TestX (0.03s)\nFAIL\tp\t0.5s")]) is None


def test_a_file_changed_on_disk_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "x_test.go"
    target.write_bytes(b"edited by someone else")
    report = verify_and_repair({target: b"old"}, {target: b"new"}, "none")
    assert target.read_bytes() == b"edited by someone else"
    assert report.packages[0].outcome == "refused" and "changed on disk" in report.packages[0].note
    assert report.changed == []


def test_apply_verify_vet_reverts_through_the_cli(
    module_template: Path, tmp_path: Path, break_build: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`codemod apply --verify vet`: the fix that breaks the build is undone, the other one stays."""
    from click.testing import CliRunner

    from codemod.cli import main

    broken = package_source("broken", "codemod-test: break")
    fine = package_source("fine")
    root = new_module(
        module_template, tmp_path / "m", {"go/broken/b_test.go": broken, "go/fine/f_test.go": fine}
    )
    monkeypatch.chdir(root)
    result = CliRunner().invoke(
        main, ["apply", "--verify", "vet", "--select", break_build, "-j", "1", "./..."]
    )
    assert result.exit_code == 0, result.output
    assert (root / "go/broken/b_test.go").read_bytes() == broken
    assert b"context.TODO()" in (root / "go/fine/f_test.go").read_bytes()
    assert "go/broken: reverted (break-build)" in result.stderr and "1 reverted" in result.stderr
    assert "changed 2 files" in result.stderr  # fine, and the template's keep package
