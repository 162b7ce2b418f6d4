"""Each time.Sleep gets one verdict: sleep-then-assert's or sleep-without-condition's, never both."""

from __future__ import annotations

import pytest

from codemod.engine import process_source
from codemod.gosyntax import call_parts, find, parse
from codemod.transform import select_transforms
from tests.goldens import Case, all_cases, project_for_case, settings_for_case

SLEEP_TRANSFORMS = ("sleep-then-assert", "sleep-without-condition")
CASES = [c for c in all_cases() if c.transform in SLEEP_TRANSFORMS]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_sleep_has_at_most_one_verdict(case: Case) -> None:
    source = case.input.read_bytes()
    result = process_source(
        f"{case.transform}/{case.name}/case_test.go",
        source,
        project_for_case(case),
        settings_for_case(case),
        select_transforms(SLEEP_TRANSFORMS, ()),
        allow_unsafe=False,
    )
    sleeps = [c for c in find(parse(source).root_node, "call_expression") if call_parts(c)[1] == "Sleep"]
    for sleep in sleeps:
        verdicts = [f.transform_id for f in result.findings if f.start_byte == sleep.start_byte]
        assert len(verdicts) <= 1, f"{case.id}: line {sleep.start_point[0] + 1} reported by {verdicts}"
