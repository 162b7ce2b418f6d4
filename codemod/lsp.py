"""`codemod lsp`: a language server on stdin/stdout for editors (see codemod/lspserver.py)."""

from __future__ import annotations

import click


@click.command("lsp")
def lsp() -> None:
    """Run the language server on stdin/stdout: diagnostics and fixes for Go test files."""
    from codemod.lspserver import server  # pygls and lsprotocol take a second to import: only here

    server.start_io()
