"""Test durations from a `go test -json` stream, judged against the guide's "Fast Testing" limits.

Every test (subtests included) gets a kind, `unit` or `integration` (under an end-to-end folder of
`Settings.end_to_end_folders`, or a test that skips itself under `-short`), and a verdict: `ok`,
`over target`, `slow` (over the acceptable limit), `flaky` (passed and failed across `-count` runs),
`failed` or `skipped`. A test run several times is judged by its slowest run.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tree_sitter import Node

from codemod import gosyntax
from codemod.config import Settings
from codemod.imports import ImportTable
from codemod.project import find_gomod

UNIT, INTEGRATION = "unit", "integration"
OK, OVER_TARGET, SLOW, FLAKY, FAILED, SKIPPED = "ok", "over target", "slow", "flaky", "failed", "skipped"
VERDICTS = (SLOW, FLAKY, FAILED, OVER_TARGET, OK, SKIPPED)  # worst first
FLAGGED = frozenset({SLOW, FLAKY})  # these make `codemod timings` exit 1


@dataclass(frozen=True)
class Limits:
    target: float  # seconds
    acceptable: float


# The guide, "Test Performance Guidelines": unit < 100 ms (acceptable < 1 s), integration < 5 s (< 10 s).
LIMITS = {UNIT: Limits(0.1, 1.0), INTEGRATION: Limits(5.0, 10.0)}


class StreamError(Exception):
    """The stream is not `go test -json` output; the message is one line."""


@dataclass
class TestTiming:
    package: str
    test: str  # `TestX` or `TestX/sub`
    outcomes: list[str] = field(default_factory=list)  # pass | fail | skip, one per run
    seconds: list[float] = field(default_factory=list)  # one per run
    kind: str = UNIT

    @property
    def slowest(self) -> float:
        return max(self.seconds, default=0.0)

    @property
    def limits(self) -> Limits:
        return LIMITS[self.kind]

    @property
    def verdict(self) -> str:
        passed, failed = "pass" in self.outcomes, "fail" in self.outcomes
        if passed and failed:
            return FLAKY
        if failed:
            return FAILED
        if not passed:
            return SKIPPED
        if self.slowest >= self.limits.acceptable:
            return SLOW
        if self.slowest >= self.limits.target:
            return OVER_TARGET
        return OK

    def record(self) -> dict[str, object]:
        return {
            "package": self.package,
            "test": self.test,
            "kind": self.kind,
            "seconds": [round(s, 3) for s in self.seconds],
            "outcomes": list(self.outcomes),
            "verdict": self.verdict,
        }


@dataclass
class PackageTiming:
    package: str
    outcome: str = ""  # pass | fail | skip; "" while it runs
    seconds: float = 0.0  # the test binary's run time, summed over runs of the stream
    build_failed: bool = False
    output: list[str] = field(default_factory=list)  # lines printed outside any test


@dataclass
class Collector:
    """Folds `go test -json` events into timings per test and per package."""

    tests: dict[tuple[str, str], TestTiming] = field(default_factory=dict)
    packages: dict[str, PackageTiming] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)  # the output as `go test` without -json prints it
    _running: dict[tuple[str, str], datetime | None] = field(default_factory=dict)

    def feed_line(self, line: str, number: int = 0) -> dict[str, object] | None:
        """One line of the stream; StreamError when it is not a test2json event."""
        stripped = line.strip()
        if not stripped:
            return None
        try:
            event = json.loads(stripped)
        except json.JSONDecodeError:
            where = f"line {number}: " if number else ""
            raise StreamError(f"{where}not go test -json output: {_clip(stripped)}") from None
        if not isinstance(event, dict) or not isinstance(event.get("Action"), str):
            raise StreamError(f"line {number}: not a go test -json event: {_clip(stripped)}")
        self.feed(event)
        return event

    def feed(self, event: dict[str, object]) -> None:
        action = str(event["Action"])
        if action.startswith("build-"):  # Go >= 1.24 puts build errors in the stream
            self._build_event(action, event)
            return
        package = str(event.get("Package") or "")
        if not package:
            return
        pkg = self.packages.setdefault(package, PackageTiming(package))
        test = event.get("Test")
        if action == "output":
            output = str(event.get("Output") or "")
            self.text.append(output)
            if not test:
                pkg.output.append(output)
            return
        if not isinstance(test, str) or not test:
            self._package_event(pkg, action, event)
            return
        key = (package, test)
        if action == "run":
            self._running[key] = _time(event)
            self.tests.setdefault(key, TestTiming(package, test))
        elif action in ("pass", "fail", "skip"):
            self._running.pop(key, None)
            timing = self.tests.setdefault(key, TestTiming(package, test))
            timing.outcomes.append(action)
            timing.seconds.append(_float(event.get("Elapsed")))

    def _build_event(self, action: str, event: dict[str, object]) -> None:
        if action == "build-output":
            self.text.append(str(event.get("Output") or ""))
        elif action == "build-fail":
            path = str(event.get("ImportPath") or "").split(" ")[0]
            if path:
                self.packages.setdefault(path, PackageTiming(path)).build_failed = True

    def _package_event(self, pkg: PackageTiming, action: str, event: dict[str, object]) -> None:
        if action not in ("pass", "fail", "skip"):
            return
        pkg.outcome = "fail" if "fail" in (pkg.outcome, action) else action
        pkg.seconds += _float(event.get("Elapsed"))
        if event.get("FailedBuild"):
            pkg.build_failed = True
        # A test still running when its binary ended (a panic, -timeout) did not pass.
        end = _time(event)
        for key in [k for k in self._running if k[0] == pkg.package]:
            started = self._running.pop(key)
            timing = self.tests[key]
            timing.outcomes.append("fail")
            timing.seconds.append((end - started).total_seconds() if end and started else 0.0)

    def results(self) -> list[TestTiming]:
        """Slowest first; ties by package and name."""
        return sorted(self.tests.values(), key=lambda t: (-t.slowest, t.package, t.test))

    def output(self) -> str:
        return "".join(self.text)


def read_stream(lines: Iterable[str], collector: Collector | None = None) -> Collector:
    collector = collector or Collector()
    for number, line in enumerate(lines, 1):
        collector.feed_line(line, number)
    return collector


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _time(event: dict[str, object]) -> datetime | None:
    value = event.get("Time")
    if not isinstance(value, str):
        return None
    try:  # Go writes nanoseconds; Python reads at most microseconds
        return datetime.fromisoformat(_FRACTION.sub(r"\1", value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- kinds -----------------------------------------------------------------------------------------


def package_directory(package: str, start: Path) -> tuple[Path | None, str]:
    """The package's folder (when it is in the module at `start`) and its path inside the module."""
    gomod = find_gomod(str(start.resolve()))
    if gomod is None:
        return None, package
    if package == gomod.module:
        return Path(gomod.root), ""
    prefix = gomod.module + "/"
    if not package.startswith(prefix):
        return None, package
    rel = package[len(prefix) :]
    return Path(gomod.root) / rel, rel


