"""Time codemod against ast-grep (equivalent detection rules) and gofmt -l (the floor) on a Go repository.

    python bench/bench.py /path/to/go/repo [--runs 5]

Every command runs `--runs` times in one session, on the same files; the table gives the median and best
wall time, the peak memory of one run (all its processes summed), and the ratio to ast-grep
(machine-independent). `check cold` runs with an empty cache; `check warm` after a run that filled it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from measure import run_once

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
# codemod transforms with an ast-grep rule in bench/ast-grep/rules (sleep.yml stands for both sleeps).
RACED = (
    "test-context",
    "sleep-then-assert",
    "sleep-without-condition",
    "hardcoded-port",
    "process-without-cleanup",
    "weak-error-assertion",
)


@dataclass
class Timing:
    name: str
    seconds: list[float]
    peak_kb: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def measure(
    name: str, argv: list[str], cwd: Path, env: dict[str, str], runs: int, before: list[str] | None = None
) -> Timing:
    seconds: list[float] = []
    peak = 0
    for _ in range(runs):
        if before is not None:
            subprocess.run(before, cwd=cwd, env=env, check=False, capture_output=True)
        elapsed, rss = run_once(argv, cwd, env)
        seconds.append(elapsed)
        peak = max(peak, rss)
    return Timing(name, seconds, peak)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    repo: Path = args.repo.resolve()
    codemod = str(VENV_BIN / "codemod")
    ast_grep = shutil.which("ast-grep", path=str(VENV_BIN)) or shutil.which("ast-grep")
    gofmt = shutil.which("gofmt")
    if ast_grep is None or gofmt is None:
        raise SystemExit("needs ast-grep (pip install ast-grep-cli) and gofmt on PATH")
    tests = sorted(str(p.relative_to(repo)) for p in repo.rglob("*_test.go") if "vendor" not in p.parts)
    size = sum((repo / t).stat().st_size for t in tests)
    cache = Path(tempfile.mkdtemp(prefix="codemod-bench-cache-"))
    env = {**os.environ, "CODEMOD_CACHE_DIR": str(cache), "NO_COLOR": "1"}
    clear_cache = [sys.executable, "-c", f"import shutil; shutil.rmtree({str(cache)!r}, ignore_errors=True)"]
    same = ["--select", ",".join(RACED)]  # the transforms bench/ast-grep/rules has equivalents for
    timings = [
        measure("gofmt -l (floor)", [gofmt, "-l", *tests], repo, env, args.runs),
        measure(
            "ast-grep scan",
            [ast_grep, "scan", "--config", str(HERE / "ast-grep" / "sgconfig.yml"), "."],
            repo,
            env,
            args.runs,
        ),
        measure(
            "codemod check (cold)",
            [codemod, "check", *same, "./..."],
            repo,
            env,
            args.runs,
            before=clear_cache,
        ),
        measure("codemod check (warm)", [codemod, "check", *same, "./..."], repo, env, args.runs),
        measure(
            "codemod apply --dry-run", [codemod, "apply", "--dry-run", *same, "./..."], repo, env, args.runs
        ),
    ]
    shutil.rmtree(cache, ignore_errors=True)
    reference = next(t for t in timings if t.name == "ast-grep scan").median
    cores = os.cpu_count()
    print(f"{repo.name}: {len(tests)} test files, {size / 1e6:.1f} MB, {cores} cores, {args.runs} runs each")
    print(f"{'command':28} {'median s':>9} {'best s':>8} {'peak MB':>8} {'vs ast-grep':>12}")
    for timing in timings:
        ratio = timing.median / reference
        print(
            f"{timing.name:28} {timing.median:9.2f} {min(timing.seconds):8.2f} "
            f"{timing.peak_kb / 1024:8.0f} {ratio:11.2f}x"
        )


if __name__ == "__main__":
    main()
