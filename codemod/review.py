"""`codemod apply --interactive`: offer each fix like `git add -p`, then write each file once.

The review loop only talks through `ask` (a prompt in, an answer out) and `edit` (text in, text out),
so tests drive it with scripted answers; the terminal adapters (single-key read, $EDITOR) are at the end.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console
from rich.text import Text

from codemod.config import Settings
from codemod.diff import render_diff, unified_diff
from codemod.edits import Edit, Finding, Fix, Safety, splice
from codemod.engine import Proposal, propose, render
from codemod.files import WriteRefused, discover, write_atomic
from codemod.gosyntax import error_count, line_end, line_start, parse
from codemod.project import project_for
from codemod.source import BOM, package_name
from codemod.transform import Transform, select_transforms

PROMPT = "Apply this fix [y,n,a,d,A,e,q,?]? "
HELP = """\
y - apply this fix
n - do not apply this fix
a - apply this fix and every remaining safe fix in this file (unsafe ones are still shown)
d - do not apply this fix or any remaining fix in this file
A - apply this fix and every remaining safe fix of this transform, in every file
e - edit the result of this fix in $EDITOR, then apply what is saved
q - quit: write what was accepted so far (this file's too) and stop
? - print this help"""
KEYS = frozenset("ynadAeq?")

Ask = Callable[[str], str]
EditText = Callable[[str], str]


class EditFailed(Exception):
    """The editor did not give back text to use; the message is one line for the user."""


@dataclass
class Tally:
    accepted: Counter[str] = field(default_factory=Counter)  # per transform id
    skipped: Counter[str] = field(default_factory=Counter)
    dropped: int = 0  # accepted, but refused by the engine's guards
    written: list[str] = field(default_factory=list)
    not_written: int = 0
    problems: int = 0
    quit: bool = False
    interrupted: str | None = None  # the file left as it was by Ctrl-C

    @property
    def exit_code(self) -> int:
        """130 after Ctrl-C; 1 when an accepted fix could not be written (as `apply` does); else 0."""
        if self.interrupted is not None:
            return 130
        return 1 if self.not_written else 0


@dataclass
class Session:
    ask: Ask
    edit: EditText
    out: Console  # the hunks and the prompt
    err: Console  # notices and the summary
    tally: Tally = field(default_factory=Tally)
    accept_everywhere: set[str] = field(default_factory=set)  # transform ids answered with `A`


@dataclass(frozen=True)
class Hunk:
    """Whole lines of the body that one fix touches, before and after it."""

    start: int
    end: int
    before: str
    after: str


def display(path: str) -> str:
    return path.removeprefix("./")


def hunk_of(body: bytes, fix: Fix) -> Hunk:
    start = line_start(body, fix.start)
    # A fix ending just after a newline ends on that line, not on the next one.
    ends_line = fix.end > start and body[fix.end - 1 : fix.end] == b"\n"
    end = fix.end if ends_line else line_end(body, fix.end)
    shifted = [Edit(e.start - start, e.end - start, e.text) for e in fix.edits]
    before = body[start:end]
    return Hunk(start, end, before.decode("utf-8"), splice(before, shifted).decode("utf-8"))


def edited_fix(fix: Fix, hunk: Hunk, text: str) -> Fix:
    """The hunk's lines replaced by `text`, with the original fix's imports and safety."""
    # An import the user's text no longer uses would not compile ("imported and not used").
    imports = tuple(r for r in fix.add_imports if _uses(text, r.name) or not _uses(hunk.after, r.name))
    return Fix((Edit(hunk.start, hunk.end, text),), fix.safety, fix.reason, imports, fix.maybe_unused_imports)


def _uses(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\.", text) is not None


def review(
    files: Sequence[Path], settings: Settings, transforms: Sequence[Transform], session: Session
) -> Tally:
    """Review every file in order; stop at `q`, or at Ctrl-C leaving the current file as it was."""
    tally = session.tally
    for path in files:
        try:
            if not review_file(path, settings, transforms, session):
                tally.quit = True
                break
        except KeyboardInterrupt:
            session.out.print()  # the prompt line was left open
            tally.interrupted = display(str(path))
            break
    summarize(session.err, tally)
    return tally


def review_file(path: Path, settings: Settings, transforms: Sequence[Transform], session: Session) -> bool:
    """Offer the file's fixes and write the accepted ones. False when the user quit."""
    proposal = _proposal(path, settings, transforms, session)
    if proposal is None or not proposal.findings:
        return True
    accepted, skipped, go_on = decide(proposal, session)
    commit(proposal, accepted, session)
    session.tally.skipped.update(f.transform_id for f in skipped)
    return go_on


def _proposal(
    path: Path, settings: Settings, transforms: Sequence[Transform], session: Session
) -> Proposal | None:
    """The file's proposal, or None (named on stderr when it is a problem) when there is none."""
    try:
        raw = path.read_bytes()
        project = project_for(
            path, settings.helper_import, package_name(raw.removeprefix(BOM)), settings.end_to_end_folders
        )
        proposal = propose(str(path), raw, project, settings, transforms)
        problem = proposal.skipped if proposal.problem else None
    except OSError as exc:
        problem = f"cannot read: {exc.strerror or exc}"
    except RecursionError:
        problem = "too deeply nested to analyse"
    except Exception as exc:  # a bug of ours must not lose what was accepted in other files
        problem = f"internal error: {type(exc).__name__}: {exc}"
    if problem is not None:
        session.err.print(f"codemod: {display(str(path))}: skipped: {problem}", markup=False)
        session.tally.problems += 1
        return None
    return None if proposal.skipped else proposal


def decide(proposal: Proposal, session: Session) -> tuple[list[Finding], list[Finding], bool]:
    """(accepted, skipped, go on with the next file?) for one file's fixes, asking where needed."""
    accepted: list[Finding] = []
    skipped: list[Finding] = []
    rest_of_file: str | None = None  # "a" or "d" once answered
    findings = proposal.findings
    for index, finding in enumerate(findings):
        assert finding.fix is not None
        if rest_of_file == "d":
            skipped.append(finding)
            continue
        if any(finding.fix.overlaps(a.fix) for a in accepted if a.fix is not None):
            _note(session, finding, "overlaps a fix already accepted; skipped")
            skipped.append(finding)
            continue
        bulk = rest_of_file == "a" or finding.transform_id in session.accept_everywhere
        if bulk and finding.fix.safety is Safety.SAFE:
            accepted.append(finding)
            continue  # an unsafe fix is still shown: nobody accepts one unseen
        key, chosen = offer(proposal, finding, f"{index + 1}/{len(findings)}", accepted, session)
        if key == "q":
            return accepted, skipped, False
        if key in ("y", "a", "A"):
            accepted.append(chosen)
        else:
            skipped.append(chosen)
        if key in ("a", "d"):
            rest_of_file = key
        if key == "A":
            session.accept_everywhere.add(finding.transform_id)
    return accepted, skipped, True


def offer(
    proposal: Proposal, finding: Finding, position: str, accepted: list[Finding], session: Session
) -> tuple[str, Finding]:
    """Show one fix and ask until the answer decides it: (key, the finding to apply, maybe edited)."""
    assert proposal.source is not None and finding.fix is not None
    name = display(proposal.path)
    after, dropped = render(proposal, [finding])
    if after == proposal.source.raw:
        reason = dropped[0][1] if dropped else "it changes nothing"
        _note(session, finding, f"cannot be applied: {reason}; skipped")
        return "n", finding
    show(session.out, name, finding, position, unified_diff(name, proposal.source.raw, after))
    while True:
        key = session.ask(PROMPT).strip()[:1]
        if key == "e":
            edited = edit_finding(proposal, finding, accepted, session.edit)
            if isinstance(edited, Finding):
                session.out.print(Text("using the edited lines", style="green"))
                return "y", edited
            session.out.print(Text(f"edit not used: {edited}", style="bold red"))
        elif key in KEYS and key != "?":
            return key, finding
        else:
            if key != "?":
                session.out.print(Text(f"unknown answer {key!r}", style="bold red"))
            session.out.print(Text(HELP))


def show(out: Console, name: str, finding: Finding, position: str, diff: str) -> None:
    assert finding.fix is not None
    if finding.fix.safety is Safety.UNSAFE:
        safety = Text.assemble(("UNSAFE: ", "bold red"), finding.fix.reason)
    else:
        safety = Text.assemble(("safe: ", "green"), finding.fix.reason)
    out.print()
    # Wrapped at word boundaries (soft_wrap off): the reasons are long at 80 columns.
    header = Text.assemble((f"{name}:{finding.line}", "bold"), f"  {finding.transform_id}  ({position})")
    for line in (header, Text(finding.message), safety):
        out.print(line, soft_wrap=False)
    render_diff(out, diff)


def edit_finding(
    proposal: Proposal, finding: Finding, accepted: list[Finding], edit: EditText
) -> Finding | str:
    """The finding with the user's edited lines as its fix, or why the edit cannot be used."""
    assert proposal.source is not None and finding.fix is not None
    body = proposal.source.body
    hunk = hunk_of(body, finding.fix)
    whole_lines = Fix((Edit(hunk.start, hunk.end, ""),), finding.fix.safety, "")
    if any(whole_lines.overlaps(a.fix) for a in accepted if a.fix is not None):
        return "these lines hold a fix already accepted; answer y or n"
    try:
        text = edit(hunk.after).replace("\r\n", "\n")
    except EditFailed as exc:
        return str(exc)
    if not text.strip():
        return "the file was left empty"
    if hunk.after.endswith("\n") and not text.endswith("\n"):
        text += "\n"  # editors may drop the final newline; the next line must stay a line of its own
    if text == hunk.before:
        return "it gives back the original lines (answer n to skip the fix)"
    fix = edited_fix(finding.fix, hunk, text)
    added = error_count(parse(splice(body, list(fix.edits)))) - error_count(parse(body))
    if added > 0:
        return f"the edited lines do not parse as Go ({_plural(added, 'new error', 'new errors')})"
    edited = replace(finding, fix=fix)
    _, dropped = render(proposal, [edited])
    return dropped[0][1] if dropped else edited


def _note(session: Session, finding: Finding, message: str) -> None:
    session.out.print(Text(f"{finding.transform_id} at line {finding.line}: {message}", style="yellow"))


def commit(proposal: Proposal, accepted: list[Finding], session: Session) -> None:
    """Render the accepted fixes together and write the file once."""
    assert proposal.source is not None
    tally, name = session.tally, display(proposal.path)
    if not accepted:
        return
    new, dropped = render(proposal, accepted)
    for finding, reason in dropped:
        session.err.print(f"codemod: {name}:{finding.line}: fix not applied: {reason}", markup=False)
    refused = {id(f) for f, _ in dropped}
    kept = [f for f in accepted if id(f) not in refused]
    tally.dropped += len(dropped)
    if new == proposal.source.raw:
        return
    try:
        write_atomic(Path(proposal.path), new, proposal.source.raw)
    except (WriteRefused, OSError) as exc:
        session.err.print(f"codemod: {name}: {exc}", markup=False)
        tally.not_written += 1
        return
    tally.accepted.update(f.transform_id for f in kept)
    tally.written.append(name)
    session.err.print(f"codemod: wrote {name} ({_plural(len(kept), 'fix', 'fixes')})", markup=False)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def summarize(err: Console, tally: Tally) -> None:
    accepted, skipped = sum(tally.accepted.values()), sum(tally.skipped.values())
    parts = [
        f"{_plural(accepted, 'fix', 'fixes')} accepted",
        f"{skipped} skipped",
        f"{_plural(len(tally.written), 'file', 'files')} written",
    ]
    if tally.dropped:
        parts.append(f"{tally.dropped} dropped by the safety guards")
    if tally.not_written:
        parts.append(f"{_plural(tally.not_written, 'file', 'files')} not written")
    if tally.problems:
        parts.append(f"{_plural(tally.problems, 'file', 'files')} could not be processed")
    err.print("codemod: " + ", ".join(parts), markup=False)
    for transform_id in sorted(tally.accepted.keys() | tally.skipped.keys()):
        counts = f"{tally.accepted[transform_id]} accepted, {tally.skipped[transform_id]} skipped"
        err.print(f"codemod:   {transform_id}: {counts}", markup=False)
    if tally.interrupted is not None:
        err.print(f"codemod: interrupted; {tally.interrupted} left as it was", markup=False)
    elif tally.quit:
        err.print("codemod: quit; later fixes were not offered", markup=False)


# Terminal adapters --------------------------------------------------------------------------------


def usage_problem(dry_run: bool, fmt: str) -> str | None:
    """Why the review cannot run, if it cannot: it needs a person at a terminal, and it writes diffs."""
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        return "--interactive needs a terminal on stdin and stdout (use --dry-run to see a diff)"
    if dry_run or fmt != "diff":
        return "--interactive writes the fixes you accept: it cannot be combined with --dry-run or --format"
    return None


def run(
    targets: list[str], settings: Settings, transform_ids: tuple[str, ...], out: Console, err: Console
) -> int:
    """The review at a terminal; returns the exit code (130 after Ctrl-C)."""
    files, messages = discover(targets, settings.exclude)
    for message in messages:
        err.print(f"codemod: {message}", markup=False)
    session = Session(read_key, edit_in_editor, out, err)
    return review(files, settings, select_transforms(transform_ids, ()), session).exit_code


def read_key(prompt: str) -> str:
    """One keypress when stdin is a terminal (echoed), else one line. EOF answers `q`."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    if not sys.stdin.isatty():
        return sys.stdin.readline() or "q"
    fd = sys.stdin.fileno()
    key = ""
    while not key.strip():  # skip the Enter of someone who answers with a line
        key = _single_key(fd)
    if key == "\x04":  # Ctrl-D: the terminal does not turn it into EOF outside line mode
        key = "q"
    sys.stdout.write((key if key.isprintable() else "") + "\n")
    sys.stdout.flush()
    return key


def _single_key(fd: int) -> str:
    import termios  # POSIX only: imported where used, so the rest of the module loads anywhere
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)  # Ctrl-C still raises KeyboardInterrupt
        data = os.read(fd, 1)
        if data == b"\x1b" or data >= b"\x80":
            # The rest of an arrow key's escape sequence or of a non-ASCII key is not more answers.
            while select.select([fd], [], [], 0.05)[0]:
                os.read(fd, 32)
            return "\x1b"
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return data.decode("ascii") if data else "\x04"


def edit_in_editor(text: str) -> str:
    """Let $EDITOR change `text` in a temp file; raise EditFailed when it gives nothing usable."""
    editor = os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="codemod-") as tmp:
        path = Path(tmp) / "hunk.go"  # .go: the editor highlights Go
        path.write_text(text, encoding="utf-8")
        _drop_typeahead()
        try:
            done = subprocess.run([*shlex.split(editor), str(path)], check=False)
        except (OSError, ValueError) as exc:
            raise EditFailed(f"cannot run $EDITOR ({editor}): {exc}") from None
        if done.returncode != 0:
            raise EditFailed(f"$EDITOR ({editor}) exited with status {done.returncode}")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EditFailed(f"cannot read the edited text: {exc}") from None


def _drop_typeahead() -> None:
    """The Enter typed after `e` belongs to the prompt, not to the editor."""
    if sys.stdin.isatty():
        import termios  # POSIX only, as in _single_key

        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)
