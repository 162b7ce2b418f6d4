"""Byte-exact golden cases, each re-run on its own output to prove the fix reaches a fixpoint."""

from __future__ import annotations

import pytest

from tests.goldens import Case, all_cases, findings_of, output_of

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden(case: Case, request: pytest.FixtureRequest) -> None:
    source = case.input.read_bytes()
    actual = output_of(case, source)
    if request.config.getoption("--update-golden"):
        if actual == source:
            case.golden.unlink(missing_ok=True)  # no .golden: the case must leave its input unchanged
        else:
            case.golden.write_bytes(actual)
        return
    expected = case.expected.read_bytes()
    assert actual.decode() == expected.decode()
    assert actual == expected  # byte-exact, CR and BOM included


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_findings(case: Case, request: pytest.FixtureRequest) -> None:
    """What `codemod check` reports for the input: fixes and the sites left for a human."""
    expected_path = case.input.with_suffix(".findings")
    actual = findings_of(case, case.input.read_bytes())
    if request.config.getoption("--update-golden"):
        expected_path.write_text(actual)
        return
    assert expected_path.exists(), f"missing {expected_path}; run pytest --update-golden and review it"
    assert actual == expected_path.read_text()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden_is_a_fixpoint(case: Case) -> None:
    golden = case.expected.read_bytes()
    assert output_of(case, golden) == golden, "a second run changed the golden output"


def test_enough_cases_per_transform() -> None:
    counts: dict[str, int] = {}
    for case in CASES:
        counts[case.transform] = counts.get(case.transform, 0) + 1
    assert counts.get("test-context", 0) >= 20
    assert counts.get("sleep-then-assert", 0) >= 20
    assert counts.get("hardcoded-port", 0) >= 15
