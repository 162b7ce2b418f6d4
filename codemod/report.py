"""`codemod check` output: text, json, SARIF 2.1.0 and GitHub workflow annotations, in one order."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from codemod import __version__
from codemod.edits import Finding
from codemod.transform import all_transforms

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
UNUSED_IGNORE = "unused-ignore"


@dataclass(frozen=True)
class Reported:
    path: str  # as the user named it, forward slashes
    finding: Finding

    @property
    def key(self) -> tuple[str, int, int, str]:
        return (self.path, self.finding.line, self.finding.column, self.finding.transform_id)


def ordered(items: Sequence[Reported]) -> list[Reported]:
    return sorted(items, key=lambda r: r.key)


def as_text(items: Sequence[Reported]) -> str:
    lines = []
    for item in ordered(items):
        f = item.finding
        fixable = "" if f.fix is None else f" [{f.fix.safety.value} fix]"
        lines.append(f"{item.path}:{f.line}:{f.column}: {f.transform_id} {f.message}{fixable}\n")
    return "".join(lines)


def as_records(items: Sequence[Reported]) -> list[dict[str, Any]]:
    return [
        {
            "path": item.path,
            "line": item.finding.line,
            "column": item.finding.column,
            "transform": item.finding.transform_id,
            "message": item.finding.message,
            "fix": None
            if item.finding.fix is None
            else {"safety": item.finding.fix.safety.value, "reason": item.finding.fix.reason},
        }
        for item in ordered(items)
    ]


def _opening_of_last_parenthesis(message: str) -> int | None:
    """Where the parenthesis that closes `message` opens (nested ones included), if it ends in one."""
    if not message.endswith(")"):
        return None
    depth = 0
    for index in range(len(message) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(message[index], 0)
        if depth == 0:
            return index if index > 0 and message[index - 1] == " " else None
    return None


def left_reason(finding: Finding) -> str:
    """Why a finding has no fix: its message's last parenthesis, or the message itself."""
    message = finding.message
    opening = _opening_of_last_parenthesis(message)
    if opening is not None:
        message = message[opening + 1 : -1]
    elif ": " in message:
        message = message.split(": ", 1)[1]
    message = message.removesuffix("; review by hand")
    # Group by kind: names of tests, receivers and fields vary from site to site.
    message = re.sub(r"'[^' ]*'", "'…'", message)
    return re.sub(r"\b\w+\.T\(\)", "s.T()", message)


def as_statistics(items: Sequence[Reported]) -> list[dict[str, Any]]:
    """Findings per transform, most first: `{"transform", "count", "fixable", "left"}`, where `left`
    counts the findings without a fix by reason, most first."""
    count: Counter[str] = Counter()
    fixable: Counter[str] = Counter()
    left: dict[str, Counter[str]] = {}
    for item in items:
        transform = item.finding.transform_id
        count[transform] += 1
        fixable[transform] += item.finding.fix is not None
        if item.finding.fix is None:
            left.setdefault(transform, Counter())[left_reason(item.finding)] += 1
    ordered_ids = sorted(count, key=lambda i: (-count[i], i))
    return [
        {
            "transform": i,
            "count": count[i],
            "fixable": fixable[i],
            "left": dict(sorted(left.get(i, Counter()).items(), key=lambda kv: (-kv[1], kv[0]))),
        }
        for i in ordered_ids
    ]


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def as_github(items: Sequence[Reported]) -> str:
    """`::warning file=...,line=...,col=...,title=...::message`, escaped as the Actions toolkit does."""
    lines = []
    for item in ordered(items):
        f = item.finding
        where = f"file={_escape_property(item.path)},line={f.line},col={f.column}"
        props = f"{where},title={_escape_property(f.transform_id)}"
        lines.append(f"::warning {props}::{_escape_data(f.message)}\n")
    return "".join(lines)


def as_sarif(items: Sequence[Reported], transform_ids: Sequence[str]) -> dict[str, Any]:
    """One run; one rule per transform that ran (plus unused-ignore), results in a stable order."""
    transforms = all_transforms()
    rule_ids = [i for i in transform_ids if i in transforms]
    if any(item.finding.transform_id == UNUSED_IGNORE for item in items):
        rule_ids.append(UNUSED_IGNORE)
    rules = [_rule(rule_id, transforms) for rule_id in rule_ids]
    index = {rule_id: n for n, rule_id in enumerate(rule_ids)}
    results = []
    for item in ordered(items):
        f = item.finding
        results.append(
            {
                "ruleId": f.transform_id,
                "ruleIndex": index[f.transform_id],
                "level": "warning",
                "message": {"text": f.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": quote(item.path), "uriBaseId": "%SRCROOT%"},
                            "region": {"startLine": f.line, "startColumn": f.column},
                        }
                    }
                ],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "codemod", "version": __version__, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _rule(rule_id: str, transforms: dict[str, Any]) -> dict[str, Any]:
    if rule_id == UNUSED_IGNORE:
        summary, doc = "a //codemod:ignore comment that silences nothing", "Remove the comment."
    else:
        summary, doc = transforms[rule_id].summary, transforms[rule_id].doc()
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": doc.split("\n\n")[0]},
        "help": {"text": doc},
        "defaultConfiguration": {"level": "warning"},
    }
