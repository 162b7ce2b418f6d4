"""Check fixed Go packages with the real toolchain; repair or roll back the packages a fix broke.

Each changed package (directory) runs `go vet` (and `go test -short -count=1` in `test` mode) on the
unchanged tree first, so a failure that was already there is not blamed on the fix. A package that
newly fails is retried with only the safe fixes in the `t-context` style; if it still fails, its files
get their original bytes back. Afterwards every changed package passes whatever it passed before.
`go test` runs with `-json` (its output is read back as plain text), so the report can say how long
each package's tests took before and after the change.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from codemod.config import Settings
from codemod.engine import FileResult
from codemod.files import WriteRefused, write_atomic
from codemod.runner import default_jobs, run_files
from codemod.timings import human, plain_output

MODES = ("vet", "test")
DEFAULT_TIMEOUT = 300.0  # seconds per package and command
# The go subcommands each mode runs, in order; a package passes a mode when all of them pass.
COMMANDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "vet": (("vet",),),
    "test": (("vet",), ("test", "-short", "-count=1")),
}

# Given the package's original paths, fixes computed again from their (original) bytes on disk.
Rerun = Callable[[list[Path]], list[FileResult]]
Log = Callable[[str], None]

_POSITION = re.compile(r"(\.go):\d+(?::\d+)?")
_DURATION = re.compile(r"\(?\b\d+(?:\.\d+)?m?s\)?")
_ERROR_LINE = re.compile(r"^\s*(?:--- FAIL: \S+|(?:vet: )?\S+\.go:\d+|panic: )")
T = TypeVar("T")
R = TypeVar("R")


class VerifyError(Exception):
    """Verification cannot run at all (no `go`, unknown mode)."""


class _Stopped(Exception):
    """A worker noticed that the run was interrupted; it stops before starting another command."""


@dataclass(frozen=True)
class GoRun:
    """One go command on one package."""

    command: str  # as a person would type it, from the module root
    status: str  # "pass" | "fail" | "timeout" | "error"
    output: str
    seconds: float
    # `go test` only: the test binary's time and each test's (subtests included), from -json events
    test_seconds: float | None = None
    tests: tuple[tuple[str, float], ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def signature(self) -> frozenset[str]:
        """The failure without positions or timings, so shifted lines still compare equal."""
        lines = [_normalize(line) for line in self.output.splitlines()]
        errors = frozenset(line for line in lines if _ERROR_LINE.match(line))
        return errors or frozenset(line for line in lines if line and not line.startswith("#"))


@dataclass
class PackageReport:
    directory: Path
    files: tuple[Path, ...]
    outcome: str  # passed | preexisting | repaired | reverted | refused | unverified
    transforms: tuple[str, ...] = ()  # transforms of the first attempt
    command: str = ""  # the command that failed (or the first one run)
    error: str = ""  # what newly failed, when repaired or reverted
    note: str = ""  # time limits, missing go.mod, refused writes
    times: TimeChange | None = None  # `go test` time before and after, when both passed


@dataclass(frozen=True)
class TimeChange:
    """How long a package's tests took on the unchanged tree and with the fixes kept."""

    before: float
    after: float
    tests: tuple[tuple[str, float, float], ...]  # top-level tests in both runs: name, before, after

    def lines(self, limit: int = 5) -> list[str]:
        """`go test: 5.20 s → 0.31 s`, then the tests whose time moved most; smaller moves than 0.1 s
        or 1.5 times are the noise of a busy machine."""
        moved = sorted(self.tests, key=lambda t: abs(t[2] - t[1]), reverse=True)
        shown = [t for t in moved if abs(t[2] - t[1]) >= 0.1 and max(t[1:]) >= 1.5 * min(t[1:])][:limit]
        return [f"go test: {human(self.before)} → {human(self.after)}"] + [
            f"  {name}: {human(before)} → {human(after)}" for name, before, after in shown
        ]


