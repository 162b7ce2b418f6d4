"""The command line: apply, check, list, explain."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from codemod import __version__, review
from codemod.config import ConfigError, Settings, find_config, load_settings, resolved
from codemod.diff import render_diff, unified_diff
from codemod.edits import Finding, Safety
from codemod.engine import FileResult
from codemod.files import WriteRefused, find_targets, missing_targets, target_path, write_atomic
from codemod.gitdiff import GitError, changed_lines
from codemod.gosyntax import parse
from codemod.lsp import lsp
from codemod.migrate import migrate
from codemod.prbody import pr_body
from codemod.project import find_gomod
from codemod.report import (
    UNUSED_IGNORE,
    Reported,
    as_github,
    as_records,
    as_sarif,
    as_statistics,
    as_text,
    left_reason,
)
from codemod.runner import Job, default_jobs, process_bytes, run_files
from codemod.source import BOM, SourceText
from codemod.suppress import Directive, directives, unknown_ids, with_ignores
from codemod.timings_cli import timings
from codemod.transform import all_transforms, select_transforms
from codemod.verify import DEFAULT_TIMEOUT, VerifyError, verify_results


def _ids(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _console(no_color: bool, stderr: bool) -> Console:
    plain = no_color or bool(os.environ.get("NO_COLOR"))  # no-color.org: only a non-empty value counts
    return Console(
        stderr=stderr, no_color=plain, highlight=False, soft_wrap=True, color_system=None if plain else "auto"
    )


def _load(
    paths: tuple[str, ...], config: str | None, select: str | None, ignore: str | None
) -> tuple[Settings, tuple[str, ...]]:
    """Settings from the config file and flags, and the transform ids to run. Usage errors exit 2."""
    try:
        config_path = Path(config) if config else find_config(_first_target(paths))
        if config and not Path(config).is_file():
            raise ConfigError(f"{config}: no such config file")
        settings = load_settings(config_path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    chosen_select = _ids(select) or settings.select
    chosen_ignore = _ids(ignore) or settings.ignore
    try:
        transforms = select_transforms(chosen_select, chosen_ignore)
    except KeyError as exc:
        known = ", ".join(all_transforms())
        raise click.UsageError(f"unknown transform id(s): {exc.args[0]} (known: {known})") from None
    if "all" in chosen_ignore:
        transforms = []
    if not transforms:
        raise click.UsageError(
            f"no transform left to run: select {_shown(chosen_select)}, ignore {_shown(chosen_ignore)}"
        )
    return settings, tuple(t.id for t in transforms)


def _shown(ids: tuple[str, ...]) -> str:
    return ",".join(ids) if ids else "(none)"


def _first_target(paths: tuple[str, ...]) -> Path:
    """The first target as a path (`dir/...` is `dir`), where the config and git are looked up."""
    first = paths[0] if paths else "."
    return resolved(target_path("." if first == "-" else first))


def _discover(paths: tuple[str, ...], settings: Settings, err: Console, stats: Counter[str]) -> list[Path]:
    """The files to visit. A target that does not exist is a usage error (exit 2, nothing done)."""
    found = find_targets(list(paths) or ["."], settings.exclude)
    for message in found.messages:
        err.print(f"codemod: {message}", markup=False)
    if found.missing:
        sys.exit(2)
    stats["problems"] += len(found.unreadable)
    return found.files


def _with_progress(
    err: Console, results: Iterable[FileResult], total: int, verb: str
) -> Iterator[FileResult]:
    """A progress bar on stderr at a terminal (transient: gone when done); nothing when piped."""
    if not sys.stderr.isatty() or err.is_dumb_terminal or total < 2:  # FORCE_COLOR is no terminal
        yield from results
        return
    columns = (
        TextColumn(f"codemod: {verb}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(verb, total=total)
        for result in results:
            yield result
            progress.advance(task)


def _display(path: str) -> str:
    """Paths as the user named them (discovery keeps the target's spelling)."""
    return path.removeprefix("./")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codemod")
def main() -> None:
    """Find the Go test-writing guide's anti-patterns and rewrite them with safe, reviewable edits."""


common_options = [
    click.argument("paths", nargs=-1),
    click.option("--select", help="Comma-separated transform ids to run (default: all)."),
    click.option("--ignore", help="Comma-separated transform ids to skip."),
    click.option("--config", type=click.Path(dir_okay=False), help="Path to a .codemod.toml."),
    click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=None,
        help="Parallel workers (default: all cores).",
    ),
    click.option("--no-color", is_flag=True, help="Plain output (NO_COLOR is honoured too)."),
]


