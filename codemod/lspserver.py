"""The language server behind `codemod lsp`: the tool's findings as diagnostics and its fixes as code
actions: a quick fix per finding (unsafe ones say so), `source.fixAll.codemod` (what `codemod apply`
writes), and "ignore this finding" (a `//codemod:ignore <id>` comment).

Built on pygls; the analysis is `codemod.lspanalysis`, the position arithmetic `codemod.lsptext`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from codemod import __version__
from codemod.config import ConfigError
from codemod.edits import Finding, Safety
from codemod.lspanalysis import Document, clear_disk_caches, fix_state, open_document, why
from codemod.lsptext import UTF16, Pos, byte_position, line_changes, units
from codemod.source import BOM

SOURCE = "codemod"
FIX_ALL = "source.fixAll.codemod"
KINDS = [types.CodeActionKind.QuickFix, FIX_ALL]
PAUSE = 0.15  # seconds without a change before a changed buffer is analysed

log = logging.getLogger(__name__)


@dataclass
class Open:
    """The last analysis of an open document: its version, and None when the tool does not examine it."""

    version: int | None
    document: Document | None


class CodemodServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "codemod", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.open: dict[str, Open] = {}

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or UTF16)

    def resolves_edits(self) -> bool:
        """Whether the client fills in a code action's edit on `codeAction/resolve` (then the fixes
        are computed only for the action the user picks)."""
        action = self.client_capabilities.text_document and self.client_capabilities.text_document.code_action
        support = action.resolve_support if action else None
        return bool(support and "edit" in support.properties)

    def document_changes(self) -> bool:
        workspace = self.client_capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        return bool(edit and edit.document_changes)


server = CodemodServer()


def analyse(ls: CodemodServer, uri: str) -> Open:
    """Analyse the buffer (not the file on disk) and publish its diagnostics."""
    text_document = ls.workspace.get_text_document(uri)
    path = to_fs_path(uri) if uri.startswith("file:") else None
    state = Open(text_document.version, None)
    diagnostics: list[types.Diagnostic] = []
    if path is not None:
        try:
            state.document = open_document(Path(path), text_document.source)
        except ConfigError as exc:
            diagnostics.append(_config_diagnostic(str(exc)))
        except Exception as exc:  # a bug of ours must not take the editor's server down
            log.exception("analysing %s", path)
            ls.window_log_message(
                types.LogMessageParams(
                    types.MessageType.Error, f"codemod: {path}: {type(exc).__name__}: {exc}"
                )
            )
    if state.document is not None:
        diagnostics = [*_syntax_notes(state.document, ls.encoding)]
        diagnostics += [_diagnostic(state.document, f, ls.encoding) for f in state.document.findings]
    ls.open[uri] = state
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=uri, version=text_document.version, diagnostics=diagnostics)
    )
    return state


def _position(document: Document, offset: int, encoding: str) -> types.Position:
    pos = byte_position(document.source.body, offset, encoding)
    if pos.line == 0 and document.raw.startswith(BOM):  # the buffer holds the BOM the engine strips
        pos = Pos(0, pos.character + units("\ufeff", encoding))
    return types.Position(pos.line, pos.character)


def _range(document: Document, finding: Finding, encoding: str) -> types.Range:
    return types.Range(
        _position(document, finding.start_byte, encoding), _position(document, finding.end_byte, encoding)
    )


def _diagnostic(document: Document, finding: Finding, encoding: str) -> types.Diagnostic:
    """The finding's message first (what an editor shows inline), then the fix's safety and reason,
    then why the guide asks for it: the first paragraph of `codemod explain <id>`'s Why."""
    lines = [finding.message]
    fix = finding.fix
    if fix is not None:
        lines.append(f"{'safe' if fix.safety is Safety.SAFE else 'UNSAFE'} fix: {fix.reason}")
    reason = why(finding.transform_id)
    if reason:
        lines.append(f"Why (codemod explain {finding.transform_id}): {reason}")
    return types.Diagnostic(
        range=_range(document, finding, encoding),
        message="\n".join(lines),
        severity=types.DiagnosticSeverity.Warning,
        code=finding.transform_id,
        source=SOURCE,
        data={"transform": finding.transform_id, "fix": fix_state(finding)},
    )


def _syntax_notes(document: Document, encoding: str) -> list[types.Diagnostic]:
    """A declaration with a syntax error is not examined: say so where it is (gopls names the error)."""
    notes = []
    for where in document.result.unparsed:
        line_col, _, what = where.partition(": ")
        line = line_col.partition(":")[0]
        start = types.Position(int(line) - 1, 0)
        notes.append(
            types.Diagnostic(
                range=types.Range(start, start),
                message=f"syntax error: {what} not examined by codemod (no findings or fixes there)",
                severity=types.DiagnosticSeverity.Information,
                source=SOURCE,
            )
        )
    return notes


