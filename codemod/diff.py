"""Unified diffs (difflib) and their coloured rendering."""

from __future__ import annotations

import difflib

from rich.console import Console
from rich.text import Text


def unified_diff(path: str, before: bytes, after: bytes, context: int = 3) -> str:
    a = before.decode("utf-8", errors="replace").splitlines(keepends=True)
    b = after.decode("utf-8", errors="replace").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, fromfile=f"a/{path}", tofile=f"b/{path}", n=context)
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def style_for(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return ""


def render_diff(console: Console, diff: str) -> None:
    """Print a diff; colour only when the console has colour (a terminal, no NO_COLOR)."""
    if not console.is_terminal or console.no_color:
        console.file.write(diff)
        console.file.flush()
        return
    for line in diff.splitlines():
        console.print(Text(line, style=style_for(line)), soft_wrap=True)
