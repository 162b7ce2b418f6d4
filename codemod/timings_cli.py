"""`codemod timings`: how long each test takes, against the guide's "Fast Testing" limits."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from codemod.config import ConfigError, Settings, find_config, load_settings
from codemod.project import find_gomod
from codemod.timings import (
    FAILED,
    FLAGGED,
    FLAKY,
    INTEGRATION,
    LIMITS,
    OK,
    OVER_TARGET,
    SKIPPED,
    SLOW,
    UNIT,
    VERDICTS,
    Collector,
    GoTestError,
    RunOptions,
    StreamError,
    TestTiming,
    assign_kinds,
    counts,
    exit_code,
    go_test_lines,
    human,
    list_packages,
)

STYLES = {SLOW: "bold red", FLAKY: "bold magenta", FAILED: "red", OVER_TARGET: "yellow", OK: "green"}
STYLES[SKIPPED] = "dim"


class _Failure(Exception):
    """Stop with one line on stderr and exit 2."""


@click.command()
@click.argument("packages", nargs=-1)
@click.option("--from", "source", metavar="FILE", help="Read a saved `go test -json` stream (`-`: stdin).")
@click.option("-short", "--short", "short", is_flag=True, help="Passed to go test.")
@click.option("-run", "--run", "run", metavar="REGEXP", help="Passed to go test.")
@click.option("-count", "--count", "count", type=click.IntRange(min=1), help="Passed to go test.")
@click.option("-race", "--race", "race", is_flag=True, help="Passed to go test.")
@click.option("-timeout", "--timeout", "timeout", metavar="DURATION", help="Passed to go test.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="Also write a report page here.")
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Table rows: the slowest N, plus every slow, flaky or failed test (0: all).",
)
@click.option("--config", type=click.Path(dir_okay=False), help="Path to a .codemod.toml.")
@click.option("--no-color", is_flag=True, help="Plain output (NO_COLOR is honoured too).")
def timings(
    packages: tuple[str, ...],
    source: str | None,
    short: bool,
    run: str | None,
    count: int | None,
    race: bool,
    timeout: str | None,
    fmt: str,
    html_path: str | None,
    top: int,
    config: str | None,
    no_color: bool,
) -> None:
    """Run `go test -json` on PACKAGES (default ./...) or read a saved stream, and judge every test's
    time against the guide: unit tests target < 100 ms (acceptable < 1 s), integration tests < 5 s
    (< 10 s). Integration: under an end-to-end folder, or the test skips itself under -short.

    Exit 1 when a test is slow or flaky, 2 when the tests could not be timed.
    """
    plain = no_color or bool(os.environ.get("NO_COLOR"))
    err = Console(stderr=True, no_color=plain, highlight=False, soft_wrap=True)
    try:
        settings = _settings(config)
        options = RunOptions(short, run, count, race, timeout)
        if source is not None and (packages or options.flags()):
            raise _Failure("--from reads a saved stream: it takes no PACKAGES or go test flags")
        collector = _collect(source, list(packages) or ["./..."], options, err)
        if not collector.packages:
            raise _Failure("no go test -json events: nothing to time")
        results = collector.results()
        assign_kinds(results, settings, Path.cwd())
        name = _namer(results)
        for message in _package_problems(collector):
            err.print(f"codemod: {message}", markup=False)
        if html_path:
            _write_html(Path(html_path), results, name)
    except _Failure as exc:
        err.print(f"codemod: {exc}", markup=False)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps([t.record() for t in results], indent=2))
    else:
        out = Console(no_color=plain, highlight=False)
        table, summary = _table(results, top, name), _summary(results, len(collector.packages))
        if out.is_terminal:
            out.print(table)
            out.print(summary, markup=False, soft_wrap=True)
        else:  # piped: whole lines, as wide as the table needs, no trailing blanks
            with out.capture() as captured:
                out.width = 1000
                out.print(table)
            click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))
            click.echo(summary)
    sys.exit(exit_code(results))


def _settings(config: str | None) -> Settings:
    try:
        if config and not Path(config).is_file():
            raise ConfigError(f"{config}: no such config file")
        return load_settings(Path(config) if config else find_config(Path.cwd()))
    except ConfigError as exc:
        raise _Failure(str(exc)) from None


def _collect(source: str | None, packages: list[str], options: RunOptions, err: Console) -> Collector:
    collector = Collector()
    try:
        if source is not None:
            _read(collector, _open(source))
            return collector
        go = shutil.which("go")
        if go is None:
            raise _Failure("`go` is not on PATH: cannot run the tests (or read a saved stream with --from)")
        lines = go_test_lines(go, packages, options, Path.cwd())
        if sys.stderr.isatty() and not err.is_dumb_terminal:
            lines = _with_progress(err, lines, collector, list_packages(go, packages, Path.cwd()))
        _read(collector, lines)
    except (StreamError, GoTestError) as exc:
        raise _Failure(str(exc)) from None
    return collector


def _open(source: str) -> Iterable[str]:
    if source == "-":
        return sys.stdin
    try:
        return _lines_of(Path(source).open(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise _Failure(f"{source}: cannot read: {exc.strerror or exc}") from None


def _lines_of(handle: IO[str]) -> Iterator[str]:
    with handle:
        yield from handle


def _read(collector: Collector, lines: Iterable[str]) -> None:
    for number, line in enumerate(lines, 1):
        collector.feed_line(line, number)


def _with_progress(
    err: Console, lines: Iterable[str], collector: Collector, expected: list[str]
) -> Iterator[str]:
    """A transient bar on stderr: packages finished out of those `go list` named, tests seen."""
    columns = (
        TextColumn("codemod: go test"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("packages, {task.fields[tests]} tests"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("go test", total=len(expected) or None, tests=0)
        for line in lines:
            yield line
            finished = sum(1 for p in collector.packages.values() if p.outcome or p.build_failed)
            progress.update(task, completed=finished, tests=len(collector.tests))


def _package_problems(collector: Collector) -> Iterator[str]:
    with_failed_test = {t.package for t in collector.tests.values() if "fail" in t.outcomes}
    for package, pkg in sorted(collector.packages.items()):
        if pkg.build_failed:
            yield f"{package}: build failed, no timings"
        elif pkg.outcome == "fail" and package not in with_failed_test:
            said = next((line.strip() for line in pkg.output if line.strip()), "")
            yield f"{package}: failed outside any test" + (f": {said}" if said else "")


def _namer(results: list[TestTiming]) -> Callable[[str], str]:
    """Import paths inside the current module lose the module prefix, for display."""
    gomod = find_gomod(str(Path.cwd().resolve()))
    prefix = gomod.module + "/" if gomod else None

    def name(package: str) -> str:
        return package[len(prefix) :] if prefix and package.startswith(prefix) else package

    return name


def _table(results: list[TestTiming], top: int, name: Callable[[str], str]) -> Table:
    shown = results if top == 0 else results[:top]
    shown += [t for t in results[len(shown) :] if t.verdict in (*FLAGGED, FAILED)]
    several = any(len(t.seconds) > 1 for t in results)
    table = Table(box=None, header_style="bold", pad_edge=False, caption_justify="left")
    table.add_column("verdict")
    table.add_column("kind")
    table.add_column("slowest", justify="right")
    if several:
        table.add_column("runs")
    table.add_column("limit", justify="right")
    table.add_column("package")
    table.add_column("test", overflow="fold", ratio=1)
    for timing in shown:
        cells = [
            f"[{STYLES[timing.verdict]}]{timing.verdict}[/]",
            timing.kind,
            human(timing.slowest),
        ]
        if several:
            cells.append(", ".join(_run(s, o) for s, o in zip(timing.seconds, timing.outcomes, strict=True)))
        cells += [human(timing.limits.acceptable), name(timing.package), timing.test]
        table.add_row(*cells)
    hidden = len(results) - len(shown)
    if hidden:
        table.caption = f"… and {hidden} faster tests, none slow, flaky or failed (--top 0 shows all)"
    return table


def _run(seconds: float, outcome: str) -> str:
    return human(seconds).removesuffix(" s") + ("" if outcome == "pass" else f" {outcome}")


def _summary(results: list[TestTiming], packages: int) -> str:
    found = counts(results)
    parts = ", ".join(f"{found[v]} {v}" for v in VERDICTS if found[v])
    unit, integration = LIMITS[UNIT], LIMITS[INTEGRATION]
    return (
        f"{len(results)} tests in {packages} packages: {parts or 'none'}. "
        f"Limits (target/acceptable): unit {human(unit.target)}/{human(unit.acceptable)}, "
        f"integration {human(integration.target)}/{human(integration.acceptable)}."
    )


def _write_html(path: Path, results: list[TestTiming], name: Callable[[str], str]) -> None:
    from codemod.timings_html import render  # late: matplotlib is imported only for the page

    page = render(results, "codemod timings: test durations", name)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise _Failure(f"{path}: cannot write: {exc.strerror or exc}") from None