def time_change(before: list[GoRun], after: list[GoRun]) -> TimeChange | None:
    """The `go test` runs of both lists, when each passed and was timed."""
    old = next((r for r in before if r.test_seconds is not None and r.passed), None)
    new = next((r for r in after if r.test_seconds is not None and r.passed), None)
    if old is None or new is None or old.command != new.command:
        return None
    assert old.test_seconds is not None and new.test_seconds is not None
    now = dict(new.tests)
    tests = tuple((n, s, now[n]) for n, s in old.tests if n in now and "/" not in n)
    return TimeChange(old.test_seconds, new.test_seconds, tests)


@dataclass
class VerifyReport:
    mode: str
    original: dict[Path, bytes] = field(default_factory=dict)
    final: dict[Path, bytes] = field(default_factory=dict)  # what is on disk now, per changed path
    applied: dict[Path, list[str]] = field(default_factory=dict)  # transform ids of the fixes kept
    packages: list[PackageReport] = field(default_factory=list)

    def with_outcome(self, outcome: str) -> list[PackageReport]:
        return [p for p in self.packages if p.outcome == outcome]

    @property
    def changed(self) -> list[Path]:
        return sorted(p for p, data in self.final.items() if data != self.original.get(p))

    def counts(self) -> Counter[str]:
        """Fixes kept on disk, per transform id."""
        return Counter(t for path in self.changed for t in self.applied.get(path, []))

    def summary(self) -> str:
        if self.mode == "none":
            return "not verified (--verify none)"
        outcomes = Counter(p.outcome for p in self.packages)
        words = {
            "passed": "passed",
            "preexisting": "failed before the change too (not blamed)",
            "repaired": "repaired with safe t.Context() fixes",
            "reverted": "reverted",
            "refused": "not written (changed on disk)",
            "unverified": "not verified",
        }
        parts = [f"{outcomes[k]} {words[k]}" for k in words if outcomes[k]]
        noun = "package" if len(self.packages) == 1 else "packages"
        return f"{' '.join(describe_commands(self.mode))} on {len(self.packages)} {noun}: " + (
            ", ".join(parts) or "nothing to check"
        )

    def lines(self, root: Path | None = None) -> list[str]:
        """The summary, then one line (plus the error) per package that did not simply pass."""
        out = [self.summary()]
        for pkg in self.packages:
            if pkg.outcome == "passed":
                continue
            name = _rel(pkg.directory, root)
            blame = f" ({', '.join(pkg.transforms)})" if pkg.transforms else ""
            head = f"  {name}: {pkg.outcome}{blame}"
            if pkg.command:
                head += f": `{pkg.command}`"
            if pkg.note:
                head += f"; {pkg.note}"
            out.append(head)
            out.extend(f"      {line}" for line in pkg.error.splitlines())
        timed = [p for p in self.packages if p.times is not None]
        if timed:
            out.append(f"test time, unchanged tree → with the fixes (`{describe_commands(self.mode)[-1]}`):")
        for pkg in timed:
            assert pkg.times is not None
            first, *tests = pkg.times.lines()
            out.append(f"  {_rel(pkg.directory, root)}: {first}")
            out.extend(f"    {line}" for line in tests)
        return out


def describe_commands(mode: str) -> list[str]:
    return [f"go {' '.join(args)}" for args in COMMANDS.get(mode, ())]


def _rel(path: Path, root: Path | None) -> str:
    if root is None:
        return str(path)
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return str(path)


def module_root(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / "go.mod").is_file():
            return candidate
    return None


def safe_rerun(settings: Settings, transform_ids: Sequence[str]) -> Rerun:
    """The retry: only safe fixes, and `t.Context()` rather than the helper (it cannot be missing)."""
    retry_settings = replace(settings, style="t-context")
    ids = tuple(transform_ids)

    def rerun(paths: list[Path]) -> list[FileResult]:
        return list(run_files(paths, retry_settings, ids, False, 1))

    return rerun


