"""`require.True(t, errors.Is(err, X))` becomes `require.ErrorIs(t, err, X)`."""

from __future__ import annotations

from codemod.edits import Finding
from codemod.testify import error_predicate_findings
from codemod.transform import FileContext, Transform


class ErrorsIsAssertion(Transform):
    """
    What it does
        Rewrites `True(t, errors.Is(err, X))` to `ErrorIs(t, err, X)` and `False(t, errors.Is(err,
        X))` to `NotErrorIs(t, err, X)`, for `require` and `assert` under any import name,
        `r := require.New(t)`, and testify suite methods (`s.True(...)`, `s.Require().True(...)`,
        `s.Assert().True(...)`). Messages and format arguments stay (`Truef` becomes `ErrorIsf`).
        `errors` may be the standard library under any name, `github.com/pkg/errors` or
        `golang.org/x/xerrors`; the import goes when nothing else uses it.

    Why
        The guide's "Error Checking": check the error with `require.ErrorIs`. `True(errors.Is(...))`
        checks the same thing but fails with "Should be true"; `ErrorIs` prints the expected error
        and the whole chain it looked in (`expected: "not found"`, `in chain: "query: timeout"`),
        so a failure says which error came instead. testifylint's `error-is-as` asks for the same.

    Leaves alone
        `errors.Is(err, X) == true`, `!errors.Is(...)`, `errors.Is(a, b) || ...` and a local
        variable named `errors`. A module whose testify is older than v1.7.0 (the first with
        `ErrorIs`/`NotErrorIs`) is reported with the version it needs.

    Example
        require.True(t, errors.Is(err, ErrNotFound), "deleting %s", key)
        // becomes
        require.ErrorIs(t, err, ErrNotFound, "deleting %s", key)

    Fix safety
        Safe: testify's `ErrorIs` is `errors.Is(err, X)` with a better message, so the test passes
        and fails exactly as before (`github.com/pkg/errors` v0.9+ calls the standard library).
        Unsafe for `xerrors.Is`: before its 2024 releases it did not follow `errors.Join` chains,
        which the standard library's `errors.Is` does.
    """

    id = "error-is-assertion"
    guide_section = "Error Checking"
    summary = "require.True(t, errors.Is(err, X)) -> require.ErrorIs(t, err, X)"
    review_hint = "only xerrors sites are unsafe; the rest is a rename the compiler checks"

    def run(self, ctx: FileContext) -> list[Finding]:
        return error_predicate_findings(ctx, self.id, "Is", "ErrorIs", "NotErrorIs")
