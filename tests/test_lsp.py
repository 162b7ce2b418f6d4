"""`codemod lsp` end to end: a real LSP client (pytest-lsp) drives the server over stdio.

Each test runs with the captured capabilities of three editors, which differ where the server must:
VS Code counts columns in UTF-16 and takes versioned `documentChanges`; Neovim 0.11 offers UTF-8
first and takes `changes`; Emacs (eglot) offers UTF-32 first and cannot resolve code actions lazily.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from codemod.lsptext import Pos, TextChange, line_changes
from tests.helpers import run_codemod

GOMOD = "module github.com/multigres/multigres\n\ngo 1.25\n"
HELPER = """package utils

import (
\t"context"
\t"testing"
)

func WithShortDeadline(t *testing.T) context.Context { return t.Context() }

func WithTimeout(t *testing.T) context.Context { return t.Context() }
"""
SHOP = """package shop

import "context"

func get(ctx context.Context, name string) error { return ctx.Err() }
"""
# Non-ASCII before the finding on its line: 'é' is 2 UTF-8 bytes and 1 UTF-16 unit, '🍮' 4 and 2.
TEST = """package shop

import (
\t"context"
\t"testing"
)

func TestDessert(t *testing.T) {
\tname := "crème brûlée 🍮"; _ = get(context.Background(), name)
}
"""
BACKGROUND = "context.Background()"

CLIENTS = ["visual-studio-code", "neovim@v0.11.0", "emacs"]


# One server per editor for the whole module (each test has its own Go module in its tmp_path).
@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "codemod", "lsp"]),
    params=CLIENTS,
    scope="module",
)
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities(request.param))
    )
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def module(tmp_path: Path) -> Path:
    """A Go module with the guide's helper package and one test file to fix."""
    (tmp_path / "go.mod").write_text(GOMOD)
    (tmp_path / "go/test/utils").mkdir(parents=True)
    (tmp_path / "go/test/utils/context.go").write_text(HELPER)
    (tmp_path / "go/shop").mkdir(parents=True)
    (tmp_path / "go/shop/shop.go").write_text(SHOP)
    (tmp_path / "go/shop/shop_test.go").write_text(TEST)
    return tmp_path


def encoding(client: LanguageClient) -> str:
    general = client.capabilities.general if client.capabilities else None
    offered = (general.position_encodings if general else None) or ["utf-16"]
    return str(offered[0]) if offered[0] in ("utf-8", "utf-16", "utf-32") else "utf-16"


