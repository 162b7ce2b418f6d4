"""`codemod migrate`: apply the fixes across a git repository as a series of small, verified branches.

Each shard (one transform, one package / directory / owner set, at most --max-files files) gets its
own branch from the base, its fixes, `go vet` or `go test` (see verify.py), a commit and a PR
description. The user's checkout is put back afterwards, even on an error or Ctrl-C; a state file
makes a killed run resumable.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import click

from codemod import transform as registry
from codemod.codeowners import Rule, load_rules, owners_of
from codemod.config import ConfigError, Settings, find_config, load_settings
from codemod.engine import FileResult
from codemod.files import discover
from codemod.runner import default_jobs, run_files
from codemod.verify import DEFAULT_TIMEOUT, Verifier, VerifyError, VerifyReport, describe_commands, safe_rerun

STATE_DIR = ".codemod/migrate"  # at the repo root; excluded through .git/info/exclude, never committed
SPLITS = ("package", "directory", "codeowners")
NO_OWNER = "no owner"  # the shard key of files no CODEOWNERS rule owns
GUIDE_NAME = "test-writing guide"


class MigrateError(Exception):
    """Something went wrong that stops the run; the message is for the user."""


# -- git ------------------------------------------------------------------------------------------


class Git:
    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if check and done.returncode != 0:
            detail = (done.stderr or done.stdout).strip()
            raise MigrateError(f"git {' '.join(args)} failed: {detail}")
        return done.stdout.strip() if done.returncode == 0 else ""

    def branch(self) -> str | None:
        return self("symbolic-ref", "-q", "--short", "HEAD", check=False) or None

    def commit_of(self, ref: str) -> str | None:
        return self("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False) or None

    def has_branch(self, name: str) -> bool:
        return self.commit_of(f"refs/heads/{name}") is not None

    def dirty(self) -> list[str]:
        lines = self("status", "--porcelain", "--untracked-files=normal").splitlines()
        return [line for line in lines if not line[3:].startswith(STATE_DIR)]

    def checkout(self, target: str, detach: bool = False) -> None:
        self("checkout", "-q", *(["--detach"] if detach else []), target)

    def clean(self) -> None:
        """Drop what the fixes or the tests left in the work tree (it was clean when we started)."""
        self("reset", "-q", "--hard")
        self("clean", "-fdq")


def repo_root(path: Path) -> Path:
    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise click.UsageError(f"{path}: not inside a git repository (migrate makes branches)")
    return Path(done.stdout.strip()).resolve()


def ensure_excluded(git: Git) -> None:
    """Keep the state and PR descriptions out of `git status` without touching a tracked file."""
    exclude = Path(git("rev-parse", "--git-path", "info/exclude"))
    exclude = exclude if exclude.is_absolute() else git.root / exclude
    line = f"/{STATE_DIR}/"
    current = exclude.read_text(encoding="utf-8") if exclude.is_file() else ""
    if line in current.splitlines():
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    sep = "" if not current or current.endswith("\n") else "\n"
    exclude.write_text(f"{current}{sep}# codemod migrate: state and PR descriptions\n{line}\n")


# -- the plan -------------------------------------------------------------------------------------


@dataclass
class Shard:
    transforms: tuple[str, ...]
    group: str  # the package dir, directory or owner set (as text)
    files: list[Path]  # absolute, sorted
    results: dict[Path, FileResult]
    branch: str = ""
    part: int = 0  # 1-based when --max-files split the group; 0 when it is whole
    parts: int = 0
    owners: tuple[str, ...] = ()
    by_owner: bool = False  # the group is an owner set, not a directory

    @property
    def counts(self) -> Counter[str]:
        return Counter(f.transform_id for r in self.results.values() for f in r.applied)

    @property
    def title(self) -> str:
        part = f" (part {self.part}/{self.parts})" if self.part else ""
        where = f"for {self.group}" if self.by_owner and self.owners else f"in {self.group}"
        if self.by_owner and not self.owners:
            where = "for files with no owner"
        return f"codemod: {', '.join(self.transforms)} {where}{part}"


def slug(text: str) -> str:
    """A piece of a branch name git accepts: no spaces, no `..`, no leading dot or dash."""
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).replace("..", ".")
    return cleaned.strip("-.").removesuffix(".lock") or "root"


def plural(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun}es" if noun.endswith(("s", "x")) else f"{count} {noun}s"


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else "."


def group_files(
    files: list[Path],
    root: Path,
    target: Path,
    split_by: str,
    depth: int | None = None,
    rules: list[Rule] | None = None,
) -> dict[str, list[Path]]:
    """Changed files by shard key, in a stable order."""
    if split_by == "package":
        keys = {f: _rel(f.parent, root) for f in files}
    elif split_by == "codeowners":
        keys = {f: " ".join(owners_of(rules or [], _rel(f, root))) or NO_OWNER for f in files}
    else:
        keys = _directory_keys(files, root, target, depth)
    groups: dict[str, list[Path]] = {}
    for f in sorted(files):
        groups.setdefault(keys[f], []).append(f)
    return dict(sorted(groups.items()))


def _directory_keys(files: list[Path], root: Path, target: Path, depth: int | None) -> dict[Path, str]:
    """Directories `depth` levels under the target; by default the first depth with more than one."""
    parts = {f: f.parent.relative_to(target).parts for f in files}
    deepest = max((len(p) for p in parts.values()), default=0)

    def keys_at(level: int) -> dict[Path, str]:
        return {f: _rel(target.joinpath(*p[:level]), root) for f, p in parts.items()}

    if depth is not None:
        return keys_at(depth)
    level = 1
    while level < deepest and len(set(keys_at(level).values())) == 1:
        level += 1
    return keys_at(level)


def chunk(files: list[Path], max_files: int) -> list[list[Path]]:
    """At most `max_files` per chunk, keeping a package's files together when they fit."""
    if len(files) <= max_files:
        return [files]
    chunks: list[list[Path]] = []
    current: list[Path] = []
    packages: dict[Path, list[Path]] = {}
    for f in files:
        packages.setdefault(f.parent, []).append(f)
    for members in packages.values():
        if len(current) + len(members) > max_files and current:
            chunks.append(current)
            current = []
        while len(members) > max_files:
            chunks.append(members[:max_files])
            members = members[max_files:]
        current.extend(members)
    if current:
        chunks.append(current)
    return chunks


