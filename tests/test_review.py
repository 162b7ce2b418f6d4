"""The interactive review, driven by scripted answers and a scripted editor; files checked byte for byte."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from codemod import review
from codemod.cli import main
from codemod.config import Settings
from codemod.edits import Edit, Fix, Safety
from codemod.review import HELP, PROMPT, EditFailed, Session, Tally, hunk_of
from codemod.transform import select_transforms

GOMOD = "module github.com/multigres/multigres\n\ngo 1.25\n"
HELPER = """package utils

import "testing"

func WithShortDeadline(t *testing.T) {}
func WithTimeout() {}
"""
HEAD = 'package foo\n\nimport (\n\t"context"\n\t"testing"\n)\n'
UTILS = '\t"github.com/multigres/multigres/go/test/utils"\n'
HEAD_UTILS = f'package foo\n\nimport (\n\t"context"\n\t"testing"\n\n{UTILS})\n'
# The last use of "context" in b_test.go goes with its last fix.
HEAD_NO_CONTEXT = f'package foo\n\nimport (\n\t"testing"\n\n{UTILS})\n'
GET = "\nfunc get(ctx context.Context) error { return ctx.Err() }\n"
# a_test.go: three fixes, in this order.
GET_BG = "\nfunc TestGet(t *testing.T) {\n\t_ = get(context.Background())\n}\n"
GET_FIXED = "\nfunc TestGet(t *testing.T) {\n\t_ = get(utils.WithShortDeadline(t))\n}\n"
VAR_BG = "\nfunc TestVar(t *testing.T) {\n\tctx := context.Background()\n\t_ = get(ctx)\n}\n"
VAR_FIXED = "\nfunc TestVar(t *testing.T) {\n\tctx := t.Context()\n\t_ = get(ctx)\n}\n"
TWO_BG = "\nfunc TestTwo(t *testing.T) {\n\t_ = get(context.Background())\n}\n"
TWO_FIXED = "\nfunc TestTwo(t *testing.T) {\n\t_ = get(utils.WithShortDeadline(t))\n}\n"
A = HEAD + GET + GET_BG + VAR_BG + TWO_BG
# b_test.go: two fixes.
THREE_BG = "\nfunc TestThree(t *testing.T) {\n\tctx := context.Background()\n\t_ = get(ctx)\n}\n"
THREE_FIXED = "\nfunc TestThree(t *testing.T) {\n\tctx := t.Context()\n\t_ = get(ctx)\n}\n"
FOUR_BG = "\nfunc TestFour(t *testing.T) {\n\t_ = get(context.Background())\n}\n"
FOUR_FIXED = "\nfunc TestFour(t *testing.T) {\n\t_ = get(utils.WithShortDeadline(t))\n}\n"
B = HEAD + THREE_BG + FOUR_BG
UNSAFE = """package foo

import (
\t"context"
\t"testing"
)

type pool struct{ ctx context.Context }

func newPool(ctx context.Context) *pool { return &pool{ctx: ctx} }

func (p *pool) Close() error { return p.ctx.Err() }