def width(text: str, unit: str) -> int:
    """Columns as the client counts them; written apart from the server's own arithmetic."""
    if unit == "utf-8":
        return len(text.encode("utf-8"))
    if unit == "utf-32":
        return len(text)
    return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def offset(text: str, position: types.Position, unit: str) -> int:
    """The str index of an LSP position in `text`."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: position.line])
    line, counted = lines[position.line] if position.line < len(lines) else "", 0
    for index, char in enumerate(line):
        if counted >= position.character:
            return start + index
        counted += width(char, unit)
    return start + len(line)


def apply_edit(text: str, edit: types.WorkspaceEdit, uri: str, unit: str) -> str:
    """What an editor does with a WorkspaceEdit: edits refer to the original text, applied last first."""
    edits: Sequence[types.TextEdit] = []
    if edit.document_changes:
        (change,) = edit.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.uri == uri
        edits = [e for e in change.edits if isinstance(e, types.TextEdit)]
    elif edit.changes:
        edits = edit.changes[uri]
    spans = sorted(
        (offset(text, e.range.start, unit), offset(text, e.range.end, unit), e.new_text) for e in edits
    )
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert end <= start, "LSP forbids overlapping edits"
    for start, end, new in reversed(spans):
        text = text[:start] + new + text[end:]
    return text


async def open_file(client: LanguageClient, path: Path, text: str | None = None) -> list[types.Diagnostic]:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="go", version=1, text=text or path.read_text())
        )
    )
    await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 60)
    return list(client.diagnostics[uri])


async def change_file(client: LanguageClient, path: Path, text: str, version: int) -> list[types.Diagnostic]:
    uri = path.as_uri()
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 60)
    return list(client.diagnostics[uri])


async def actions(
    client: LanguageClient, path: Path, where: types.Range, only: list[str] | None = None
) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
            range=where,
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
    )
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


async def resolved(client: LanguageClient, action: types.CodeAction) -> types.WorkspaceEdit:
    if action.edit is None:  # the client resolves lazily: ask for the edit of the picked action
        action = await client.code_action_resolve_async(action)
    assert action.edit is not None
    return action.edit


def codemod_apply(module: Path, rel: str) -> bytes:
    done = run_codemod("apply", rel, cwd=module)
    assert done.returncode == 0, done.stderr
    return (module / rel).read_bytes()


@pytest.mark.asyncio(loop_scope="module")
async def test_diagnostic_at_the_finding_in_the_clients_units(client: LanguageClient, module: Path) -> None:
    (diagnostic,) = await open_file(client, module / "go/shop/shop_test.go")
    line = TEST.splitlines()[8]
    unit = encoding(client)
    start = width(line[: line.index(BACKGROUND)], unit)
    assert diagnostic.range == types.Range(
        types.Position(8, start), types.Position(8, start + width(BACKGROUND, unit))
    )
    assert diagnostic.code == "test-context"
    assert diagnostic.source == "codemod"
    first, fix, why = diagnostic.message.splitlines()
    assert first == "context.Background() in a test: derive the context from t"
    assert fix.startswith("safe fix: ")
    assert why.startswith("Why (codemod explain test-context): ")


@pytest.mark.asyncio(loop_scope="module")
async def test_fix_all_gives_the_bytes_codemod_apply_writes(client: LanguageClient, module: Path) -> None:
    path = module / "go/shop/shop_test.go"
    (diagnostic,) = await open_file(client, path)
    (fix_all,) = await actions(client, path, diagnostic.range, only=["source.fixAll"])
    assert fix_all.kind == "source.fixAll.codemod"
    fixed = apply_edit(TEST, await resolved(client, fix_all), path.as_uri(), encoding(client))
    written = codemod_apply(module, "go/shop/shop_test.go")
    assert fixed.encode() == written
    assert '"github.com/multigres/multigres/go/test/utils"' in fixed  # the import the fix needs
    assert '"context"' not in fixed  # and the one it left unused


@pytest.mark.asyncio(loop_scope="module")
async def test_crlf_and_bom_are_kept(client: LanguageClient, module: Path) -> None:
    path = module / "go/shop/shop_test.go"
    text = "\ufeff" + TEST.replace("\n", "\r\n")
    path.write_bytes(text.encode())
    (diagnostic,) = await open_file(client, path, text)
    line = TEST.splitlines()[8]
    assert diagnostic.range.start == types.Position(
        8, width(line[: line.index(BACKGROUND)], encoding(client))
    )
    offered = await actions(client, path, diagnostic.range)
    _, ignore, fix_all = offered
    unit = encoding(client)
    written = codemod_apply(module, "go/shop/shop_test.go")
    assert written.startswith(b"\xef\xbb\xbfpackage shop\r\n")
    assert apply_edit(text, await resolved(client, fix_all), path.as_uri(), unit).encode() == written
    silenced = apply_edit(text, await resolved(client, ignore), path.as_uri(), unit)
    assert "\r\n\t//codemod:ignore test-context\r\n\tname := " in silenced


@pytest.mark.asyncio(loop_scope="module")
async def test_quick_fix_and_ignore_for_a_finding(client: LanguageClient, module: Path) -> None:
    path = module / "go/shop/shop_test.go"
    (diagnostic,) = await open_file(client, path)
    offered = await actions(client, path, diagnostic.range)
    titles = [a.title for a in offered]
    assert [a.kind for a in offered] == ["quickfix", "quickfix", "source.fixAll.codemod"], titles
    fix, ignore, _ = offered
    assert fix.title.startswith("codemod: fix test-context (")
    assert fix.is_preferred
    assert fix.diagnostics and fix.diagnostics[0].code == "test-context"
    unit = encoding(client)
    fixed = apply_edit(TEST, await resolved(client, fix), path.as_uri(), unit)
    assert fixed.encode() == codemod_apply(module, "go/shop/shop_test.go")  # one fix: the same here
    silenced = apply_edit(TEST, await resolved(client, ignore), path.as_uri(), unit)
    assert "\t//codemod:ignore test-context\n\tname := " in silenced
    assert await change_file(client, path, silenced, 2) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_unsaved_buffer_is_analysed_not_the_file(client: LanguageClient, module: Path) -> None:
    path = module / "go/shop/shop_test.go"
    assert len(await open_file(client, path)) == 1
    edited = TEST + '\nfunc TestMore(t *testing.T) {\n\t_ = get(context.TODO(), "x")\n}\n'
    diagnostics = await change_file(client, path, edited, 2)
    assert [d.range.start.line for d in diagnostics] == [8, 12]
    assert path.read_text() == TEST


@pytest.mark.asyncio(loop_scope="module")
async def test_no_fix_inside_a_declaration_that_does_not_parse(client: LanguageClient, module: Path) -> None:
    path = module / "go/shop/shop_test.go"
    broken = TEST.replace("name)\n}", "name)\n\tif {\n}")
    diagnostics = await open_file(client, path, broken)
    findings = [d for d in diagnostics if d.code == "test-context"]
    notes = [d for d in diagnostics if d.code is None]
    assert notes and "not examined by codemod" in notes[0].message
    for diagnostic in findings:
        offered = await actions(client, path, diagnostic.range)
        assert all(a.title.startswith("codemod: ignore") for a in offered if a.kind == "quickfix")


@pytest.mark.asyncio(loop_scope="module")
async def test_config_and_scope(client: LanguageClient, module: Path) -> None:
    helper = module / "go/shop/testing_helpers.go"  # not a test file, but it imports testing
    helper.write_text(
        'package shop\n\nimport (\n\t"context"\n\t"testing"\n)\n\n'
        'func newCart(t *testing.T) error {\n\treturn get(context.Background(), "cart")\n}\n'
    )
    assert [d.code for d in await open_file(client, helper)] == ["test-context"]
    assert await open_file(client, module / "go/shop/shop.go") == []  # production code
    (module / ".codemod.toml").write_text('ignore = ["test-context"]\n')
    assert await open_file(client, module / "go/shop/shop_test.go") == []
    (module / ".codemod.toml").write_text('select = ["test-contxt"]\n')
    (problem,) = await change_file(client, module / "go/shop/shop_test.go", TEST, 2)
    assert problem.severity == types.DiagnosticSeverity.Error
    assert "unknown transform id(s): test-contxt" in problem.message


def test_line_changes_touch_only_the_lines_that_differ() -> None:
    old = "a\nbé🍮\nc"
    new = "a\nB\nc\nd\n"
    changes = line_changes(old, new)
    assert changes == [TextChange(Pos(1, 0), Pos(2, 1), "B\nc\nd\n")]
    assert line_changes("x\n", "x\ny\n") == [TextChange(Pos(1, 0), Pos(1, 0), "y\n")]
    assert line_changes("é🍮", "z", "utf-8") == [TextChange(Pos(0, 0), Pos(0, 6), "z")]