class Verifier:
    """Runs the checks. Keeps the baseline of each package, so shards from one base share it."""

    def __init__(
        self,
        mode: str,
        *,
        timeout: float | None = None,
        jobs: int | None = None,
        go: str | None = None,
        log: Log | None = None,
    ) -> None:
        if mode not in (*MODES, "none"):
            raise VerifyError(f"unknown verify mode {mode!r} (use {', '.join(MODES)} or none)")
        found = go or shutil.which("go")
        if mode != "none" and found is None:
            raise VerifyError("`go` is not on PATH: cannot verify (use --verify none to skip)")
        self.mode = mode
        self.go = found or "go"
        self.timeout = timeout or DEFAULT_TIMEOUT
        self.jobs = jobs or default_jobs()
        self.log = log or (lambda _message: None)
        self.env = {**os.environ, "GOTOOLCHAIN": "local"}
        self._baseline: dict[Path, list[GoRun]] = {}
        self._live: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # -- running go ---------------------------------------------------------------------------

    def _go(self, args: tuple[str, ...], directory: Path) -> GoRun:
        root = module_root(directory)
        assert root is not None
        rel = directory.relative_to(root).as_posix()
        target = "." if rel == "." else f"./{rel}"
        command = f"go {' '.join(args)} {target}"
        start = time.monotonic()
        if self._stopping.is_set():
            raise _Stopped
        timed = args[:1] == ("test",)  # -json adds each test's time; the output is read back as text
        argv = [self.go, "test", "-json", *args[1:], target] if timed else [self.go, *args, target]
        try:
            proc = subprocess.Popen(
                argv,
                cwd=root,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                start_new_session=True,  # its own process group: a time limit kills test binaries too
            )
        except OSError as exc:
            return GoRun(command, "error", str(exc), 0.0)
        with self._lock:
            self._live.add(proc)
        try:
            output, _ = proc.communicate(timeout=self.timeout)
            status = "pass" if proc.returncode == 0 else "fail"
        except subprocess.TimeoutExpired:
            _kill(proc)
            output, _ = proc.communicate()
            status = "timeout"
        except BaseException:
            _kill(proc)
            raise
        finally:
            with self._lock:
                self._live.discard(proc)
        seconds = time.monotonic() - start
        if not timed:
            return GoRun(command, status, output or "", seconds)
        text, events = plain_output(output or "")
        package = events.packages.get(next(iter(events.packages), ""))
        tests = tuple((t.test, t.slowest) for t in events.results() if t.outcomes == ["pass"])
        return GoRun(command, status, text, seconds, package.seconds if package else None, tests)

    def _kill_all(self) -> None:
        self._stopping.set()
        with self._lock:
            live = list(self._live)
        for proc in live:
            _kill(proc)

    def check(self, directory: Path, stop_on_failure: bool = True) -> list[GoRun]:
        runs: list[GoRun] = []
        for args in COMMANDS[self.mode]:
            run = self._go(args, directory)
            runs.append(run)
            if stop_on_failure and not run.passed:
                break
        return runs

    def baseline(self, directory: Path) -> list[GoRun]:
        # Every command runs, even after a failure, so each later check has something to compare to.
        if directory not in self._baseline:
            self._baseline[directory] = self.check(directory, stop_on_failure=False)
        return self._baseline[directory]

    def _parallel(self, func: Callable[[T], R], items: list[T]) -> list[R]:
        if len(items) <= 1 or self.jobs <= 1:
            return [func(item) for item in items]
        pool = ThreadPoolExecutor(max_workers=min(self.jobs, len(items)))
        try:
            return list(pool.map(func, items))
        except BaseException:
            self._kill_all()  # a Ctrl-C must not wait for every running go command to finish
            pool.shutdown(wait=True, cancel_futures=True)
            self._stopping.clear()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- verify and repair ----------------------------------------------------------------------

    def verify_and_repair(
        self,
        original: Mapping[Path, bytes],
        fixed: Mapping[Path, bytes],
        rerun: Rerun | None = None,
        applied: Mapping[Path, Sequence[str]] | None = None,
    ) -> VerifyReport:
        """Write `fixed` over `original` (which must be on disk), check, repair or revert per package.

        `rerun(paths)` is called while those paths hold their original bytes again. On any exception
        (Ctrl-C included) every file gets its original bytes back before the exception goes on.
        """
        changed = sorted(p for p, data in fixed.items() if data != original.get(p))
        report = VerifyReport(self.mode, original={p: original[p] for p in changed})
        report.final = {p: original[p] for p in changed}
        kept = {p: list((applied or {}).get(p, ())) for p in changed}
        by_dir: dict[Path, list[Path]] = {}
        for path in changed:
            by_dir.setdefault(path.resolve().parent, []).append(path)
        work = sorted(by_dir.items())
        try:
            if self.mode == "none":
                report.packages = [self._write_unverified(d, f, fixed, report) for d, f in work]
            else:
                checkable = [d for d, _ in work if module_root(d) is not None]
                self._parallel(self.baseline, checkable)
                report.packages = self._parallel(
                    lambda item: self._package(item[0], item[1], fixed, rerun, report, kept), work
                )
        except BaseException:
            self._restore(report)
            raise
        report.applied = {p: kept[p] for p in changed if report.final[p] != report.original[p]}
        return report

    def _write(self, report: VerifyReport, path: Path, data: bytes) -> None:
        if report.final[path] == data:
            return
        write_atomic(path, data, report.final[path])
        report.final[path] = data

    def _restore(self, report: VerifyReport) -> None:
        for path, data in report.original.items():
            with contextlib.suppress(WriteRefused, OSError):  # changed by someone else: theirs stays
                self._write(report, path, data)

    def _write_all(self, report: VerifyReport, files: list[Path], data: Mapping[Path, bytes]) -> str:
        """Write the files of one package; on a refusal put the package back. Returns the problem."""
        for path in files:
            try:
                self._write(report, path, data[path])
            except (WriteRefused, OSError) as exc:
                problem = f"{path.name}: {exc}"
                break
        else:
            return ""
        for path in files:
            with contextlib.suppress(WriteRefused, OSError):
                self._write(report, path, report.original[path])
        return problem

    def _write_unverified(
        self, directory: Path, files: list[Path], fixed: Mapping[Path, bytes], report: VerifyReport
    ) -> PackageReport:
        problem = self._write_all(report, files, fixed)
        return PackageReport(directory, tuple(files), "refused" if problem else "unverified", note=problem)

    def _package(
        self,
        directory: Path,
        files: list[Path],
        fixed: Mapping[Path, bytes],
        rerun: Rerun | None,
        report: VerifyReport,
        kept: dict[Path, list[str]],
    ) -> PackageReport:
        transforms = tuple(sorted({t for p in files for t in kept[p]}))
        pkg = PackageReport(directory, tuple(files), "passed", transforms)
        problem = self._write_all(report, files, fixed)
        if problem:
            pkg.outcome, pkg.note = "refused", problem
            return pkg
        if module_root(directory) is None:
            pkg.outcome, pkg.note = "unverified", "no go.mod above it"
            return pkg
        before = self.baseline(directory)
        after = self.check(directory)
        pkg.command = after[0].command
        blamed = newly_failing(before, after)
        if blamed is None:
            failed = next((run for run in after if not run.passed), None)
            if failed is not None:
                pkg.outcome, pkg.command = "preexisting", failed.command
                pkg.note = _baseline_note(before) or "the same failure as on the unchanged tree"
            pkg.times = time_change(before, after)
            return pkg
        pkg.command, pkg.error = blamed.command, describe_failure(blamed, before)
        pkg.note = _timeout_note(blamed, self.timeout)
        self.log(f"{directory}: `{blamed.command}` newly fails; retrying with only safe t.Context() fixes")
        retried, checked = self._retry(directory, files, fixed, rerun, report, kept, before)
        if retried == "repaired":
            pkg.outcome, pkg.times = "repaired", time_change(before, checked)
            pkg.note = "; ".join(
                n for n in (pkg.note, "the retry with only safe t.Context() fixes passes") if n
            )
            return pkg
        for path in files:
            self._write(report, path, report.original[path])
            kept[path] = []
        pkg.outcome = "reverted"
        why = {
            "failed": "the retry with only safe t.Context() fixes failed too",
            "same": "a retry with only safe t.Context() fixes gives the same code",
        }
        notes = [pkg.note, why.get(retried, "")]
        pkg.note = "; ".join(n for n in notes if n)
        return pkg

    def _retry(
        self,
        directory: Path,
        files: list[Path],
        fixed: Mapping[Path, bytes],
        rerun: Rerun | None,
        report: VerifyReport,
        kept: dict[Path, list[str]],
        before: list[GoRun],
    ) -> tuple[str, list[GoRun]]:
        """`repaired`, `failed`, `same` (the retry gives the failed bytes again) or `none`, and the runs
        that checked the retry."""
        if rerun is None:
            return "none", []
        for path in files:
            self._write(report, path, report.original[path])
        results = {Path(r.path): r for r in rerun(list(files))}
        retry = {
            p: r.new
            for p in files
            if (r := results.get(p)) is not None and r.new is not None and r.original == report.original[p]
        }
        if not retry:
            return "none", []  # nothing safe left to apply
        if all(retry.get(p) == fixed[p] for p in files):
            return "same", []
        if self._write_all(report, files, {p: retry.get(p, report.original[p]) for p in files}):
            return "failed", []
        checked = self.check(directory)
        if newly_failing(before, checked) is not None:
            return "failed", checked
        for path in files:
            kept[path] = [f.transform_id for f in results[path].applied] if path in retry else []
        return "repaired", checked


