"""Every golden input and output must type-check with the real Go toolchain against real testify."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.goldens import Case, all_cases
from tests.gotool import make_module, require_go, run_go

CASES = [c for c in all_cases() if c.vet]


def _package_dir(case: Case, side: str) -> str:
    return f"cases/{case.transform}/{case.name}/{side}"


@pytest.fixture(scope="session")
def vet_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    go = require_go()
    root = tmp_path_factory.mktemp("golden-module")
    files: dict[str, bytes] = {}
    for case in CASES:
        files[f"{_package_dir(case, 'input')}/case_test.go"] = case.input.read_bytes()
        files[f"{_package_dir(case, 'golden')}/case_test.go"] = case.golden.read_bytes()
    make_module(root, go, files)
    done = run_go(go, root, "vet", "./...")
    runnable = [f"./{_package_dir(c, side)}" for c in CASES if c.runnable for side in ("input", "golden")]
    tested = run_go(go, root, "test", "-count=1", *runnable) if runnable else None
    return done.stdout + done.stderr + ("" if tested is None else tested.stdout + tested.stderr)


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


def test_vet_ran_on_something(vet_output: str, tmp_path: Path) -> None:
    assert "cannot find" not in vet_output and "go.mod" not in vet_output.lower().split("\n")[0]