def in_end_to_end_folder(rel: str, settings: Settings) -> bool:
    folders = set(settings.end_to_end_folders)
    return any(part in folders for part in rel.split("/"))


SKIPS = frozenset({"Skip", "Skipf", "SkipNow"})


def short_skipping_tests(directory: Path) -> tuple[frozenset[str], bool]:
    """Test functions of the package that skip under `-short` (`if testing.Short() { t.Skip(...) }`,
    or a `return`/`os.Exit` there), directly or through a function of the package's test files that
    does; and whether TestMain does (then every test is integration). `if !testing.Short()` that only
    trims the work is not a skip."""
    skips_short: set[str] = set()
    calls: dict[str, set[str]] = {}
    for path in sorted(directory.glob("*_test.go")):
        try:
            source = path.read_bytes()
        except OSError:
            continue
        tree = gosyntax.parse(source)
        testing = ImportTable(tree).local_name("testing")
        if testing is None:
            continue
        for func in tree.root_node.children:
            if func.type != "function_declaration":
                continue
            name = gosyntax.field_text(func, "name")
            called = calls.setdefault(name, set())
            for call in gosyntax.find(func, "call_expression"):
                operand, callee = gosyntax.call_parts(call)
                if operand == testing and callee == "Short" and _guards_a_skip(call):
                    skips_short.add(name)
                elif not operand:
                    called.add(callee)
    helpers = {name for name in skips_short if not name.startswith("Test")}
    tests = {name for name, called in calls.items() if name in skips_short or called & helpers}
    return frozenset(t for t in tests if t.startswith("Test")), "TestMain" in tests


def _guards_a_skip(short_call: Node) -> bool:
    """`testing.Short()` (not negated) is the condition of an `if` whose block skips or leaves."""
    node = short_call
    while node.parent is not None and node.parent.type in ("parenthesized_expression", "binary_expression"):
        node = node.parent
    statement = node.parent
    if statement is None or statement.type != "if_statement":
        return False
    if statement.child_by_field_name("condition") != node:
        return False
    block = statement.child_by_field_name("consequence")
    if block is None:
        return False
    if gosyntax.find(block, "return_statement"):
        return True
    return any(
        gosyntax.call_parts(call)[1] in SKIPS or gosyntax.call_parts(call)[1] == "Exit"
        for call in gosyntax.find(block, "call_expression")
    )