def branch_name(prefix: str, transforms: tuple[str, ...], group: str, part: int) -> str:
    label = "+".join(transforms) if len(transforms) <= 2 else "all"
    return f"{prefix}{label}/{slug(group)}" + (f"-{part}" if part else "")


@dataclass
class Options:
    target: Path
    split_by: str = "directory"
    depth: int | None = None
    max_files: int = 50
    transform_ids: tuple[str, ...] = ()
    group_transforms: bool = False
    allow_unsafe: bool = False
    verify: str = "vet"
    verify_timeout: float = DEFAULT_TIMEOUT
    base: str | None = None
    branch_prefix: str = "codemod/"
    push: str | None = None
    open_pr: bool = False
    guide: str | None = None
    jobs: int = 1
    settings: Settings = field(default_factory=Settings)


def plan(root: Path, opts: Options, rules: list[Rule] | None, say: Callable[[str], None]) -> list[Shard]:
    """Shards for the tree on disk: one transform each unless --group-transforms."""
    files, messages = discover([str(opts.target)], opts.settings.exclude)
    for message in messages:
        say(message)
    fixing = [t for t in opts.transform_ids if registry.all_transforms()[t].fixes]
    batches = [tuple(fixing)] if opts.group_transforms else [(t,) for t in fixing]
    shards: list[Shard] = []
    for ids in batches:
        results: dict[Path, FileResult] = {}
        for result in run_files(files, opts.settings, ids, opts.allow_unsafe, opts.jobs):
            if result.problem and ids == batches[0]:
                say(f"{result.path}: skipped: {result.skipped}")
            if result.changed:
                results[Path(result.path)] = result
        groups = group_files(sorted(results), root, opts.target, opts.split_by, opts.depth, rules)
        for group, members in groups.items():
            pieces = chunk(members, opts.max_files)
            for number, piece in enumerate(pieces, start=1):
                part = number if len(pieces) > 1 else 0
                shard = Shard(ids, group, piece, {f: results[f] for f in piece}, part=part, parts=len(pieces))
                if opts.split_by == "codeowners" and rules is not None:
                    shard.owners = owners_of(rules, _rel(piece[0], root))
                    shard.by_owner = True
                shard.branch = branch_name(opts.branch_prefix, ids, group, part)
                shards.append(shard)
    _unique_branches(shards)
    return shards


