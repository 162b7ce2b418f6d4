"""The bundled example module: after `codemod apply` it still vets, its tests pass, and a rerun is a no-op."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.gotool import require_go, run_go
from tests.helpers import run_codemod

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def codemod(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_codemod(*args, cwd=cwd)


def test_examples_apply_vet_and_test(tmp_path: Path) -> None:
    go = require_go()
    work = tmp_path / "examples"
    shutil.copytree(EXAMPLES, work)
    before = run_go(go, work, "vet", "./...")
    assert before.returncode == 0, before.stderr

    done = codemod("apply", "./...", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "changed 2 files" in done.stderr

    vet = run_go(go, work, "vet", "./...")
    assert vet.returncode == 0, vet.stdout + vet.stderr
    tests = run_go(go, work, "test", "-count=1", "./...")
    assert tests.returncode == 0, tests.stdout + tests.stderr

    again = codemod("apply", "--dry-run", "./...", cwd=work)
    assert again.stdout == "", again.stdout
