from __future__ import annotations

import pytest

from codemod import transform as registry
from tests.helpers import BreakBuild


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite golden/*/*.golden from the current output (review the diff before committing).",
    )


@pytest.fixture
def break_build(monkeypatch: pytest.MonkeyPatch) -> str:
    """Register the test-only BreakBuild transform next to the real ones."""
    real = registry.all_transforms()
    monkeypatch.setattr(registry, "all_transforms", lambda: {**real, BreakBuild.id: BreakBuild})
    return BreakBuild.id