def newly_failing(before: list[GoRun], after: list[GoRun]) -> GoRun | None:
    """The first run of `after` that fails where `before` did not, or fails in a new way."""
    for index, run in enumerate(after):
        if run.passed:
            continue
        base = before[index] if index < len(before) else None
        if base is None or base.status in ("timeout", "error"):
            continue  # nothing known to compare with: not blamed (the report says so)
        if base.passed or run.status != "fail":
            return run
        if run.signature() - base.signature():
            return run
    return None


def describe_failure(run: GoRun, before: list[GoRun], limit: int = 12) -> str:
    if run.status == "timeout":
        return f"hit the time limit after {run.seconds:.0f}s"
    base = next((b for b in before if b.command == run.command), None)
    old = base.signature() if base is not None and not base.passed else frozenset()
    lines = [line.strip() for line in run.output.splitlines() if line.strip()]
    new = [line for line in lines if _ERROR_LINE.match(line) and _normalize(line) not in old]
    shown = new or [line for line in lines if not line.startswith("#")]
    extra = len(shown) - limit
    return "\n".join(shown[:limit]) + (f"\n... and {extra} more lines" if extra > 0 else "")


def _normalize(line: str) -> str:
    return _DURATION.sub("", _POSITION.sub(r"\1", line)).strip()