def _config_diagnostic(message: str) -> types.Diagnostic:
    start = types.Position(0, 0)
    return types.Diagnostic(
        range=types.Range(start, start),
        message=f"codemod: {message}",
        severity=types.DiagnosticSeverity.Error,
        source=SOURCE,
    )


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: CodemodServer, params: types.DidOpenTextDocumentParams) -> None:
    analyse(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: CodemodServer, params: types.DidChangeTextDocumentParams) -> None:
    """Analyse once typing pauses: a change that a newer one follows within the pause is skipped
    (a large file takes a fifth of a second; every keystroke would queue one)."""
    uri, version = params.text_document.uri, params.text_document.version
    await asyncio.sleep(PAUSE)
    if ls.workspace.get_text_document(uri).version == version:
        analyse(ls, uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: CodemodServer, params: types.DidSaveTextDocumentParams) -> None:
    """A saved file may be another open file's sibling (suite types, helpers): analyse them all again."""
    clear_disk_caches()
    for uri in sorted(ls.open):
        analyse(ls, uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: CodemodServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.open.pop(uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True)
)
def code_action(ls: CodemodServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    state = ls.open.get(uri)
    if state is None or state.version != ls.workspace.get_text_document(uri).version:
        state = analyse(ls, uri)
    document = state.document
    if document is None:
        return []
    actions: list[types.CodeAction] = []
    if _wanted(types.CodeActionKind.QuickFix, params.context.only):
        for index, finding in enumerate(document.findings):
            where = _range(document, finding, ls.encoding)
            if not _touches(where, params.range):
                continue
            diagnostic = _diagnostic(document, finding, ls.encoding)
            # A fix is offered only when it applies and the file still parses: computed now (one
            # fix is quick), so the editor never shows a fix that does nothing.
            if finding.fix is not None and document.fixed(finding) is not None:
                actions.append(_action(ls, uri, state, "fix", index, diagnostic))
            actions.append(_action(ls, uri, state, "ignore", index, diagnostic))
    if _wanted(FIX_ALL, params.context.only):
        # The whole file to a fixpoint is slower: left to codeAction/resolve where the client can.
        lazy = ls.resolves_edits()
        if lazy or document.fix_all() is not None:
            actions.append(_action(ls, uri, state, "fix-all", -1, None, lazy))
    return actions


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    """LSP's `only` filter: `source` asks for `source.fixAll.codemod` too (kinds are dotted prefixes)."""
    return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)


def _touches(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _action(
    ls: CodemodServer,
    uri: str,
    state: Open,
    what: str,
    index: int,
    diagnostic: types.Diagnostic | None,
    lazy: bool = False,
) -> types.CodeAction:
    assert state.document is not None
    finding = state.document.findings[index] if index >= 0 else None
    action = types.CodeAction(
        title=_title(what, finding, state.document),
        kind=FIX_ALL if what == "fix-all" else types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic] if diagnostic is not None else None,
        is_preferred=bool(what == "fix" and finding and finding.fix and finding.fix.safety is Safety.SAFE),
        data={"uri": uri, "version": state.version, "what": what, "index": index},
    )
    if not lazy:
        action.edit = _edit(ls, uri, state, what, finding)
    return action


def _title(what: str, finding: Finding | None, document: Document) -> str:
    if finding is None:
        unsafe = " (and unsafe ones: unsafe = true)" if document.settings.unsafe else ""
        return f"codemod: apply every safe fix in this file{unsafe}"
    if what == "ignore":
        return f"codemod: ignore this {finding.transform_id} finding (//codemod:ignore)"
    assert finding.fix is not None
    if finding.fix.safety is Safety.UNSAFE:
        return f"codemod: UNSAFE fix ({finding.fix.reason}): {finding.transform_id}"
    return f"codemod: fix {finding.transform_id} ({finding.fix.reason})"


def _edit(
    ls: CodemodServer, uri: str, state: Open, what: str, finding: Finding | None
) -> types.WorkspaceEdit | None:
    document = state.document
    assert document is not None
    if what == "fix-all":
        new = document.fix_all()
    elif finding is None:
        return None
    elif what == "fix":
        new = document.fixed(finding)
    else:
        new = document.ignored(finding)
    if new is None:
        return None
    old = document.raw.decode("utf-8")
    edits = [
        types.TextEdit(
            range=types.Range(
                types.Position(c.start.line, c.start.character), types.Position(c.end.line, c.end.character)
            ),
            new_text=c.text,
        )
        for c in line_changes(old, new.decode("utf-8"), ls.encoding)
    ]
    if not edits:
        return None
    if ls.document_changes():
        identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=state.version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(identifier, edits)])
    return types.WorkspaceEdit(changes={uri: edits})


@server.feature(types.CODE_ACTION_RESOLVE)
def code_action_resolve(ls: CodemodServer, action: types.CodeAction) -> types.CodeAction:
    """Compute the edit of the action the user picked, if the document has not changed since."""
    data: dict[str, Any] = action.data if isinstance(action.data, dict) else {}
    uri, what, index = data.get("uri"), data.get("what"), data.get("index")
    state = ls.open.get(uri) if isinstance(uri, str) else None
    if state is None or state.document is None or state.version != data.get("version"):
        return action  # stale: no edit, the client asks again for the new text
    if not isinstance(index, int) or not isinstance(what, str) or index >= len(state.document.findings):
        return action
    finding = state.document.findings[index] if index >= 0 else None
    assert isinstance(uri, str)
    action.edit = _edit(ls, uri, state, what, finding)
    return action
