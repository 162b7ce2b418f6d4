"""Every golden input and output must type-check with the real Go toolchain against real testify."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.goldens import Case, all_cases
from tests.gotool import make_module, require_go, run_go

CASES = [c for c in all_cases() if c.vet]
WRONG = [c for c in CASES if c.wrong is not None]


def _package_dir(case: Case, side: str) -> str:
    return f"cases/{case.transform}/{case.name}/{side}"


@pytest.fixture(scope="session")
def vet_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    go = require_go()
    root = tmp_path_factory.mktemp("golden-module")
    files: dict[str, bytes] = {}
    for case in CASES:
        golden = case.golden if case.golden.exists() else None  # none: the output is the input
        sides = {"input": case.input, "golden": golden, "wrong": case.wrong}
        for side, path in sides.items():
            if path is None:
                continue
            files[f"{_package_dir(case, side)}/{case.filename}"] = path.read_bytes()
            if case.companion is not None:
                files[f"{_package_dir(case, side)}/companion_test.go"] = case.companion.read_bytes()
    make_module(root, go, files)
    done = run_go(go, root, "vet", "./...")
    runnable = [
        f"./{_package_dir(c, side)}"
        for c in CASES
        if c.runnable
        for side in ("input", "golden")
        if side == "input" or c.golden.exists()
    ]
    tested = run_go(go, root, "test", "-count=1", *runnable) if runnable else None
    return done.stdout + done.stderr + ("" if tested is None else tested.stdout + tested.stderr)


@pytest.fixture(scope="session")
def wrong_output(vet_output: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`go test` of every wrong rewrite, in the module the vet fixture built."""
    go = require_go()
    root = next(p for p in tmp_path_factory.getbasetemp().iterdir() if p.name.startswith("golden-module"))
    wrong = [f"./{_package_dir(c, 'wrong')}" for c in WRONG]
    done = run_go(go, root, "test", "-count=1", *wrong)
    return done.stdout + done.stderr


def _errors_for(output: str, directory: str) -> list[str]:
    """vet errors naming the case's directory, and `go test` FAIL lines for its package."""
    pattern = re.compile(rf"(^|\s|/){re.escape(directory)}(/|\s|$)")
    return [line for line in output.splitlines() if pattern.search(line) and not line.startswith("ok ")]


@pytest.mark.go
@pytest.mark.parametrize("side", ["input", "golden"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_vets(case: Case, side: str, vet_output: str) -> None:
    errors = _errors_for(vet_output, _package_dir(case, side))
    assert not errors, f"go vet fails on {case.id}.{side}:\n" + "\n".join(errors)


@pytest.mark.go
@pytest.mark.parametrize("case", WRONG, ids=[c.id for c in WRONG])
def test_wrong_rewrite_fails(case: Case, wrong_output: str) -> None:
    """The rewrite the tool used to make (or a plausible wrong one) fails the case's own test."""
    assert case.runnable, f"{case.id} has a .wrong file but is not run with go test"
    directory = _package_dir(case, "wrong")
    failed = [line for line in wrong_output.splitlines() if line.startswith("FAIL") and directory in line]
    compiled = not any(directory in line and "[build failed]" in line for line in wrong_output.splitlines())
    problem = "passes go test" if compiled else "does not build"
    assert failed and compiled, f"the wrong rewrite of {case.id} {problem}:\n{wrong_output}"


def test_vet_ran_on_something(vet_output: str, tmp_path: Path) -> None:
    assert "cannot find" not in vet_output and "go.mod" not in vet_output.lower().split("\n")[0]
