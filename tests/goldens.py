"""Golden cases: golden/<transform-id>/<case>.input, <case>.golden and an optional <case>.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemod.config import Settings
from codemod.engine import FileResult, process_source
from codemod.project import HELPER_FUNCS, ProjectInfo
from codemod.transform import select_transforms

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"
MODULE = "github.com/multigres/multigres"


@dataclass(frozen=True)
class Case:
    transform: str
    name: str
    input: Path
    golden: Path
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.transform}/{self.name}"

    @property
    def expected(self) -> Path:
        """What the transform must produce: the `.golden` file, or the input itself when it has none
        (a case that must stay unchanged keeps no byte copy of its input)."""
        return self.golden if self.golden.exists() else self.input

    @property
    def vet(self) -> bool:
        return bool(self.options.get("vet", True))

    @property
    def filename(self) -> str:
        """The case's file name: a `_test.go` file unless the case is a shared helper file."""
        return str(self.options.get("filename", "case_test.go"))

    @property
    def companion(self) -> Path | None:
        """A test file of the same package that uses the case (a helper file's caller), vetted and run."""
        path = self.input.with_suffix(".companion")
        return path if path.exists() else None

    @property
    def wrong(self) -> Path | None:
        """A hand-written wrong rewrite of the input (an earlier tool's output): `go test` must fail it."""
        path = self.input.with_suffix(".wrong")
        return path if path.exists() else None

    @property
    def runnable(self) -> bool:
        """The case is a passing Go test before and after the rewrite (`go test` runs it)."""
        return bool(self.options.get("run", False))


def all_cases() -> list[Case]:
    cases = []
    for input_path in sorted(GOLDEN_DIR.glob("*/*.input")):
        options = _merged(_read(input_path.parent / "defaults.toml"), _read(input_path.with_suffix(".toml")))
        cases.append(
            Case(
                input_path.parent.name,
                input_path.stem,
                input_path,
                input_path.with_suffix(".golden"),
                options,
            )
        )
    return cases


def _read(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text()) if path.exists() else {}


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = (
            {**out[key], **value} if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def project_for_case(case: Case) -> ProjectInfo:
    project = case.options.get("project", {})
    go = tuple(int(p) for p in str(project.get("go", "1.26")).split("."))
    testify = tuple(int(p) for p in str(project.get("testify", "1.11.1")).split("."))
    return ProjectInfo(
        go_version=(go[0], go[1]),
        testify_version=(testify[0], testify[1], testify[2]),
        package_path=f"{MODULE}/cases/{case.name}",
        helper_name_unqualified=False,
        helper_functions=HELPER_FUNCS if project.get("helper", True) else frozenset(),
        integration=bool(project.get("integration", False)),
    )


def settings_for_case(case: Case) -> Settings:
    raw = case.options.get("settings", {})
    timing = {
        k: raw[k] for k in ("unit_wait", "unit_tick", "integration_wait", "integration_tick") if k in raw
    }
    options = tuple(
        (tid, tuple(sorted(table.items())))
        for tid, table in sorted(case.options.get("transform", {}).items())
    )
    return Settings(
        style=raw.get("style", "auto"),
        unsafe=bool(raw.get("unsafe", False)),
        transform_options=options,
        **timing,
    )


def run_case(case: Case, source: bytes) -> FileResult:
    settings = settings_for_case(case)
    transforms = select_transforms((case.transform,), ())
    return process_source(
        f"{case.transform}/{case.name}/{case.filename}",
        source,
        project_for_case(case),
        settings,
        transforms,
        allow_unsafe=settings.unsafe,
    )


def output_of(case: Case, source: bytes) -> bytes:
    result = run_case(case, source)
    return result.new if result.new is not None else source


def findings_of(case: Case, source: bytes) -> str:
    """One line per finding, as `codemod check` prints them (with the fix's safety)."""
    lines = []
    for finding in run_case(case, source).findings:
        fixable = "" if finding.fix is None else f" [{finding.fix.safety.value} fix]"
        lines.append(f"{finding.line}:{finding.column}: {finding.transform_id} {finding.message}{fixable}\n")
    return "".join(lines)
