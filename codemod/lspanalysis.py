"""The editor's view of one open document, through the engine's public functions only.

The same pipeline as the command line: `.codemod.toml` found from the file, the file's module facts,
the selected transforms, then `process_source` for findings and fix-all (what `codemod apply` writes)
and `propose`/`render` for one fix at a time (what `apply --interactive` writes for one `y`). The
text analysed is the editor's buffer, not the file on disk; sibling files come from disk.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemod import callers, files, project, suites
from codemod.config import ConfigError, Settings, find_config, load_settings
from codemod.edits import Finding, Safety
from codemod.engine import FileResult, Proposal, process_source, propose, render
from codemod.files import SKIP_DIRS
from codemod.gosyntax import parse
from codemod.imports import ImportTable
from codemod.project import ProjectInfo, find_gomod, project_for
from codemod.source import BOM, SourceError, SourceText, package_name
from codemod.suppress import with_ignores
from codemod.transform import Transform, all_transforms, select_transforms


@dataclass
class Document:
    """One buffer's analysis; fixes are computed when first asked for, then kept."""

    path: Path
    raw: bytes  # the buffer as UTF-8 bytes (a BOM and CRLF line ends as the buffer has them)
    source: SourceText  # what the engine's byte offsets point into: `source.body`
    settings: Settings
    transforms: list[Transform]
    project: ProjectInfo
    result: FileResult  # findings of one pass (what `codemod check` reports)
    _proposal: Proposal | None = field(default=None, repr=False)
    _fixed: dict[int, bytes | None] = field(default_factory=dict, repr=False)
    _fix_all: bytes | None = field(default=None, repr=False)

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings

    def fixed(self, finding: Finding) -> bytes | None:
        """The buffer with this finding's fix alone (and its imports), or None when there is none that
        keeps the file parsing (the engine drops such a fix, and fixes in broken declarations)."""
        key = id(finding)
        if key not in self._fixed:
            self._fixed[key] = self._render_one(finding)
        return self._fixed[key]

    def _render_one(self, finding: Finding) -> bytes | None:
        if self._proposal is None:
            self._proposal = propose(str(self.path), self.raw, self.project, self.settings, self.transforms)
        proposal = self._proposal
        if proposal.source is None or proposal.skipped is not None:
            return None
        offered = next((f for f in proposal.findings if same_site(f, finding)), None)
        if offered is None:
            return None
        new, dropped = render(proposal, [offered])
        return None if dropped or new == self.raw else new

    def fix_all(self) -> bytes | None:
        """What `codemod apply` would write for this buffer, or None when it would change nothing."""
        if self._fix_all is None:
            result = process_source(
                str(self.path), self.raw, self.project, self.settings, self.transforms, self.settings.unsafe
            )
            self._fix_all = result.new if result.changed and result.new is not None else b""
        return self._fix_all or None

    def ignored(self, finding: Finding) -> bytes:
        """The buffer with an ignore comment that silences the finding (`suppress.with_ignores`)."""
        body = self.source.body
        out, _ = with_ignores(body, parse(body), [finding])
        return self.source.restore(out)


def same_site(a: Finding, b: Finding) -> bool:
    return (a.transform_id, a.start_byte, a.end_byte, a.message) == (
        b.transform_id,
        b.start_byte,
        b.end_byte,
        b.message,
    )


def examined(path: Path, body: bytes, settings: Settings) -> bool:
    """Whether `codemod check ./...` would look at this file: Go test code (a `*_test.go` file, or a
    `.go` file importing `testing`), not under vendor/, testdata/ or a hidden folder, not excluded."""
    if path.suffix != ".go":
        return False
    base = _root(path, settings)
    try:
        rel = path.relative_to(base)
    except ValueError:
        rel = Path(path.name)
    if any(part in SKIP_DIRS or part.startswith((".", "_")) for part in rel.parts[:-1]):
        return False
    if any(fnmatch.fnmatch(rel.as_posix(), p) or fnmatch.fnmatch(path.name, p) for p in settings.exclude):
        return False
    if path.name.endswith("_test.go"):
        return True
    return any(spec.path == "testing" for spec in ImportTable(parse(body)).specs)


def _root(path: Path, settings: Settings) -> Path:
    """Where a `./...` run would start: the config's folder, else the module root, else the file's."""
    if settings.source:
        return Path(settings.source).parent
    gomod = find_gomod(str(path.parent))
    return Path(gomod.root) if gomod is not None else path.parent


def settings_for(path: Path) -> tuple[Settings, list[Transform]]:
    """The file's `.codemod.toml` (walking up from it) and the transforms it selects; ConfigError
    when the config is broken or names an unknown transform."""
    settings = load_settings(find_config(path))
    try:
        transforms = select_transforms(settings.select, settings.ignore)
    except KeyError as exc:
        known = ", ".join(all_transforms())
        raise ConfigError(
            f"{settings.source}: unknown transform id(s): {exc.args[0]} (known: {known})"
        ) from None
    return settings, ([] if "all" in settings.ignore else transforms)


def open_document(path: Path, text: str) -> Document | None:
    """Analyse a buffer; None when the tool does not examine this file. Raises ConfigError."""
    path = path.resolve()
    raw = text.encode("utf-8")
    settings, transforms = settings_for(path)
    body = raw.removeprefix(BOM)
    if not transforms or not examined(path, body, settings):
        return None
    package = package_name(body)
    if package is None:
        return None  # no package clause yet (a new buffer): nothing to say
    try:
        source = SourceText.from_raw(raw)
    except SourceError:
        return None  # cannot happen for text an editor sends (it is UTF-8 by then)
    info = project_for(path, settings.helper_import, package, settings.end_to_end_folders)
    result = process_source(str(path), raw, info, settings, transforms, analyse_only=True)
    return Document(path, raw, source, settings, transforms, info, result)


def fix_state(finding: Finding) -> str:
    if finding.fix is None:
        return "no fix"
    return "safe" if finding.fix.safety is Safety.SAFE else "unsafe"


def why(transform_id: str) -> str:
    """The first paragraph of a transform's `Why` section (its `codemod explain` text), on one line."""
    known = all_transforms().get(transform_id)
    if known is None:
        return ""
    lines = known.doc().splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Why" and not line[:1].isspace())
    except StopIteration:
        return known.summary
    paragraph: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            if paragraph:
                break
            continue
        if not line[:1].isspace():
            break
        paragraph.append(line.strip())
    return " ".join(paragraph) or known.summary


# Module-level caches that read files from disk (siblings, go.mod, the helper package): a long-lived
# server clears them when a file is saved, so a saved sibling is seen at once.
def clear_disk_caches() -> None:
    for module in (files, project, callers, suites):
        for value in vars(module).values():
            clear: Callable[[], Any] | None = getattr(value, "cache_clear", None)
            if callable(clear):
                clear()