def _with_common(func: Any) -> Any:
    for option in reversed(common_options):
        func = option(func)
    return func


@main.command()
@_with_common
@click.option("--dry-run", "--diff", "dry_run", is_flag=True, help="Write nothing; print a unified diff.")
@click.option("--unsafe", is_flag=True, help="Also apply fixes marked unsafe.")
@click.option("--format", "fmt", type=click.Choice(["diff", "json"]), default="diff", show_default=True)
@click.option("--interactive", is_flag=True, help="Offer each fix, safe or unsafe, like `git add -p`.")
@click.option(
    "--verify",
    type=click.Choice(["none", "vet", "test"]),
    default="none",
    show_default=True,
    help="Run go vet (test: and go test -short) on changed packages; repair or revert what newly fails.",
)
@click.option(
    "--verify-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds per package.",
)
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr: only findings, diffs and errors.")
@click.option(
    "--stdin-filename",
    metavar="PATH",
    help="With `-` as the target: fix the source on stdin as this file; the result goes to stdout.",
)
def apply(
    paths: tuple[str, ...],
    select: str | None,
    ignore: str | None,
    config: str | None,
    jobs: int | None,
    no_color: bool,
    dry_run: bool,
    unsafe: bool,
    fmt: str,
    interactive: bool,
    verify: str,
    verify_timeout: float,
    quiet: bool,
    stdin_filename: str | None,
) -> None:
    """Fix the files under PATHS (default: .; Go-style ./... works too)."""
    stdin = _stdin_target(paths, stdin_filename)
    settings, ids = _load((stdin,) if stdin else paths, config, select, ignore)
    if stdin is not None:
        if interactive or verify != "none" or fmt != "diff" or dry_run:
            raise click.UsageError("with stdin, apply prints the fixed source: no other mode applies")
        result = _from_stdin(stdin, settings, ids, allow_unsafe=unsafe or settings.unsafe, analyse_only=False)
        sys.stdout.buffer.write(result.new if result.new is not None else result.original)
        sys.stdout.flush()
        stats: Counter[str] = Counter()
        _report_skip(_console(no_color, stderr=True), result, stats)
        sys.exit(2 if stats["problems"] else 0)
    if interactive:
        if verify != "none":
            raise click.UsageError(
                f"--interactive cannot be combined with --verify {verify}: review first, then run "
                f"`codemod apply --verify {verify}` or `go vet` on what you accepted"
            )
        problem = review.usage_problem(dry_run, fmt)
        if problem:
            raise click.UsageError(problem)
        out, err = _console(no_color, stderr=False), _console(no_color, stderr=True)
        missing = missing_targets(list(paths) or ["."])
        for message in missing:
            err.print(f"codemod: {message}", markup=False)
        if missing:
            sys.exit(2)
        sys.exit(review.run(list(paths) or ["."], settings, ids, out, err))
    allow_unsafe = unsafe or settings.unsafe
    err = _console(no_color, stderr=True)
    out = _console(no_color, stderr=False)
    stats = Counter()
    files = _discover(paths, settings, err, stats)
    verifying = verify != "none" and not dry_run
    to_verify: list[FileResult] = []
    outcomes: list[tuple[FileResult, bool | None]] = []  # each result; did its fixes reach the disk?
    kept: set[Path] = set()  # --verify: the files whose fixes were kept
    written: list[str] = []
    try:
        results = run_files(files, settings, ids, allow_unsafe, jobs or default_jobs())
        for result in _with_progress(err, results, len(files), "fixing"):
            _report_skip(err, result, stats)
            stats["files"] += 1
            if not result.changed:
                _count(result, stats)
                outcomes.append((result, False))
                continue
            assert result.new is not None
            if fmt == "diff" and dry_run:
                render_diff(out, unified_diff(_display(result.path), result.original, result.new))
            if verifying:
                to_verify.append(result)  # written by the verifier, package by package
                outcomes.append((result, None))
                continue
            if not dry_run:
                try:
                    with _deferred_interrupt():  # a Ctrl-C lands after the file is written and counted
                        write_atomic(Path(result.path), result.new, result.original)
                        written.append(_display(result.path))
                except (WriteRefused, OSError) as exc:
                    err.print(f"codemod: {_display(result.path)}: {exc}", markup=False)
                    stats["refused"] += 1
                    outcomes.append((result, False))
                    continue
            stats["changed"] += 1
            _count(result, stats)
            outcomes.append((result, not dry_run))
        if verifying:
            kept = _verify(err, to_verify, verify, verify_timeout, settings, ids, jobs, stats)
    except KeyboardInterrupt:
        sys.stdout.flush()
        _interrupted(err, written, verifying)
        sys.exit(130)
    if fmt == "json":
        records = [
            record
            for result, on_disk in outcomes
            for record in _fix_records(result, Path(result.path) in kept if on_disk is None else on_disk)
        ]
        click.echo(json.dumps(records, indent=2))
    sys.stdout.flush()
    if not quiet:
        _go_version_notes(err, files, ids)
        _summary(err, stats, dry_run, allow_unsafe)
    if stats["refused"]:
        sys.exit(1)  # fixes were found that could not be written