func TestPoolCloses(t *testing.T) {
\tp := newPool(context.Background())
\tt.Cleanup(func() {
\t\tif err := p.Close(); err != nil {
\t\t\tt.Error(err)
\t\t}
\t})
}
"""

Answer = str | type[BaseException]


class Script:
    """Answers the prompts in order; an exception class is raised instead (e.g. KeyboardInterrupt)."""

    def __init__(self, *answers: Answer, on_ask: Callable[[int], None] | None = None) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.on_ask = on_ask

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if self.on_ask is not None:
            self.on_ask(len(self.prompts))
        assert self.answers, "the review asked more often than the script answers"
        answer = self.answers.pop(0)
        if isinstance(answer, str):
            return answer
        raise answer()


class Editor:
    """A scripted $EDITOR: each call gets the hunk text and gives back the next scripted result."""

    def __init__(self, *results: str | Callable[[str], str] | EditFailed) -> None:
        self.results = list(results)
        self.seen: list[str] = []

    def __call__(self, text: str) -> str:
        self.seen.append(text)
        result = self.results.pop(0)
        if isinstance(result, EditFailed):
            raise result
        return result(text) if callable(result) else result


def console(file: io.StringIO) -> Console:
    # As the CLI makes them (codemod.cli._console), at 80 columns.
    return Console(file=file, width=80, no_color=True, highlight=False, soft_wrap=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "go.mod").write_text(GOMOD)
    (tmp_path / "go/test/utils").mkdir(parents=True)
    (tmp_path / "go/test/utils/context.go").write_text(HELPER)
    (tmp_path / "go/foo").mkdir(parents=True)
    (tmp_path / "go/foo/a_test.go").write_text(A)
    (tmp_path / "go/foo/b_test.go").write_text(B)
    return tmp_path


def run_review(
    repo: Path, ask: Script, edit: Editor | None = None, names: tuple[str, ...] = ("a_test.go", "b_test.go")
) -> tuple[Tally, str, str]:
    out, err = io.StringIO(), io.StringIO()
    session = Session(ask, edit or Editor(), console(out), console(err))
    files = [Path("go/foo") / name for name in names]  # as discovery names them, relative to the cwd
    tally = review.review(files, Settings(), select_transforms(("test-context",), ()), session)
    assert all(p == PROMPT for p in ask.prompts)
    return tally, out.getvalue(), err.getvalue()


def read(repo: Path, name: str) -> bytes:
    return (repo / "go/foo" / name).read_bytes()


def test_y_and_n_write_only_the_accepted_fix(repo: Path) -> None:
    ask = Script("y", "n", "n", "n", "n")
    tally, out, err = run_review(repo, ask)
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + GET_FIXED + VAR_BG + TWO_BG).encode()
    assert read(repo, "b_test.go") == B.encode()
    assert len(ask.prompts) == 5
    assert "go/foo/a_test.go:11  test-context  (1/3)" in out
    assert "+\t_ = get(utils.WithShortDeadline(t))" in out
    assert "codemod: wrote go/foo/a_test.go (1 fix)" in err
    assert "1 fix accepted, 4 skipped, 1 file written" in err
    assert "codemod:   test-context: 1 accepted, 4 skipped" in err
    assert tally.exit_code == 0


def test_a_applies_the_rest_of_the_file_only(repo: Path) -> None:
    ask = Script("n", "a", "n", "y")
    tally, _, _ = run_review(repo, ask)
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + GET_BG + VAR_FIXED + TWO_FIXED).encode()
    assert read(repo, "b_test.go") == (HEAD_UTILS + THREE_BG + FOUR_FIXED).encode()
    assert len(ask.prompts) == 4
    assert sum(tally.accepted.values()) == 3 and sum(tally.skipped.values()) == 2


def test_d_skips_the_rest_of_the_file_only(repo: Path) -> None:
    ask = Script("y", "d", "y", "y")
    run_review(repo, ask)
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + GET_FIXED + VAR_BG + TWO_BG).encode()
    assert read(repo, "b_test.go") == (HEAD_NO_CONTEXT + THREE_FIXED + FOUR_FIXED).encode()
    assert len(ask.prompts) == 4


def test_capital_a_applies_the_transform_everywhere(repo: Path) -> None:
    ask = Script("n", "A")
    tally, _, err = run_review(repo, ask)
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + GET_BG + VAR_FIXED + TWO_FIXED).encode()
    assert read(repo, "b_test.go") == (HEAD_NO_CONTEXT + THREE_FIXED + FOUR_FIXED).encode()
    assert len(ask.prompts) == 2  # b_test.go is not asked about
    assert tally.written == ["go/foo/a_test.go", "go/foo/b_test.go"]
    assert "4 fixes accepted, 1 skipped, 2 files written" in err


def test_q_writes_the_current_files_accepted_fixes_and_stops(repo: Path) -> None:
    ask = Script("y", "q")
    tally, _, err = run_review(repo, ask)
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + GET_FIXED + VAR_BG + TWO_BG).encode()
    assert read(repo, "b_test.go") == B.encode()
    assert tally.quit and tally.exit_code == 0
    assert "1 fix accepted, 0 skipped, 1 file written" in err
    assert "quit; later fixes were not offered" in err


def test_ctrl_c_leaves_the_current_file_as_it_was(repo: Path) -> None:
    ask = Script("y", "n", "n", "y", KeyboardInterrupt)
    tally, _, err = run_review(repo, ask)
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + GET_FIXED + VAR_BG + TWO_BG).encode()
    assert read(repo, "b_test.go") == B.encode()  # its accepted first fix is not written
    assert tally.exit_code == 130
    assert "interrupted; go/foo/b_test.go left as it was" in err
    assert "1 fix accepted, 2 skipped, 1 file written" in err


def test_help_and_unknown_answers_ask_again(repo: Path) -> None:
    ask = Script("?", "x", "", "yes", "n", "n", "q")
    _, out, _ = run_review(repo, ask)
    assert out.count(HELP) == 3  # after `?`, after `x`, after an empty line
    assert "unknown answer 'x'" in out
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + GET_FIXED + VAR_BG + TWO_BG).encode()


def test_edit_rejected_when_it_does_not_parse_then_accepted(repo: Path) -> None:
    ask = Script("e", "e", "n", "n", "q")
    editor = Editor(
        "\t_ = get(utils.WithShortDeadline(t)\n",  # a parenthesis lost: rejected, asked again
        lambda text: text.replace("\n", " // reviewed\n"),
    )
    _, out, _ = run_review(repo, ask, editor)
    assert editor.seen == ["\t_ = get(utils.WithShortDeadline(t))\n"] * 2
    assert "edit not used: the edited lines do not parse as Go" in out
    edited = "\nfunc TestGet(t *testing.T) {\n\t_ = get(utils.WithShortDeadline(t)) // reviewed\n}\n"
    assert read(repo, "a_test.go") == (HEAD_UTILS + GET + edited + VAR_BG + TWO_BG).encode()


def test_edit_that_drops_the_helper_does_not_import_it(repo: Path) -> None:
    ask = Script("e", "n", "n", "q")
    run_review(repo, ask, Editor("\t_ = get(t.Context())"))  # no final newline: one is kept
    edited = "\nfunc TestGet(t *testing.T) {\n\t_ = get(t.Context())\n}\n"
    assert read(repo, "a_test.go") == (HEAD + GET + edited + VAR_BG + TWO_BG).encode()


@pytest.mark.parametrize(
    ("result", "message"),
    [
        (EditFailed("$EDITOR (vi) exited with status 1"), "edit not used: $EDITOR (vi) exited with status 1"),
        ("  \n", "edit not used: the file was left empty"),
        ("\t_ = get(context.Background())\n", "edit not used: it gives back the original lines"),
    ],
)
def test_unusable_edits_ask_again(repo: Path, result: str | EditFailed, message: str) -> None:
    ask = Script("e", "n", "q")
    _, out, _ = run_review(repo, ask, Editor(result))
    assert message in out
    assert read(repo, "a_test.go") == A.encode()


def test_unsafe_fixes_are_offered_and_marked(repo: Path) -> None:
    (repo / "go/foo/c_test.go").write_text(UNSAFE)
    ask = Script("y")
    _, out, _ = run_review(repo, ask, names=("c_test.go",))
    assert "UNSAFE: " in out
    assert (
        read(repo, "c_test.go")
        == UNSAFE.replace("newPool(context.Background())", "newPool(t.Context())").encode()
    )


def test_a_file_changed_during_review_is_not_written(repo: Path) -> None:
    target = repo / "go/foo/a_test.go"

    def meddle(count: int) -> None:
        if count == 3:
            target.write_text(A + "\n// changed meanwhile\n")

    tally, _, err = run_review(repo, Script("y", "y", "y", "q", on_ask=meddle))
    assert target.read_text() == A + "\n// changed meanwhile\n"
    assert "changed on disk since it was read; not written" in err
    assert tally.not_written == 1 and tally.written == []
    assert tally.exit_code == 1  # as `apply` exits when a fix could not be written


def test_unreadable_file_is_named_and_the_review_goes_on(repo: Path) -> None:
    (repo / "go/foo/latin1_test.go").write_bytes(b"package foo\n// caf\xe9\n")
    ask = Script("y", "q")
    tally, _, err = run_review(repo, ask, names=("latin1_test.go", "a_test.go"))
    assert "latin1_test.go: skipped: not valid UTF-8 (line 2)" in err
    assert tally.problems == 1 and len(tally.written) == 1


def test_crlf_file_keeps_its_line_ends_after_an_edit(repo: Path) -> None:
    (repo / "go/foo/a_test.go").write_bytes(A.replace("\n", "\r\n").encode())
    ask = Script("e", "n", "n", "q")
    run_review(repo, ask, Editor(lambda text: text.replace("\n", " // ok\n")))
    edited = "\nfunc TestGet(t *testing.T) {\n\t_ = get(utils.WithShortDeadline(t)) // ok\n}\n"
    expected = (HEAD_UTILS + GET + edited + VAR_BG + TWO_BG).replace("\n", "\r\n")
    assert read(repo, "a_test.go") == expected.encode()


def test_hunk_covers_whole_lines() -> None:
    body = b"a\nbc(x)\nd\n"
    fix = Fix((Edit(5, 6, "y"),), Safety.SAFE, "")
    assert hunk_of(body, fix) == review.Hunk(2, 8, "bc(x)\n", "bc(y)\n")
    ends_at_newline = Fix((Edit(2, 8, "gone\n"),), Safety.SAFE, "")
    assert hunk_of(body, ends_at_newline) == review.Hunk(2, 8, "bc(x)\n", "gone\n")
    insertion = Fix((Edit(8, 8, "new\n"),), Safety.SAFE, "")
    assert hunk_of(body, insertion) == review.Hunk(8, 10, "d\n", "new\nd\n")


def test_read_key_accepts_a_line_when_stdin_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert review.read_key(PROMPT) == "y\n"
    assert review.read_key(PROMPT) == "q"  # end of input quits (what was accepted is written)


def test_interactive_without_a_terminal_is_a_usage_error(repo: Path) -> None:
    done = CliRunner().invoke(main, ["apply", "--interactive", "./..."])
    assert done.exit_code == 2
    assert "--interactive needs a terminal on stdin and stdout" in done.output
    assert read(repo, "a_test.go") == A.encode()


def test_interactive_refuses_dry_run_and_json() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdin", Tty())
        mp.setattr(sys, "stdout", Tty())
        assert review.usage_problem(dry_run=False, fmt="diff") is None
        assert "--dry-run" in (review.usage_problem(dry_run=True, fmt="diff") or "")
        assert "--format" in (review.usage_problem(dry_run=False, fmt="json") or "")
