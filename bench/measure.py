"""One timed run of a command: wall time and the peak memory of its whole process tree.

`ru_maxrss` of a child is the largest single process; codemod's workers run side by side, so the tree's
resident memory is sampled (psutil) and summed at each sample instead.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.02


def run_once(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak summed RSS (KB) of `argv` and all its descendants."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(root))
        time.sleep(SAMPLE_SECONDS)
    elapsed = time.perf_counter() - start
    if process.returncode not in (0, 1, 2):  # 2: check names files with syntax errors, and still ran
        raise SystemExit(f"{' '.join(argv)} exited {process.returncode}")
    return elapsed, peak // 1024


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        for proc in [root, *root.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue  # a worker that ended between the listing and the reading
    except psutil.Error:
        return 0
    return total