@contextmanager
def _deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C back while the body runs; KeyboardInterrupt is raised once the body is done."""
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _interrupted(err: Console, written: list[str], verifying: bool) -> None:
    """Ctrl-C: every write is atomic, so say which files hold fixes and that no file is half-written."""
    if verifying:
        err.print(
            "codemod: interrupted during --verify; files already verified keep their fixes", markup=False
        )
    elif written:
        shown = ", ".join(written[:10]) + (f" and {len(written) - 10} more" if len(written) > 10 else "")
        err.print(f"codemod: interrupted; {plural(len(written), 'file')} written: {shown}", markup=False)
    else:
        err.print("codemod: interrupted; nothing was written", markup=False)
    err.print("codemod: no file was left half-written; run the command again to finish", markup=False)


def _verify(
    err: Console,
    results: list[FileResult],
    mode: str,
    timeout: float,
    settings: Settings,
    ids: tuple[str, ...],
    jobs: int | None,
    stats: Counter[str],
) -> set[Path]:
    """Verify and write; the paths whose fixes were kept."""
    try:
        report = verify_results(results, mode, settings, ids, timeout=timeout, jobs=jobs or default_jobs())
    except VerifyError as exc:  # no `go`: raised before anything is written
        raise click.UsageError(str(exc)) from None
    for line in report.lines(Path.cwd()):
        err.print(f"codemod: {line}", markup=False)
    stats["changed"] = len(report.changed)
    stats["applied"] = sum(report.counts().values())
    return set(report.changed)


def _count(result: FileResult, stats: Counter[str]) -> None:
    if result.changed:
        stats["applied"] += len(result.applied)
        stats["unsafe_applied"] += sum(1 for f in result.applied if f.fix and f.fix.safety is Safety.UNSAFE)
    applied = {id(f) for f in result.applied}
    for finding in result.findings:
        if finding.fix is None:
            stats["manual"] += 1
            stats[f"left:{finding.transform_id}: {left_reason(finding)}"] += 1
        elif finding.fix.safety is Safety.UNSAFE and id(finding) not in applied:
            stats["unsafe_left"] += 1
    stats["dropped"] += len(result.dropped)


def _report_skip(err: Console, result: FileResult, stats: Counter[str]) -> None:
    for where in result.unparsed:
        line_col, _, what = where.partition(": ")
        err.print(
            f"codemod: {_display(result.path)}:{line_col}: syntax error: {what} not examined "
            "(no fixes there; findings may be missing)",
            markup=False,
        )
    if result.unparsed:
        stats["unparsed"] += 1
    if result.skipped is None:
        return
    if result.problem:
        err.print(f"codemod: {_display(result.path)}: skipped: {result.skipped}", markup=False)
        stats["problems"] += 1
    else:
        stats["generated"] += 1


def plural(count: int, noun: str) -> str:
    """`1 file`, `2 files`, `1 fix`, `0 fixes`."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun}es" if noun.endswith(("x", "s", "sh", "ch")) else f"{count} {noun}s"


