"""`codemod apply --interactive` run for real in a pseudo-terminal, answered key by key."""

from __future__ import annotations

import io
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from codemod.review import PROMPT
from tests.test_review import (
    FOUR_BG,
    GET,
    GET_FIXED,
    GOMOD,
    HEAD,
    HEAD_UTILS,
    HELPER,
    THREE_FIXED,
    TWO_FIXED,
    UNSAFE,
    VAR_BG,
    VAR_FIXED,
    A,
    B,
)

# Appends a comment to every line it is given: what a person would do in $EDITOR, scripted.
EDITOR_SCRIPT = """\
import pathlib, sys
path = pathlib.Path(sys.argv[1])
lines = path.read_text().splitlines()
path.write_text("".join(line + " // reviewed\\n" for line in lines))
"""
TWO_EDITED = "\nfunc TestTwo(t *testing.T) {\n\t_ = get(utils.WithShortDeadline(t)) // reviewed\n}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "go.mod").write_text(GOMOD)
    (tmp_path / "go/test/utils").mkdir(parents=True)
    (tmp_path / "go/test/utils/context.go").write_text(HELPER)
    (tmp_path / "go/foo").mkdir(parents=True)
    (tmp_path / "go/foo/a_test.go").write_text(A)
    (tmp_path / "go/foo/b_test.go").write_text(B)
    (tmp_path / "go/foo/c_test.go").write_text(UNSAFE)
    (tmp_path / "editor.py").write_text(EDITOR_SCRIPT)
    return tmp_path


def env_for(repo: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "VISUAL")}
    editor = f"{shlex.quote(sys.executable)} {shlex.quote(str(repo / 'editor.py'))}"
    env.update(EDITOR=editor, TERM="xterm-256color", **extra)
    return env


def default_sigint() -> None:
    """Ctrl-C as at a terminal, even when this test run was started with SIGINT ignored (a background
    job): a child inherits an ignored SIGINT and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(repo: Path, *flags: str, **env: str) -> pexpect.spawn:
    args = ["-m", "codemod", "apply", "--interactive", "--select", "test-context", *flags, "./..."]
    child = pexpect.spawn(
        sys.executable,
        args,
        cwd=str(repo),
        env=env_for(repo, **env),
        encoding="utf-8",
        dimensions=(24, 80),
        timeout=30,
        preexec_fn=default_sigint,
    )
    child.logfile_read = io.StringIO()  # the whole transcript, for the assertions at the end
    return child


def answer(child: pexpect.spawn, key: str, after: str = "") -> None:
    """Wait for the prompt (after `after`, if given), then press one key (no Enter)."""
    if after:
        child.expect_exact(after)
    child.expect_exact(PROMPT)
    child.send(key)


def finish(child: pexpect.spawn) -> str:
    """Wait for the exit; the transcript with plain newlines."""
    child.expect(pexpect.EOF)
    child.close()
    return str(child.logfile_read.getvalue()).replace("\r\n", "\n")


def read(repo: Path, name: str) -> bytes:
    return (repo / "go/foo" / name).read_bytes()


def test_y_n_e_q_in_a_terminal(repo: Path) -> None:
    child = spawn(repo, "--no-color")
    answer(child, "y", after="go/foo/a_test.go:11  test-context  (1/3)")
    answer(child, "n", after="go/foo/a_test.go:15  test-context  (2/3)")
    answer(child, "e", after="go/foo/a_test.go:20  test-context  (3/3)")
    answer(child, "y", after="go/foo/b_test.go:9  test-context  (1/2)")
    answer(child, "q", after="go/foo/b_test.go:14  test-context  (2/2)")
    transcript = finish(child)
    assert child.exitstatus == 0, transcript
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + GET_FIXED + VAR_BG + TWO_EDITED).encode()
    assert read(repo, "b_test.go") == (HEAD + THREE_FIXED + FOUR_BG).encode()
    assert read(repo, "c_test.go") == UNSAFE.encode()  # never reached
    assert "codemod: wrote go/foo/a_test.go (2 fixes)" in transcript
    assert "codemod: wrote go/foo/b_test.go (1 fix)" in transcript
    assert "codemod: 3 fixes accepted, 1 skipped, 2 files written" in transcript
    assert "\x1b[" not in transcript  # --no-color
    assert transcript.count(PROMPT) == 5


def test_ctrl_c_keeps_earlier_files_and_leaves_the_current_one(repo: Path) -> None:
    child = spawn(repo)
    answer(child, "a", after="a_test.go:11")
    answer(child, "y", after="b_test.go:9")
    child.expect_exact("b_test.go:14")
    child.expect_exact(PROMPT)
    child.sendintr()
    transcript = finish(child)
    assert child.exitstatus == 130, transcript
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + GET_FIXED + VAR_FIXED + TWO_FIXED).encode()
    assert read(repo, "b_test.go") == B.encode()  # its accepted first fix is not written
    assert "interrupted; go/foo/b_test.go left as it was" in transcript
    assert "Traceback" not in transcript
    assert "\x1b[32m+" in transcript  # a terminal gets colour unless told otherwise


def test_unsafe_fix_marked_and_keys_typed_with_enter(repo: Path) -> None:
    """NO_COLOR is honoured; a key followed by Enter counts once; an arrow key is not `A`; UNSAFE shown."""
    child = spawn(repo, NO_COLOR="1")
    answer(child, "\x1b[A", after="a_test.go:11")  # arrow up: ESC [ A
    answer(child, "d\r", after="unknown answer")
    answer(child, "d\r", after="b_test.go:9")
    child.expect_exact("c_test.go:15")
    child.expect_exact("UNSAFE: ")
    answer(child, "y\r")
    transcript = finish(child)
    assert child.exitstatus == 0, transcript
    assert read(repo, "a_test.go") == A.encode() and read(repo, "b_test.go") == B.encode()
    assert read(repo, "c_test.go") == UNSAFE.replace("(context.Background())", "(t.Context())").encode()
    assert "\x1b[" not in transcript  # NO_COLOR
    assert transcript.count(PROMPT) == 4  # the arrow key asked again; the Enters were not answers
    assert transcript.count("unknown answer") == 1


def test_not_a_terminal_exits_2_at_once(repo: Path) -> None:
    command = [sys.executable, "-m", "codemod", "apply", "--interactive", "./..."]
    piped = subprocess.run(command, cwd=repo, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert piped.returncode == 2
    assert "--interactive needs a terminal on stdin and stdout" in piped.stderr
    leader, follower = os.openpty()  # a terminal on stdin, but stdout is a pipe
    try:
        half = subprocess.run(command, cwd=repo, capture_output=True, text=True, stdin=follower)
    finally:
        os.close(leader)
        os.close(follower)
    assert half.returncode == 2 and "needs a terminal" in half.stderr
    assert read(repo, "a_test.go") == A.encode()
