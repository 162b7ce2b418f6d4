"""Run the engine over many files, in parallel, in a deterministic order."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from codemod.cache import cache_key, load, store
from codemod.config import Settings
from codemod.engine import FileResult, process_source
from codemod.project import project_for
from codemod.source import BOM, package_name
from codemod.transform import Transform, select_transforms


@dataclass(frozen=True)
class Job:
    path: str
    settings: Settings
    transform_ids: tuple[str, ...]
    allow_unsafe: bool
    use_cache: bool = False  # check only: findings of an unchanged file come from the cache
    analyse_only: bool = False  # check: report, do not compute the fixed text


BATCH_LIMIT = 24  # files of one directory per worker task: keeps two cores busy on a large package

_TRANSFORM_CACHE: dict[tuple[str, ...], list[Transform]] = {}


def _transforms(ids: tuple[str, ...]) -> list[Transform]:
    if not ids:  # nothing selected runs nothing (an empty select would mean "every transform")
        return []
    if ids not in _TRANSFORM_CACHE:
        _TRANSFORM_CACHE[ids] = select_transforms(ids, ())
    return _TRANSFORM_CACHE[ids]


def process_file(job: Job) -> FileResult:
    """Read and fix one file. Never raises: every problem becomes a one-line skip message."""
    path = Path(job.path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return FileResult(job.path, skipped=f"cannot read: {exc.strerror or exc}", problem=True)
    key = (
        cache_key(path, raw, repr((job.settings, job.transform_ids, job.allow_unsafe)))
        if job.use_cache
        else ""
    )
    if key and (cached := load(key)) is not None:
        cached.path, cached.original = job.path, raw
        return cached
    result = _process(job, path, raw)
    if key and not result.problem and not result.unparsed:
        store(key, result)
    return result


def process_bytes(job: Job, raw: bytes) -> FileResult:
    """One file's text given directly (stdin), judged as if it were the file at `job.path`."""
    return _process(job, Path(job.path), raw)


def _process(job: Job, path: Path, raw: bytes) -> FileResult:
    try:
        body = raw.removeprefix(BOM)
        package = package_name(body)
        if package is None:  # not a Go source file: nothing may be rewritten in it
            return FileResult(
                job.path, original=raw, skipped="does not parse as Go: no package clause", problem=True
            )
        project = project_for(path, job.settings.helper_import, package, job.settings.end_to_end_folders)
        off = job.settings.ignored_in(job.path)
        ids = () if "all" in off else tuple(i for i in job.transform_ids if i not in off)
        transforms = _transforms(ids)
        return process_source(
            job.path, raw, project, job.settings, transforms, job.allow_unsafe, analyse_only=job.analyse_only
        )
    except RecursionError:
        return FileResult(job.path, original=raw, skipped="too deeply nested to analyse", problem=True)
    except Exception as exc:  # a bug of ours must not stop the run or lose other files' work
        return FileResult(
            job.path, original=raw, skipped=f"internal error: {type(exc).__name__}: {exc}", problem=True
        )


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the main process, which says what was written and exits 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def run_files(
    files: list[Path],
    settings: Settings,
    transform_ids: tuple[str, ...],
    allow_unsafe: bool,
    jobs: int,
    use_cache: bool = False,
    analyse_only: bool = False,
) -> Iterator[FileResult]:
    work = [Job(str(f), settings, transform_ids, allow_unsafe, use_cache, analyse_only) for f in files]
    if jobs <= 1 or len(work) < 4:
        yield from map(process_file, work)
        return
    with ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_interrupts) as pool:
        for results in pool.map(process_batch, package_batches(work)):
            yield from results


def package_batches(work: list[Job], limit: int = BATCH_LIMIT) -> list[list[Job]]:
    """Consecutive jobs of one directory go to one worker, which then reads the package's other files
    (callers, suite types) once instead of once per worker; a large directory is split at `limit`."""
    batches: list[list[Job]] = []
    for job in work:
        last = batches[-1] if batches else None
        if last and len(last) < limit and Path(last[-1].path).parent == Path(job.path).parent:
            last.append(job)
        else:
            batches.append([job])
    return batches


def process_batch(batch: list[Job]) -> list[FileResult]:
    return [process_file(job) for job in batch]
