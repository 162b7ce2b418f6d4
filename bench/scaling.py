"""Cost against size: one generated test file of N tests, `check` and `apply --dry-run` on it.

    python bench/scaling.py [--sizes 250,500,1000,2000,8000] [--runs 3]

The same 10-line test repeated N times (each one fixable context, one port, one sleep), in a module
that declares Go 1.24. Prints the median wall time per size and the ratio to the smallest size over the
ratio of work: linear cost prints 1.0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from measure import run_once

VENV_BIN = Path(sys.executable).parent

TEST = """
func TestGenerated{n}(t *testing.T) {{
	ctx := context.Background()
	addr := "localhost:{port}"
	_ = addr
	time.Sleep(10 * time.Millisecond)
	if err := ping(ctx); err != nil {{
		t.Fatal(err)
	}}
}}
"""


def generated(tests: int) -> str:
    head = 'package gen\n\nimport (\n\t"context"\n\t"testing"\n\t"time"\n)\n\n'
    head += "func ping(ctx context.Context) error { return ctx.Err() }\n"
    return head + "".join(TEST.format(n=n, port=20000 + n % 10000) for n in range(tests))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="250,500,1000,2000,8000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    codemod = str(VENV_BIN / "codemod")
    env = {**os.environ, "NO_COLOR": "1", "CODEMOD_CACHE_DIR": tempfile.mkdtemp(prefix="codemod-scale-")}
    commands = {"check": ["check", "--no-cache", "."], "apply --dry-run": ["apply", "--dry-run", "."]}
    results: dict[str, list[tuple[int, float, int, int]]] = {name: [] for name in commands}
    for size in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"codemod-scale-{size}-"))
        (work / "go.mod").write_text("module example.com/gen\n\ngo 1.24\n")
        source = generated(size)
        (work / "gen_test.go").write_text(source)
        for name, argv in commands.items():
            runs = [run_once([codemod, *argv], work, env) for _ in range(args.runs)]
            seconds = statistics.median(r[0] for r in runs)
            results[name].append((size, seconds, max(r[1] for r in runs), len(source.encode())))
    for name, rows in results.items():
        base_size, base_seconds = rows[0][0], rows[0][1]
        print(f"codemod {name}")
        print(f"{'tests':>7} {'bytes':>10} {'median s':>9} {'peak MB':>8} {'cost/work vs first':>19}")
        for size, seconds, peak_kb, size_bytes in rows:
            growth = (seconds / base_seconds) / (size / base_size)
            print(f"{size:>7} {size_bytes:>10} {seconds:9.2f} {peak_kb / 1024:8.0f} {growth:19.2f}")


if __name__ == "__main__":
    main()