def _summary(err: Console, stats: Counter[str], dry_run: bool, allow_unsafe: bool) -> None:
    verb = "would change" if dry_run else "changed"
    parts = [
        f"{plural(stats['files'], 'file')} scanned",
        f"{verb} {plural(stats['changed'], 'file')}",
        plural(stats["applied"], "fix"),
    ]
    if stats["unsafe_left"] and not allow_unsafe:
        parts.append(f"{plural(stats['unsafe_left'], 'unsafe fix')} not applied (use --unsafe)")
    if stats["manual"]:
        needs = "needs" if stats["manual"] == 1 else "need"
        parts.append(f"{plural(stats['manual'], 'finding')} {needs} a human (codemod check)")
    if stats["dropped"]:
        parts.append(f"{plural(stats['dropped'], 'fix')} dropped by the safety guards")
    if stats["generated"]:
        parts.append(f"{plural(stats['generated'], 'generated file')} skipped")
    if stats["problems"]:
        parts.append(f"{plural(stats['problems'], 'file')} could not be processed")
    if stats["unparsed"]:
        parts.append(f"{plural(stats['unparsed'], 'file')} with syntax errors only partly examined")
    if stats["refused"]:
        parts.append(f"{plural(stats['refused'], 'file')} not written")
    err.print("codemod: " + ", ".join(parts), markup=False)
    left = sorted(
        ((n, key[5:]) for key, n in stats.items() if key.startswith("left:")), key=lambda r: (-r[0], r[1])
    )
    for n, reason in left[:_LEFT_SHOWN]:
        err.print(f"codemod:   left {n}: {reason}", markup=False)
    if len(left) > _LEFT_SHOWN:
        err.print(
            f"codemod:   ... and {len(left) - _LEFT_SHOWN} more reasons (codemod check --statistics)",
            markup=False,
        )


_LEFT_SHOWN = 8  # the most common reasons a site was left, under apply's summary


def _fix_records(result: FileResult, on_disk: bool) -> list[dict[str, Any]]:
    """One record per fix; `applied` only when the fix is in the file now (never under --dry-run)."""
    applied = {id(f) for f in result.applied} if result.changed and on_disk else set()
    records = []
    for finding in result.findings:
        if finding.fix is None:
            continue
        fix = finding.fix
        records.append(
            {
                "path": _display(result.path),
                "line": finding.line,
                "column": finding.column,
                "transform": finding.transform_id,
                "message": finding.message,
                "safety": fix.safety.value,
                "reason": fix.reason,
                "replacement": fix.edits[0].text if len(fix.edits) == 1 else [e.text for e in fix.edits],
                "applied": id(finding) in applied,
            }
        )
    return records


