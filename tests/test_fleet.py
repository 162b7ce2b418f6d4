"""examples/fleet: the batch spec's step and the multi-gitter script, run the way the engines run them.

Like Sourcegraph's executor: a fresh clone of a Go module made here, no stdin, each `steps[].run`
under `bash -c` in the checkout, the environment only PATH and HOME plus the spec's `env`. Two
substitutions, both about where pip finds things: the spec installs codemod from its repository
URL (`CODEMOD_INSTALL`); here that is a copy of this checkout's sources, so the step installs the
code under test. And pip gets its dependencies from a wheelhouse this module downloads once
(`PIP_FIND_LINKS`, `PIP_NO_INDEX`) instead of the index on every run: each run installs into a
fresh virtualenv, as in a fresh container, and five downloads of the same wheels took minutes.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import run_codemod

ROOT = Path(__file__).resolve().parent.parent
FLEET = ROOT / "examples" / "fleet"
GOMOD = "module github.com/acme/shop\n\ngo 1.24\n"
TEST = """package shop

import (
\t"context"
\t"testing"
)

func lookup(ctx context.Context, sku string) error { return ctx.Err() }

func TestLookup(t *testing.T) {
\tctx := context.Background()
\tif err := lookup(ctx, "tea"); err != nil {
\t\tt.Fatal(err)
\t}
}
"""
BUILD = ("setuptools>=68", "wheel")  # the build backend pip needs to install the sources
CLEAN = TEST.replace("context.Background()", "t.Context()")


@pytest.fixture(scope="module")
def install_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tool's sources as its repository would have them (a copy: pip builds in the source tree)."""
    source = tmp_path_factory.mktemp("codemod-source")
    for name in ("codemod", "transforms"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    return source


@pytest.fixture(scope="module")
def pip_env(install_source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Where the step's pip finds the tool's dependencies (and the build backend): downloaded once."""
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "-d", str(wheelhouse), str(install_source), *BUILD],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return {"PIP_FIND_LINKS": str(wheelhouse), "PIP_NO_INDEX": "1", "CODEMOD_INSTALL": str(install_source)}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=fleet", "-c", "user.email=fleet@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return done.stdout


def checkout(tmp_path: Path, test: str) -> Path:
    """A fresh clone of a repository holding one Go module."""
    origin = tmp_path / "origin"
    (origin / "shop").mkdir(parents=True)
    (origin / "go.mod").write_text(GOMOD)
    (origin / "shop" / "shop_test.go").write_text(test)
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "commit", "-q", "-m", "initial")
    git(tmp_path, "clone", "-q", str(origin), "work")
    return tmp_path / "work"


def run_step(run: str, work: Path, env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    home.mkdir(exist_ok=True)
    return subprocess.run(
        ["bash", "-c", run],
        cwd=work,
        env={"PATH": os.environ["PATH"], "HOME": str(home), **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )


def spec() -> dict[str, Any]:
    loaded = yaml.safe_load((FLEET / "batch-spec.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def step_env(step: dict[str, Any], pip_env: dict[str, str]) -> dict[str, str]:
    """The spec's `env` for the step, with the substitutions above."""
    return {**{k: str(v) for k, v in (step.get("env") or {}).items()}, **pip_env}


def run_spec(work: Path, pip_env: dict[str, str], home: Path) -> tuple[int, str]:
    """Every step of the spec in order, as the executor runs them; (last exit code, last stdout)."""
    code, stdout = 0, ""
    for step in spec()["steps"]:
        done = run_step(step["run"], work, step_env(step, pip_env), home)
        assert done.returncode == 0, done.stderr
        code, stdout = done.returncode, done.stdout
    return code, stdout


def status(work: Path) -> str:
    return git(work, "status", "--porcelain", "--untracked-files=all")


def test_batch_spec_has_what_sourcegraph_needs() -> None:
    loaded = spec()
    assert loaded["version"] == 2
    # PyYAML reads YAML 1.1, where a bare `on` key is the boolean true; Sourcegraph's YAML 1.2
    # parser reads the string "on", as the batch spec docs write it.
    assert loaded[True] and loaded["steps"]
    template = loaded["changesetTemplate"]
    assert {"title", "body", "branch", "commit"} <= set(template)
    assert template["body"] == "${{ outputs.prBody }}"
    assert template["branch"] == loaded["steps"][-1]["env"]["CODEMOD_BRANCH"]
    assert loaded["steps"][-1]["outputs"]["prBody"]["value"] == "${{ step.stdout }}"


def test_batch_spec_step_fixes_describes_and_is_idempotent(tmp_path: Path, pip_env: dict[str, str]) -> None:
    work = checkout(tmp_path, TEST)
    code, body = run_spec(work, pip_env, tmp_path / "home")
    assert code == 0
    assert status(work) == " M shop/shop_test.go\n"  # the fix and nothing else (no venv, no cache)
    assert (work / "shop" / "shop_test.go").read_text() == CLEAN
    assert body.startswith("# codemod: test-context in github.com/acme/shop\n")
    assert "| `test-context` | 1 | 1 |" in body
    assert "...codemod/go-test-writing-guide`" in body
    assert body == run_codemod("pr-body", "--branch", "codemod/go-test-writing-guide", cwd=work).stdout

    # The engine may run the step again (a re-executed batch spec): nothing more changes, and the
    # text is the same, since it describes the work tree against the same base.
    code, again = run_spec(work, pip_env, tmp_path / "home")
    assert code == 0
    assert (work / "shop" / "shop_test.go").read_text() == CLEAN
    assert again == body


def test_batch_spec_step_fails_on_a_real_error(tmp_path: Path, pip_env: dict[str, str]) -> None:
    work = checkout(tmp_path, TEST)
    target = work / "shop" / "shop_test.go"
    target.chmod(stat.S_IRUSR | stat.S_IRGRP)  # a fix that cannot be written
    (step,) = spec()["steps"]
    done = run_step(step["run"], work, step_env(step, pip_env), tmp_path / "home")
    assert done.returncode != 0
    assert "read-only file" in done.stderr
    assert target.read_text() == TEST


def test_multi_gitter_script(tmp_path: Path, pip_env: dict[str, str]) -> None:
    work = checkout(tmp_path, TEST)
    done = run_step(f"bash {FLEET / 'multi-gitter.sh'}", work, pip_env, tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert status(work) == " M shop/shop_test.go\n"
    assert done.stdout.startswith("# codemod: test-context in github.com/acme/shop\n")


def test_pr_body_since_a_commit(tmp_path: Path) -> None:
    """After the commit (multi-gitter, turbolift), `--base HEAD~1` describes what the commit did;
    with nothing changed it prints nothing and exits 0."""
    work = checkout(tmp_path, TEST)
    assert run_codemod("apply", "./...", cwd=work).returncode == 0
    uncommitted = run_codemod("pr-body", "--branch", "fix", cwd=work).stdout
    git(work, "commit", "-q", "-am", "codemod")
    clean = run_codemod("pr-body", cwd=work)
    assert (clean.returncode, clean.stdout) == (0, "")
    since = run_codemod("pr-body", "--base", "HEAD~1", "--branch", "fix", cwd=work).stdout
    assert since == uncommitted  # the base is the same commit both times
    assert "| `test-context` | 1 | 1 |" in since