def _timeout_note(run: GoRun, limit: float) -> str:
    if run.status != "timeout":
        return ""
    return f"hit the {limit:.0f}s time limit per package (raise it with --verify-timeout)"


def _baseline_note(before: list[GoRun]) -> str:
    slow = [run.command for run in before if run.status == "timeout"]
    return f"`{slow[0]}` hit the time limit on the unchanged tree too: not compared" if slow else ""


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def verify_and_repair(
    original: Mapping[Path, bytes],
    fixed: Mapping[Path, bytes],
    mode: str,
    rerun: Rerun | None = None,
    *,
    applied: Mapping[Path, Sequence[str]] | None = None,
    timeout: float | None = None,
    jobs: int | None = None,
    log: Log | None = None,
) -> VerifyReport:
    """Write `fixed` (the disk holds `original`), verify with `go vet`/`go test`, repair or revert."""
    verifier = Verifier(mode, timeout=timeout, jobs=jobs, log=log)
    return verifier.verify_and_repair(original, fixed, rerun, applied)


def verify_results(
    results: Iterable[FileResult],
    mode: str,
    settings: Settings,
    transform_ids: Sequence[str],
    *,
    timeout: float | None = None,
    jobs: int | None = None,
    log: Log | None = None,
) -> VerifyReport:
    """For `codemod apply --verify`: write the changed results, verified, instead of write_atomic."""
    changed = [r for r in results if r.changed and r.new is not None]
    original = {Path(r.path): r.original for r in changed}
    fixed = {Path(r.path): r.new for r in changed if r.new is not None}
    applied = {Path(r.path): [f.transform_id for f in r.applied] for r in changed}
    return verify_and_repair(
        original,
        fixed,
        mode,
        safe_rerun(settings, transform_ids),
        applied=applied,
        timeout=timeout,
        jobs=jobs,
        log=log,
    )