@main.command()
@_with_common
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    show_default=True,
)
@click.option(
    "--report-unused-ignores", is_flag=True, help="Also report //codemod:ignore comments that match nothing."
)
@click.option("--new-from-rev", metavar="REV", help="Only report findings on lines changed since REV (git).")
@click.option(
    "--no-cache", is_flag=True, help="Analyse every file again (default: reuse results of unchanged files)."
)
@click.option("--statistics", is_flag=True, help="Print a count per transform instead of each finding.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings (errors still exit 2).")
@click.option("--fix", is_flag=True, help="Write the safe fixes first, then report what is left.")
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr: only findings, diffs and errors.")
@click.option(
    "--stdin-filename",
    metavar="PATH",
    help="With `-` as the target: the source comes from stdin and is judged as this file.",
)
@click.option(
    "--diff", "show_diff", is_flag=True, help="Print the safe fixes as a diff, write nothing; exit 1 if any."
)
def check(
    paths: tuple[str, ...],
    select: str | None,
    ignore: str | None,
    config: str | None,
    jobs: int | None,
    no_color: bool,
    fmt: str,
    report_unused_ignores: bool,
    new_from_rev: str | None,
    no_cache: bool,
    statistics: bool,
    exit_zero: bool,
    fix: bool,
    quiet: bool,
    stdin_filename: str | None,
    show_diff: bool,
) -> None:
    """Report what is left, without changing files. Exit 1 on findings, 0 when clean, 2 on errors."""
    if statistics and fmt not in ("text", "json"):
        raise click.UsageError(f"--statistics prints text or json, not {fmt}")
    if fix and show_diff:
        raise click.UsageError("--fix writes the fixes and --diff only shows them: choose one")
    stdin = _stdin_target(paths, stdin_filename)
    settings, ids = _load((stdin,) if stdin else paths, config, select, ignore)
    err = _console(no_color, stderr=True)
    stats: Counter[str] = Counter()
    if stdin is not None:
        if fix or show_diff:
            raise click.UsageError("--fix and --diff need files; with stdin use `codemod apply -`")
        result = _from_stdin(stdin, settings, ids, allow_unsafe=False, analyse_only=True)
        _report_skip(err, result, stats)
        from_stdin = [Reported(stdin, f) for f in result.findings]
        click.echo(
            json.dumps(as_records(from_stdin), indent=2) if fmt == "json" else as_text(from_stdin),
            nl=fmt == "json",
        )
        err.print(f"codemod: {_check_summary(from_stdin, 1, stats)}", markup=False)
        sys.exit(2 if stats["problems"] else 1 if from_stdin and not exit_zero else 0)
    files = _discover(paths, settings, err, stats)
    if fix or show_diff:
        changed_files = _safe_fixes(files, settings, ids, jobs, err, stats, write=fix, no_color=no_color)
        if show_diff:
            noun = "file" if changed_files == 1 else "files"
            err.print(f"codemod: safe fixes would change {changed_files} {noun}", markup=False)
            sys.exit(2 if stats["problems"] else 1 if changed_files else 0)
    changed = None
    if new_from_rev:
        start = _first_target(paths)  # git runs in the target's folder (a file target: its parent)
        try:
            changed = changed_lines(new_from_rev, start if start.is_dir() else start.parent)
        except GitError as exc:
            raise click.UsageError(f"--new-from-rev {new_from_rev}: {exc}") from None
    reported: list[Reported] = []
    results = run_files(
        files,
        settings,
        ids,
        False,
        jobs or default_jobs(),
        use_cache=not (no_cache or fix),
        analyse_only=True,
    )
    for result in _with_progress(err, results, len(files), "checking"):
        _report_skip(err, result, stats)
        found = list(result.findings)
        if report_unused_ignores:
            found += _ignore_findings(result)
        if changed is not None:
            lines = changed.get(Path(result.path).resolve(), set())
            found = [f for f in found if lines is None or f.line in lines]
        reported.extend(Reported(_display(result.path), f) for f in found)
    if statistics:
        _print_statistics(reported, fmt)
    elif fmt == "json":
        click.echo(json.dumps(as_records(reported), indent=2))
    elif fmt == "sarif":
        click.echo(json.dumps(as_sarif(reported, ids), indent=2))
    elif fmt == "github":
        click.echo(as_github(reported), nl=False)
    else:
        click.echo(as_text(reported), nl=False)
    sys.stdout.flush()
    if not quiet:
        _go_version_notes(err, files, ids)
        err.print(f"codemod: {_check_summary(reported, len(files), stats)}", markup=False)
    sys.exit(2 if stats["problems"] or stats["unparsed"] else 1 if reported and not exit_zero else 0)