def assign_kinds(timings: Iterable[TestTiming], settings: Settings, start: Path) -> None:
    """Set each timing's kind: integration under an end-to-end folder or when it skips under -short."""
    by_package: dict[str, list[TestTiming]] = {}
    for timing in timings:
        by_package.setdefault(timing.package, []).append(timing)
    for package, members in by_package.items():
        shorts: frozenset[str] = frozenset()
        everything = False
        directory, rel = package_directory(package, start)
        if in_end_to_end_folder(rel, settings):
            everything = True
        elif directory is not None and directory.is_dir():
            shorts, everything = short_skipping_tests(directory)
        for timing in members:
            top = timing.test.split("/", 1)[0]
            timing.kind = INTEGRATION if everything or top in shorts else UNIT


def counts(timings: Iterable[TestTiming]) -> dict[str, int]:
    found: dict[str, int] = dict.fromkeys(VERDICTS, 0)
    for timing in timings:
        found[timing.verdict] += 1
    return found


def exit_code(timings: Iterable[TestTiming]) -> int:
    return 1 if any(t.verdict in FLAGGED for t in timings) else 0


def human(seconds: float) -> str:
    """`0.02 s`, `1.25 s`, `12.3 s`: hundredths, as `go test` prints them, below ten seconds."""
    return f"{seconds:.2f} s" if seconds < 10 else f"{seconds:.1f} s"


# -- running go test -------------------------------------------------------------------------------


class GoTestError(Exception):
    """`go test` could not run or printed no events; the message is one line."""


@dataclass(frozen=True)
class RunOptions:
    short: bool = False
    run: str | None = None
    count: int | None = None
    race: bool = False
    timeout: str | None = None

    def flags(self) -> list[str]:
        out = ["-short"] if self.short else []
        out += ["-run", self.run] if self.run else []
        out += [f"-count={self.count}"] if self.count else []
        out += ["-race"] if self.race else []
        out += [f"-timeout={self.timeout}"] if self.timeout else []
        return out


def list_packages(go: str, packages: list[str], cwd: Path) -> list[str]:
    """The import paths `go test` will run, for the progress bar; [] when go list fails."""
    done = subprocess.run([go, "list", *packages], cwd=cwd, capture_output=True, text=True, check=False)
    return done.stdout.split() if done.returncode == 0 else []


def go_test_lines(go: str, packages: list[str], options: RunOptions, cwd: Path) -> Iterator[str]:
    """Stream the lines of `go test -json`; GoTestError when it fails with nothing on stdout."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as stderr:
        try:
            proc = subprocess.Popen(
                [go, "test", "-json", *options.flags(), *packages],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                errors="replace",
            )
        except OSError as exc:
            raise GoTestError(f"cannot run go: {exc}") from None
        printed = False
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                printed = printed or bool(line.strip())
                yield line
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if proc.returncode != 0 and not printed:
            stderr.seek(0)
            lines = [line.strip() for line in stderr if line.strip()]
            raise GoTestError(f"go test failed: {lines[0] if lines else f'exit status {proc.returncode}'}")


# -- for the verifier: `go test -json` output read back as `go test` prints it ----------------------------

_VERBOSE_ONLY = re.compile(r"^\s*(?:=== (?:RUN|PAUSE|CONT|NAME)\b|--- (?:PASS|SKIP): )")


def plain_output(output: str) -> tuple[str, Collector]:
    """The text `go test` without -json would print (output of failed tests and of the package, no
    `=== RUN` lines), and the events; lines that are not events (stderr, build errors) stay as they are."""
    collector = Collector()
    pieces: list[tuple[str, str | None, str]] = []  # (package, test, text)
    for line in output.splitlines(keepends=True):
        event = None
        if line.startswith("{"):
            try:
                event = collector.feed_line(line)
            except StreamError:
                event = None
        if event is None:
            pieces.append(("", None, line))
        elif event["Action"] in ("output", "build-output"):
            test = event.get("Test")
            pieces.append(
                (str(event.get("Package") or ""), str(test) if test else None, str(event["Output"]))
            )
    failed = {key for key, timing in collector.tests.items() if "fail" in timing.outcomes}
    kept = [
        text
        for package, test, text in pieces
        if (test is None or (package, test) in failed) and not _VERBOSE_ONLY.match(text)
    ]
    return "".join(kept), collector