def _unique_branches(shards: list[Shard]) -> None:
    seen: Counter[str] = Counter()
    for shard in shards:
        seen[shard.branch] += 1
        if seen[shard.branch] > 1:
            shard.branch = f"{shard.branch}-{seen[shard.branch]}"


# -- state ----------------------------------------------------------------------------------------


@dataclass
class State:
    """What a run has finished, so a second run (after a kill, a Ctrl-C or a failure) skips it."""

    path: Path
    base: str = ""
    running: bool = False  # set while the checkout is not where the user left it
    pid: int = 0  # the process of that run
    origin_branch: str | None = None
    origin_commit: str = ""
    current: str | None = None  # the shard branch being made
    shards: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls(path)
        return cls(
            path,
            base=str(data.get("base", "")),
            running=bool(data.get("running", False)),
            pid=int(data.get("pid", 0)),
            origin_branch=data.get("origin_branch"),
            origin_commit=str(data.get("origin_commit", "")),
            current=data.get("current"),
            shards=dict(data.get("shards", {})),
        )

    def save(self) -> None:
        data = {
            "version": 1,
            "base": self.base,
            "running": self.running,
            "pid": self.pid,
            "origin_branch": self.origin_branch,
            "origin_commit": self.origin_commit,
            "current": self.current,
            "shards": self.shards,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def finished(self, branch: str, base: str, has_branch: Callable[[str], bool]) -> bool:
        """A committed shard while its branch exists; a shard with nothing to commit, for its base."""
        info = self.shards.get(branch, {})
        if info.get("status") == "done":
            return has_branch(branch)
        return info.get("status") == "empty" and info.get("base") == base


# -- descriptions ---------------------------------------------------------------------------------


def doc_sections(doc: str) -> dict[str, str]:
    """A transform docstring's sections: unindented headings, indented bodies."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in doc.splitlines():
        if line and not line[0].isspace():
            current = sections.setdefault(line.strip(), [])
        elif current is not None:
            current.append(line)
    return {k: _dedent(v) for k, v in sections.items()}


def _dedent(lines: list[str]) -> str:
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines).strip()


def github_anchor(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation and emoji dropped, spaces to dashes."""
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _github_web_url(url: str) -> str | None:
    match = re.match(r"^(?:https://|ssh://git@|git@)github\.com[:/]([^/]+)/(.+?)(?:\.git)?/?$", url)
    return f"https://github.com/{match.group(1)}/{match.group(2)}" if match else None


def find_guide(git: Git, remote: str | None, base: str) -> str | None:
    """A link to the test-writing guide in the repository (a GitHub URL when the remote is GitHub)."""
    for rel in git("ls-files", "--", "*.md").splitlines():
        name = rel.rsplit("/", 1)[-1].lower()
        if not (("test" in name and "guide" in name) or name == "skill.md"):
            continue
        try:
            head = (git.root / rel).read_text(encoding="utf-8", errors="replace")[:2000]
        except OSError:
            continue
        if "test writing guide" in head.lower() or "test-writing guide" in head.lower():
            web = _github_web_url(git("remote", "get-url", remote or "origin", check=False))
            return f"{web}/blob/{base}/{rel}" if web else rel
    return None


def guide_link(guide: str | None, transform_id: str) -> str:
    known = registry.all_transforms().get(transform_id)
    section = known.guide_section if known is not None else ""
    if not section:
        return f"the {GUIDE_NAME}"
    if guide is None:
        return f"the {GUIDE_NAME}, section “{section}”"
    return f"the {GUIDE_NAME}, section [{section}]({guide}#{github_anchor(section)})"


def describe_shard(
    shard: Shard, report: VerifyReport, root: Path, base: str, guide: str | None, mode: str
) -> str:
    """The PR description: what changed and why, how it was verified, how to review it."""
    out = [f"# {shard.title}", ""]
    out += _what_changed(shard, report)
    for tid in shard.transforms:
        out += _why(tid, guide)
    out += _verification(report, root, mode)
    out += _how_to_review(shard, base)
    out += ["<details><summary>Files</summary>", ""]
    out += [f"- `{_rel(p.resolve(), root)}`" for p in report.changed]
    out += ["", "</details>", ""]
    return "\n".join(out)


def _what_changed(shard: Shard, report: VerifyReport) -> list[str]:
    counts, files = report.counts(), report.changed
    where = f"`{shard.group}`"
    if shard.by_owner:
        where = (
            f"files owned by {' '.join(shard.owners)}" if shard.owners else "files no CODEOWNERS rule owns"
        )
    one = (
        " One pattern per pull request, so every hunk reads the same way."
        if len(shard.transforms) == 1
        else ""
    )
    out = [
        "## What changed",
        "",
        f"`codemod migrate` mechanically rewrote {plural(sum(counts.values()), 'test-code anti-pattern')} "
        f"in {plural(len(files), 'file')} under {where}.{one}",
        "",
        "| transform | fixes | files |",
        "|---|---:|---:|",
    ]
    for tid in shard.transforms:
        in_files = sum(1 for p in files if tid in report.applied.get(p, []))
        out.append(f"| `{tid}` | {counts[tid]} | {in_files} |")
    return [*out, ""]


def _why(transform_id: str, guide: str | None) -> list[str]:
    cls = registry.all_transforms()[transform_id]
    sections = doc_sections(cls.doc())
    out = [f"## Why: `{transform_id}`", "", f"{cls.summary}. See {guide_link(guide, transform_id)}.", ""]
    if "Why" in sections:
        out += [_quote(sections["Why"]), ""]
    if "What it does" in sections:
        out += ["<details><summary>What the rewrite does</summary>", "", sections["What it does"]]
        out += ["", "</details>", ""]
    return out


def _verification(report: VerifyReport, root: Path, mode: str) -> list[str]:
    if mode == "none":
        return [
            "## Verification",
            "",
            "Not verified (`--verify none`): run `go vet` on the changed packages.",
            "",
        ]
    commands = " and ".join(f"`GOTOOLCHAIN=local {c} <package>`" for c in describe_commands(mode))
    return [
        "## Verification",
        "",
        f"Each changed package ran {commands} from the module root, first on the base tree so that "
        "failures already there are not blamed on this change.",
        "",
        "```",
        *report.lines(root),
        "```",
        "",
    ]


def _how_to_review(shard: Shard, base: str) -> list[str]:
    out = [
        "## How to review",
        "",
        f"- `git diff {base[:12]}...{shard.branch}`: every hunk is one of the rewrites above; "
        "no other line should move.",
    ]
    for tid in shard.transforms:
        known = registry.all_transforms()[tid]
        if known.review_hint:
            out.append(f"- `{tid}`: {known.review_hint}")
        safety = doc_sections(known.doc()).get("Fix safety")
        if safety:
            out.append(f"- `{tid}` fix safety: {' '.join(safety.split())}")
    ids = ",".join(shard.transforms)
    out.append(
        f"- To reproduce: `codemod explain {shard.transforms[0]}`, and "
        f"`codemod apply --dry-run --select {ids} <files>` on the base."
    )
    return [*out, ""]


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def commit_message(shard: Shard, report: VerifyReport) -> str:
    counts = report.counts()
    lines = [
        shard.title,
        "",
        f"Applied with `codemod migrate`: {plural(sum(counts.values()), 'fix')} in "
        f"{plural(len(report.changed), 'file')}.",
        "",
    ]
    for tid in shard.transforms:
        lines.append(f"- {tid}: {plural(counts[tid], 'fix')} ({registry.all_transforms()[tid].summary})")
    lines += ["", f"Verified: {report.summary()}"]
    return "\n".join(lines) + "\n"


def description_file(root: Path, branch: str) -> Path:
    return root / STATE_DIR / f"{branch.replace('/', '__')}.md"


def write_index(root: Path, shards: list[Shard], state: State) -> Path:
    lines = ["# codemod migrate", "", f"Base: `{state.base}`", ""]
    lines += ["| # | branch | transforms | scope | files | fixes | status | verification |", "|---" * 8 + "|"]
    for number, shard in enumerate(shards, start=1):
        info = state.shards.get(shard.branch, {})
        status = info.get("status", "pending")
        if info.get("commit"):
            status += f" `{info['commit'][:10]}`"
        if info.get("pr"):
            status += f" [PR]({info['pr']})"
        desc = description_file(root, shard.branch)
        branch = f"[`{shard.branch}`]({desc.name})" if desc.is_file() else f"`{shard.branch}`"
        files = info.get("files", len(shard.files))
        fixes = info.get("fixes", sum(shard.counts.values()))
        scope = " ".join(shard.owners) or shard.group
        lines.append(
            f"| {number} | {branch} | {', '.join(shard.transforms)} | {scope} | {files} | {fixes} "
            f"| {status} | {info.get('verify', '')} |"
        )
    path = root / STATE_DIR / "index.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- the run --------------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def gh_path() -> str | None:
    return shutil.which("gh")


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the user's branch is checked out again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Migration:
    def __init__(self, root: Path, opts: Options, say: Callable[[str], None]) -> None:
        self.root = root
        self.opts = opts
        self.say = say
        self.git = Git(root)
        self.state = State.load(root / STATE_DIR / "state.json")
        self.verifier: Verifier | None = None
        self.failed = 0
        self._guide_found: str | None = None

    def at(self, branch: str | None, commit: str) -> bool:
        """Whether the checkout is on `branch` (or, when None, detached at `commit`)."""
        current = self.git.branch()
        return (
            current == branch
            if branch is not None
            else current is None and self.git.commit_of("HEAD") == commit
        )

    def recover(self) -> None:
        """After a killed run: drop the unfinished shard branch and go back to where the user was."""
        state = self.state
        if not state.running:
            return
        if state.pid != os.getpid() and _alive(state.pid):
            raise click.UsageError(f"another codemod migrate (pid {state.pid}) is running in this repository")
        branch = self.git.branch()
        moved = not self.at(state.origin_branch, state.origin_commit)
        # Only a checkout this tool made (a shard branch or the detached base) is cleaned.
        ours = moved and (
            (branch is not None and branch == state.current)
            or (branch is None and self.git.commit_of("HEAD") == state.base)
        )
        if ours:
            self.git.clean()
            self.git.checkout(state.origin_branch or state.origin_commit, detach=state.origin_branch is None)
        current = state.current
        unfinished = state.shards.get(current or "", {}).get("status") != "done"
        if current and unfinished and self.git.has_branch(current):
            if self.git.branch() != current:
                self.git("branch", "-q", "-D", current)
        where = state.origin_branch or state.origin_commit[:12]
        self.say(f"recovered from an interrupted run{f': back on {where}' if ours else ''}")
        state.running, state.current = False, None
        state.save()

    def run(self, shards_for: Callable[[], list[Shard]]) -> int:
        git, state = self.git, self.state
        origin_branch, origin_commit = git.branch(), git.commit_of("HEAD") or ""
        base = git.commit_of(self.opts.base or "HEAD")
        if base is None:
            raise click.UsageError(f"--base {self.opts.base}: not a commit")
        state.base, state.origin_branch, state.origin_commit = base, origin_branch, origin_commit
        state.running, state.pid = True, os.getpid()
        state.save()
        try:
            with _terminate_as_interrupt():
                if base != origin_commit:
                    git.checkout(base, detach=True)
                shards = shards_for()
                write_index(self.root, shards, state)
                self._announce(shards)
                for number, shard in enumerate(shards, start=1):
                    self._one(number, len(shards), shard, base)
                    write_index(self.root, shards, state)
        finally:
            self._return(origin_branch, origin_commit)
        self.say(f"descriptions and index: {self.root / STATE_DIR}/")
        return 1 if self.failed else 0

    def _announce(self, shards: list[Shard]) -> None:
        done = sum(1 for s in shards if self._finished(s))
        files = sum(len(s.files) for s in shards)
        extra = f" ({done} already done)" if done else ""
        self.say(f"{plural(len(shards), 'shard')}, {plural(files, 'file')}{extra}")

    def _return(self, origin_branch: str | None, origin_commit: str) -> None:
        if not self.at(origin_branch, origin_commit) and self.git.dirty():
            self.git.clean()  # only ever our shard branch or the detached base
        if origin_branch is not None:
            self.git.checkout(origin_branch)
        else:
            self.git.checkout(origin_commit, detach=True)
        self.state.running, self.state.current = False, None
        self.state.save()

    def _one(self, number: int, total: int, shard: Shard, base: str) -> None:
        tag = f"[{number}/{total}] {shard.branch}"
        info = self.state.shards.get(shard.branch, {})
        if self._finished(shard):
            self.say(f"{tag}: already {info['status']}, skipped")
            self._publish(shard, tag)
            return
        if self.git.has_branch(shard.branch):
            self.say(f"{tag}: the branch exists already; delete it or pick another --branch-prefix")
            self.state.shards[shard.branch] = {"status": "failed", "error": "branch exists"}
            self.failed += 1
            return
        self.state.current = shard.branch
        self.state.save()
        try:
            self.git("checkout", "-q", "--no-track", "-b", shard.branch, base)
            report = self._apply(shard)
            commit = self._commit(shard, report, base)
        except MigrateError as exc:
            self._abandon(shard, base)
            self.say(f"{tag}: failed: {exc}")
            self.state.shards[shard.branch] = {"status": "failed", "error": str(exc)}
            self.state.current = None
            self.state.save()
            self.failed += 1
            return
        except BaseException:
            self._abandon(shard, base)
            raise
        counts = report.counts()
        self.state.shards[shard.branch] = {
            "status": "done" if commit else "empty",
            "base": base,
            "commit": commit,
            "files": len(report.changed),
            "fixes": sum(counts.values()),
            "counts": dict(counts),
            "verify": report.summary(),
            "reverted": [_rel(p.directory, self.root) for p in report.with_outcome("reverted")],
            "repaired": [_rel(p.directory, self.root) for p in report.with_outcome("repaired")],
        }
        self.state.current = None
        self.state.save()
        for line in report.lines(self.root)[1:]:
            self.say(f"{tag}: {line.strip()}")
        what = f"committed {commit[:10]}" if commit else "nothing left after verification, no commit"
        fixes, files = plural(sum(counts.values()), "fix"), plural(len(report.changed), "file")
        self.say(f"{tag}: {fixes} in {files}; {what}")
        if commit:
            self._publish(shard, tag)

    def _finished(self, shard: Shard) -> bool:
        return self.state.finished(shard.branch, self.state.base, self.git.has_branch)

    def _apply(self, shard: Shard) -> VerifyReport:
        if self.verifier is None:
            self.verifier = Verifier(self.opts.verify, timeout=self.opts.verify_timeout, jobs=self.opts.jobs)
        original = {p: r.original for p, r in shard.results.items()}
        fixed = {p: r.new for p, r in shard.results.items() if r.new is not None}
        applied = {p: [f.transform_id for f in r.applied] for p, r in shard.results.items()}
        rerun = safe_rerun(self.opts.settings, shard.transforms)
        return self.verifier.verify_and_repair(original, fixed, rerun, applied)

    def _commit(self, shard: Shard, report: VerifyReport, base: str) -> str | None:
        description = description_file(self.root, shard.branch)
        description.parent.mkdir(parents=True, exist_ok=True)
        description.write_text(
            describe_shard(shard, report, self.root, base, self._guide(base), self.opts.verify),
            encoding="utf-8",
        )
        if not report.changed:
            self._abandon(shard, base)
            return None
        self.git("add", "--", *(str(p) for p in report.changed))
        self.git("commit", "-q", "-m", commit_message(shard, report))
        commit = self.git.commit_of("HEAD") or ""
        if self.git.dirty():
            self.say(f"{shard.branch}: removed files the checks left in the work tree")
            self.git.clean()
        return commit

    def _abandon(self, shard: Shard, base: str) -> None:
        """Throw away a shard branch that was not finished."""
        if self.git.branch() == shard.branch:
            self.git.clean()
            self.git.checkout(base, detach=True)
        if self.git.has_branch(shard.branch):
            self.git("branch", "-q", "-D", shard.branch)

    def _guide(self, base: str) -> str | None:
        if self.opts.guide is not None:
            return self.opts.guide
        if self._guide_found is None:
            self._guide_found = find_guide(self.git, self.opts.push, base) or ""
        return self._guide_found or None

    def _publish(self, shard: Shard, tag: str) -> None:
        info = self.state.shards.get(shard.branch, {})
        if info.get("status") != "done" or self.opts.push is None:
            return
        if not info.get("pushed"):
            self.git("push", "-q", "--set-upstream", self.opts.push, shard.branch)
            info["pushed"] = True
            self.state.save()
            self.say(f"{tag}: pushed to {self.opts.push}")
        if self.opts.open_pr and not info.get("pr"):
            url = self._open_pr(shard, tag)
            if url:
                info["pr"] = url
                self.state.save()

    def _open_pr(self, shard: Shard, tag: str) -> str | None:
        gh = gh_path()
        if gh is None:
            self.say(f"{tag}: gh (the GitHub CLI) is not installed: open the PR by hand with the body in ")
            self.say(f"    {description_file(self.root, shard.branch)}")
            return None
        args = [gh, "pr", "create", "--head", shard.branch, "--title", shard.title]
        args += ["--body-file", str(description_file(self.root, shard.branch))]
        target = self._pr_base()
        if target:
            args += ["--base", target]
        done = subprocess.run(args, cwd=self.root, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            self.say(f"{tag}: gh pr create failed: {(done.stderr or done.stdout).strip()}")
            return None
        url = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "opened"
        self.say(f"{tag}: opened {url}")
        return url

    def _pr_base(self) -> str | None:
        """The branch the PRs go into: --base when it names a branch, else the branch we started on."""
        name = self.opts.base
        if name and self.opts.push and name.startswith(f"{self.opts.push}/"):
            return name.removeprefix(f"{self.opts.push}/")
        if name and self.git.has_branch(name):
            return name
        return self.state.origin_branch if not name else None


def print_plan(shards: list[Shard], state: State, git: Git, base: str, base_note: str) -> None:
    click.echo(f"{plural(len(shards), 'shard')}{base_note}:")
    for number, shard in enumerate(shards, start=1):
        status = state.shards.get(shard.branch, {}).get("status")
        done = f"  [{status}, skipped]" if state.finished(shard.branch, base, git.has_branch) else ""
        scope = " ".join(shard.owners) if shard.owners else shard.group
        counts = ", ".join(f"{t} {n}" for t, n in sorted(shard.counts.items()))
        click.echo(
            f"{number:3}. {shard.branch}  {plural(len(shard.files), 'file')}: {counts}  ({scope}){done}"
        )
        for path in shard.files:
            click.echo(f"       {_rel(path, git.root)}")


def load_options(
    target: Path, config: str | None, select: str | None, ignore: str | None
) -> tuple[Settings, tuple[str, ...]]:
    def ids(value: str | None) -> tuple[str, ...]:
        return tuple(v.strip() for v in (value or "").split(",") if v.strip())

    try:
        if config and not Path(config).is_file():
            raise ConfigError(f"{config}: no such config file")
        settings = load_settings(Path(config) if config else find_config(target))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        chosen = registry.select_transforms(ids(select) or settings.select, ids(ignore) or settings.ignore)
    except KeyError as exc:
        known = ", ".join(registry.all_transforms())
        raise click.UsageError(f"unknown transform id(s): {exc.args[0]} (known: {known})") from None
    return settings, tuple(t.id for t in chosen)


def _say(message: str) -> None:
    click.echo(f"codemod: {message}", err=True)


@click.command("migrate")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--split-by",
    type=click.Choice(SPLITS),
    default="directory",
    show_default=True,
    help="One shard per Go package, per directory under PATH, or per CODEOWNERS owner set.",
)
@click.option("--depth", type=click.IntRange(min=1), help="Levels under PATH for --split-by directory.")
@click.option(
    "--max-files", type=click.IntRange(min=1), default=50, show_default=True, help="Files per shard at most."
)
@click.option("--select", help="Comma-separated transform ids (default: all).")
@click.option("--ignore", help="Comma-separated transform ids to skip.")
@click.option("--config", type=click.Path(dir_okay=False), help="Path to a .codemod.toml.")
@click.option("--unsafe", is_flag=True, help="Also apply fixes marked unsafe.")
@click.option(
    "--verify",
    type=click.Choice(["vet", "test", "none"]),
    default="vet",
    show_default=True,
    help="go vet (test: and go test -short) per changed package; broken packages are repaired or reverted.",
)
@click.option(
    "--verify-timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds per package and go command.",
)
@click.option("--base", help="Commit the shard branches start from (default: HEAD).")
@click.option("--branch-prefix", default="codemod/", show_default=True, help="Start of every branch name.")
@click.option("--group-transforms", is_flag=True, help="Several transforms per shard (default: one).")
@click.option("--dry-run", is_flag=True, help="Print the shard plan; touch nothing.")
@click.option("--push", "remote", metavar="REMOTE", help="Push each finished branch to REMOTE.")
@click.option("--open-pr", is_flag=True, help="Open a PR per branch with `gh pr create` (needs --push).")
@click.option("--guide", help="URL or repo path of the test-writing guide, linked from the PR texts.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Parallel workers (default: all cores).")
def migrate(
    path: Path,
    split_by: str,
    depth: int | None,
    max_files: int,
    select: str | None,
    ignore: str | None,
    config: str | None,
    unsafe: bool,
    verify: str,
    verify_timeout: float,
    base: str | None,
    branch_prefix: str,
    group_transforms: bool,
    dry_run: bool,
    remote: str | None,
    open_pr: bool,
    guide: str | None,
    jobs: int | None,
) -> None:
    """Apply the fixes under PATH as small verified branches, one commit and PR text each."""
    if open_pr and remote is None:
        raise click.UsageError("--open-pr needs --push REMOTE (the PR is opened from the pushed branch)")
    target = path.resolve()
    root = repo_root(target)
    settings, ids = load_options(target, config, select, ignore)
    opts = Options(
        target=target,
        split_by=split_by,
        depth=depth,
        max_files=max_files,
        transform_ids=ids,
        group_transforms=group_transforms,
        allow_unsafe=unsafe or settings.unsafe,
        verify=verify,
        verify_timeout=verify_timeout,
        base=base,
        branch_prefix=branch_prefix,
        push=remote,
        open_pr=open_pr,
        guide=guide,
        jobs=jobs or default_jobs(),
        settings=settings,
    )
    rules: list[Rule] | None = None
    if split_by == "codeowners":
        loaded = load_rules(root)
        if loaded is None:
            raise click.UsageError("--split-by codeowners: no CODEOWNERS in the repo root, .github/ or docs/")
        rules = loaded[1]
    if dry_run:
        _dry_run(root, opts, rules)
        return
    if verify != "none" and shutil.which("go") is None:
        raise click.UsageError("`go` is not on PATH: cannot verify (use --verify none to skip)")
    migration = Migration(root, opts, _say)
    try:
        ensure_excluded(migration.git)
        migration.recover()
        dirty = migration.git.dirty()
        if dirty:
            listing = "\n  ".join(dirty[:10]) + ("\n  ..." if len(dirty) > 10 else "")
            raise click.UsageError(
                f"the work tree has uncommitted changes; commit or stash them first:\n  {listing}"
            )
        code = migration.run(lambda: plan(root, opts, rules, _say))
    except (MigrateError, VerifyError) as exc:
        _say(f"error: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        _say("interrupted: the unfinished shard was dropped; run the same command again to resume")
        sys.exit(130)
    sys.exit(code)


def _dry_run(root: Path, opts: Options, rules: list[Rule] | None) -> None:
    git = Git(root)
    state = State.load(root / STATE_DIR / "state.json")
    head = git.commit_of("HEAD") or ""
    base = git.commit_of(opts.base or "HEAD")
    if base is None:
        raise click.UsageError(f"--base {opts.base}: not a commit")
    note = f" (planned on the work tree, not on {opts.base})" if base != head else ""
    if git.dirty():
        note += " (the work tree has uncommitted changes: a real run refuses to start)"
    print_plan(plan(root, opts, rules, _say), state, git, base, note)