def _stdin_target(paths: tuple[str, ...], stdin_filename: str | None) -> str | None:
    """The file name stdin stands for when the only target is `-` (ruff's --stdin-filename)."""
    if paths != ("-",):
        if stdin_filename:
            raise click.UsageError("--stdin-filename goes with `-` as the only target")
        return None
    if not stdin_filename:
        raise click.UsageError(
            "`-` reads the source from stdin: name the file it stands for with --stdin-filename"
        )
    return stdin_filename


def _from_stdin(
    filename: str, settings: Settings, ids: tuple[str, ...], allow_unsafe: bool, analyse_only: bool
) -> FileResult:
    raw = sys.stdin.buffer.read()
    job = Job(str(Path(filename)), settings, ids, allow_unsafe, analyse_only=analyse_only)
    return process_bytes(job, raw)


def _safe_fixes(
    files: list[Path],
    settings: Settings,
    ids: tuple[str, ...],
    jobs: int | None,
    err: Console,
    stats: Counter[str],
    write: bool,
    no_color: bool,
) -> int:
    """`check --fix` / `--diff`: the safe fixes, written (atomically) or shown; the files they change."""
    out = _console(no_color, stderr=False)
    changed = 0
    fixes = 0
    results = run_files(files, settings, ids, False, jobs or default_jobs())
    for result in _with_progress(err, results, len(files), "fixing"):
        if not result.changed:
            continue
        assert result.new is not None
        if not write:
            render_diff(out, unified_diff(_display(result.path), result.original, result.new))
        else:
            if not _written(err, result, result.new, stats):
                continue
        changed += 1
        fixes += len(result.applied)
    if write:
        err.print(f"codemod: fixed {plural(fixes, 'fix')} in {plural(changed, 'file')}", markup=False)
    return changed


def _written(err: Console, result: FileResult, new: bytes, stats: Counter[str]) -> bool:
    """Write `new` over the file atomically; a refused write is named and counted as a problem."""
    try:
        write_atomic(Path(result.path), new, result.original)
    except (WriteRefused, OSError) as exc:
        err.print(f"codemod: {_display(result.path)}: {exc}", markup=False)
        stats["problems"] += 1
        return False
    return True


def _print_statistics(reported: list[Reported], fmt: str) -> None:
    """One row per transform with findings, most first (ruff's --statistics)."""
    rows = as_statistics(reported)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        fixable = f"  [{row['fixable']} fixable]" if row["fixable"] else ""
        click.echo(f"{row['count']:>6}  {row['transform']:<24}{fixable}".rstrip())
        for reason, n in row["left"].items():
            click.echo(f"{n:>14}  left: {reason}")


def _check_summary(reported: list[Reported], checked: int, stats: Counter[str]) -> str:
    """`3 findings in 2 files (5 files checked)`: the files counted are the ones with findings."""
    with_findings = len({r.path for r in reported})
    found = plural(len(reported), "finding")
    summary = f"{found} in {plural(with_findings, 'file')}" if reported else found
    parts = [f"{summary} ({plural(checked, 'file')} checked)"]
    if stats["problems"]:
        parts.append(f"{plural(stats['problems'], 'file')} could not be processed")
    if stats["unparsed"]:
        parts.append(f"{plural(stats['unparsed'], 'file')} with syntax errors only partly examined")
    return ", ".join(parts)


