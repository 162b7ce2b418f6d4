"""One contract every transform keeps, so adding one means its module and its golden cases only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codemod.migrate import doc_sections
from codemod.transform import Transform, all_transforms
from tests.goldens import all_cases

# The guide the transforms answer to (multigres' test-writing guide), kept in docs/ so CI checks it too.
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "test-writing-guide.md"
TRANSFORMS = all_transforms()


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=list(TRANSFORMS))
def test_transform_contract(transform: type[Transform]) -> None:
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", transform.id), "ids are kebab-case"
    assert transform.summary, "list shows a one-line summary"
    sections = doc_sections(transform.doc())
    for heading in ("What it does", "Why", "Example", "Fix safety"):
        assert heading in sections, f"{transform.id}: its docstring spec lacks '{heading}'"
    assert transform.guide_section, f"{transform.id}: name the guide section it answers to"
    assert any(case.transform == transform.id for case in all_cases()), f"{transform.id}: no golden case"


@pytest.mark.parametrize("transform", TRANSFORMS.values(), ids=list(TRANSFORMS))
def test_guide_section_is_a_heading(transform: type[Transform]) -> None:
    headings = {line.lstrip("#").strip() for line in GUIDE.read_text().splitlines() if line.startswith("#")}
    assert transform.guide_section in headings
