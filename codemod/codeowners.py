"""GitHub CODEOWNERS: find the file, parse its rules, and say who owns a path (the last match wins)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# GitHub looks in this order and uses the first file it finds.
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


@dataclass(frozen=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]  # empty: the path has no owner (a later rule can un-own a subtree)
    regex: re.Pattern[str]


def find_codeowners(root: Path) -> Path | None:
    return next((root / rel for rel in LOCATIONS if (root / rel).is_file()), None)


def _segment_regex(pattern: str) -> str:
    """`**` spans directories, `*` and `?` stay inside one; everything else is literal."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A CODEOWNERS pattern as a regex on repo-relative posix paths.

    A pattern with a slash before its end is anchored at the root; one without matches at any depth.
    A trailing `/` matches only a directory's contents; `dir/*` matches direct children only (GitHub's
    documented difference from .gitignore); any other pattern matches a file or a whole directory.
    """
    body = pattern.strip("/")
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    prefix = "^" if anchored else "^(?:.*/)?"
    if pattern.endswith("/"):
        suffix = "/.*$"
    elif pattern.endswith("/*"):
        suffix = "$"
    else:
        suffix = "(?:/.*)?$"
    return re.compile(prefix + _segment_regex(body) + suffix)


def parse_codeowners(text: str) -> list[Rule]:
    rules: list[Rule] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # An unescaped `#` starts a comment; `\#` is a literal hash in a pattern.
        line = re.split(r"(?<!\\)#", line, maxsplit=1)[0].strip()
        parts = re.split(r"(?<!\\)\s+", line)
        pattern, owners = parts[0], tuple(p for p in parts[1:] if p)
        if not pattern or pattern == "/":
            continue
        rules.append(Rule(pattern, owners, compile_pattern(pattern.replace("\\ ", " "))))
    return rules


def owners_of(rules: list[Rule], rel_path: str) -> tuple[str, ...]:
    """The owners of a repo-relative posix path: the last rule that matches decides."""
    for rule in reversed(rules):
        if rule.regex.match(rel_path):
            return rule.owners
    return ()


def load_rules(root: Path) -> tuple[Path, list[Rule]] | None:
    found = find_codeowners(root)
    if found is None:
        return None
    return found, parse_codeowners(found.read_text(encoding="utf-8", errors="replace"))