def _go_version_notes(err: Console, files: list[Path], ids: tuple[str, ...]) -> None:
    """test-context fixes nothing in a module older than Go 1.24: say so, once per module."""
    if "test-context" not in ids:
        return
    old: Counter[tuple[str, str]] = Counter()
    for file in files:
        gomod = find_gomod(str(resolved(file).parent))
        if gomod is not None and gomod.go_version is not None and gomod.go_version < (1, 24):
            old[(gomod.root, "go {}.{}".format(*gomod.go_version))] += 1
    for (root, said), count in sorted(old.items()):
        where = _relative(Path(root) / "go.mod")
        err.print(
            f"codemod: test-context: t.Context() needs Go >= 1.24 and {where} says {said} "
            f"({plural(count, 'file')}): raise the go line to get fixes",
            markup=False,
        )


def _relative(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _ignore_findings(result: FileResult) -> list[Finding]:
    """`//codemod:ignore` comments that silence nothing, or name an id no transform has (ruff's RUF100)."""
    reported = []
    unused = set(result.unused_ignores)
    for directive in directives(result.original.removeprefix(BOM)):
        problem = unknown_ids(directive, all_transforms())
        if problem:
            finding = Finding(UNUSED_IGNORE, 0, 0, f"//codemod:ignore {problem}")
            reported.append(replace(finding, line=directive.line, column=directive.column))
        elif directive in unused:
            reported.append(_unused_ignore(directive))
            unused.discard(directive)
    return reported + [_unused_ignore(d) for d in unused if unknown_ids(d, all_transforms()) is None]


def _unused_ignore(directive: Directive) -> Finding:
    ids = ", ".join(sorted(directive.ids))
    finding = Finding(UNUSED_IGNORE, 0, 0, f"//codemod:ignore {ids} silences nothing here: remove it")
    return replace(finding, line=directive.line, column=directive.column)


@main.command(name="add-ignore")
@_with_common
def add_ignore(
    paths: tuple[str, ...],
    select: str | None,
    ignore: str | None,
    config: str | None,
    jobs: int | None,
    no_color: bool,
) -> None:
    """Silence today's findings with ignore comments, to adopt the tool without fixing the past
    (ruff's --add-noqa). Exit 0 when done, 1 if a comment could not be placed, 2 on errors."""
    settings, ids = _load(paths, config, select, ignore)
    err = _console(no_color, stderr=True)
    stats: Counter[str] = Counter()
    files = _discover(paths, settings, err, stats)
    added = changed = 0
    results = run_files(files, settings, ids, False, jobs or default_jobs(), analyse_only=True)
    for result in _with_progress(err, results, len(files), "checking"):
        _report_skip(err, result, stats)
        if not result.findings:
            continue
        source = SourceText.from_raw(result.original)
        body, refused = with_ignores(source.body, parse(source.body), result.findings)
        for finding in refused:
            err.print(
                f"codemod: {_display(result.path)}:{finding.line}:{finding.column}: no ignore comment "
                "fits above a line that starts inside a multi-line string",
                markup=False,
            )
            stats["refused"] += 1
        if body == source.body:
            continue
        if not _written(err, result, source.restore(body), stats):
            continue
        changed += 1
        added += len(result.findings) - len(refused)
    err.print(f"codemod: silenced {plural(added, 'finding')} in {plural(changed, 'file')}", markup=False)
    sys.exit(2 if stats["problems"] or stats["unparsed"] else 1 if stats["refused"] else 0)


@main.command(name="list")
def list_transforms() -> None:
    """List the transforms with one-line summaries."""
    for transform_id, cls in all_transforms().items():
        click.echo(f"{transform_id:24} {cls.summary}")


@main.command()
@click.argument("transform_id")
def explain(transform_id: str) -> None:
    """Print a transform's documentation: What it does / Why / Example / Fix safety."""
    transforms = all_transforms()
    if transform_id not in transforms:
        raise click.UsageError(f"unknown transform id: {transform_id} (known: {', '.join(transforms)})")
    cls = transforms[transform_id]
    click.echo(f"{transform_id}: {cls.summary}\n\n{cls.doc()}")


main.add_command(migrate)
main.add_command(timings)
main.add_command(lsp)
main.add_command(pr_body)
