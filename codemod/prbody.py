"""`codemod pr-body`: the pull-request description `codemod migrate` writes, for the changes in the
work tree (or since `--base`), so a fleet engine (Sourcegraph batch changes, multi-gitter,
turbolift) opens its PRs with the same text.

Which fix made which change is not stored anywhere: each changed file's text at the base is run
through the engine again, and its fixes count when the result is the file now (the engine is
deterministic, so `codemod apply` on the base gives the same bytes). A file changed some other way
is listed among the files but not counted.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import click

from codemod.config import Settings
from codemod.engine import FileResult, process_source
from codemod.migrate import Git, MigrateError, Shard, describe_shard, find_guide, load_options
from codemod.project import find_gomod, project_for
from codemod.source import BOM, package_name
from codemod.transform import all_transforms, select_transforms
from codemod.verify import VerifyReport


def _show(git: Git, base: str, rel: str) -> bytes | None:
    done = subprocess.run(
        ["git", "show", f"{base}:{rel}"], cwd=git.root, capture_output=True, stdin=subprocess.DEVNULL
    )
    return done.stdout if done.returncode == 0 else None


def _replay(
    path: Path, before: bytes, now: bytes, settings: Settings, ids: tuple[str, ...], unsafe: bool
) -> FileResult | None:
    """The engine's result on the base text when it gives the text now (safe fixes, or also unsafe
    ones, tried in the order the flag suggests); None when neither does."""
    package = package_name(before.removeprefix(BOM))
    if package is None:
        return None
    info = project_for(path, settings.helper_import, package, settings.end_to_end_folders)
    transforms = select_transforms(ids, ())
    for allow_unsafe in (unsafe, not unsafe):
        result = process_source(str(path), before, info, settings, transforms, allow_unsafe)
        if result.new == now:
            return result
    return None


def _group(root: Path, target: Path) -> str:
    """What the title names: the target folder, or the module path (the repository's name) for its root."""
    rel = target.relative_to(root).as_posix()
    if rel != ".":
        return rel
    gomod = find_gomod(str(root))
    return gomod.module if gomod is not None and gomod.root == str(root) else root.name


def describe_changes(
    target: Path,
    settings: Settings,
    ids: tuple[str, ...],
    base: str,
    branch: str | None,
    unsafe: bool,
    guide: str | None,
) -> str | None:
    """The PR description of the changes under `target` since `base`, or None when nothing changed."""
    git = Git(target)
    try:
        root = Path(git("rev-parse", "--show-toplevel")).resolve()
        base_commit = git("rev-parse", "--verify", f"{base}^{{commit}}")
    except MigrateError as exc:
        raise click.UsageError(str(exc)) from None
    git = Git(root)
    rel_target = target.resolve().relative_to(root).as_posix()
    listed = git("diff", "--name-only", "--no-renames", "-z", base_commit, "--", rel_target)
    original: dict[Path, bytes] = {}
    final: dict[Path, bytes] = {}
    applied: dict[Path, list[str]] = {}
    results: dict[Path, FileResult] = {}
    for rel in sorted(r for r in listed.split("\0") if r.endswith(".go")):
        path = root / rel
        before = _show(git, base_commit, rel)
        if before is None or not path.is_file():
            continue  # added or deleted: not something a fix does
        now = path.read_bytes()
        original[path], final[path] = before, now
        result = _replay(path, before, now, settings, ids, unsafe)
        if result is None:
            click.echo(f"codemod: {rel}: changed, but not as codemod apply would: not counted", err=True)
            continue
        results[path] = result
        applied[path] = [f.transform_id for f in result.applied]
    report = VerifyReport(mode="none", original=original, final=final, applied=applied)
    if not report.changed:
        return None
    used = {t for ids_of in applied.values() for t in ids_of}
    transforms = tuple(t for t in all_transforms() if t in used) or ids
    shard = Shard(
        transforms=transforms,
        group=_group(root, target.resolve()),
        files=report.changed,
        results=results,
        branch=branch or git.branch() or "HEAD",
    )
    return describe_shard(
        shard, report, root, base_commit, guide or find_guide(git, None, base_commit), "none"
    )


@click.command("pr-body")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--base",
    default="HEAD",
    show_default=True,
    help="Describe the changes since this commit (HEAD: the uncommitted changes).",
)
@click.option(
    "--branch", help="The branch the PR comes from, for the review steps (default: the current one)."
)
@click.option("--select", help="Comma-separated transform ids (default: all, or the config's).")
@click.option("--ignore", help="Comma-separated transform ids to skip.")
@click.option("--config", type=click.Path(dir_okay=False), help="Path to a .codemod.toml.")
@click.option("--unsafe", is_flag=True, help="The changes were made with `codemod apply --unsafe`.")
@click.option("--guide", help="URL or repo path of the test-writing guide, linked from the text.")
def pr_body(
    path: Path,
    base: str,
    branch: str | None,
    select: str | None,
    ignore: str | None,
    config: str | None,
    unsafe: bool,
    guide: str | None,
) -> None:
    """Print the PR description `codemod migrate` would write for the changes under PATH.

    For fleet engines: run `codemod apply` in each repository, then this; nothing is printed (exit
    0) when nothing changed.
    """
    settings, ids = load_options(path, config, select, ignore)
    text = describe_changes(path, settings, ids, base, branch, unsafe or settings.unsafe, guide)
    if text is None:
        click.echo("codemod: no changes to describe", err=True)
        return
    click.echo(text, nl=False)
