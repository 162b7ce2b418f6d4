"""`require.True(t, errors.As(err, &target))` becomes `require.ErrorAs(t, err, &target)`."""

from __future__ import annotations

from codemod.edits import Finding
from codemod.testify import error_predicate_findings
from codemod.transform import FileContext, Transform


class ErrorsAsAssertion(Transform):
    """
    What it does
        Rewrites `True(t, errors.As(err, &target))` to `ErrorAs(t, err, &target)` and `False(t,
        errors.As(err, &target))` to `NotErrorAs(t, err, &target)`, in every spelling
        `error-is-assertion` handles (`require`/`assert` under any name, `require.New(t)`, suite
        methods and `s.Require()`), messages and format arguments kept (`Truef` -> `ErrorAsf`).

    Why
        The guide's "Error Checking": check the error's type with testify's own assertion.
        `True(errors.As(...))` fails with "Should be true"; `ErrorAs` names the type it wanted
        and prints the chain it found (`expected: *pgconn.PgError`, `in chain: "dial: refused"`).

    Leaves alone
        Conditions that are not a bare `errors.As(err, target)` call, and a local variable named
        `errors`. `ErrorAs` needs testify v1.7.0 and `NotErrorAs` v1.10.0: an older module is
        reported with the version it needs.

    Example
        var pgErr *pgconn.PgError
        require.True(t, errors.As(err, &pgErr))
        // becomes
        require.ErrorAs(t, err, &pgErr)

    Fix safety
        Safe: `ErrorAs` calls `errors.As(err, target)` itself, so `target` is set exactly as before
        and the test passes and fails as before. Unsafe for `xerrors.As` (see
        `error-is-assertion`).
    """

    id = "error-as-assertion"
    guide_section = "Error Checking"
    summary = "require.True(t, errors.As(err, &target)) -> require.ErrorAs(t, err, &target)"
    review_hint = "only xerrors sites are unsafe; the rest is a rename the compiler checks"

    def run(self, ctx: FileContext) -> list[Finding]:
        return error_predicate_findings(ctx, self.id, "As", "ErrorAs", "NotErrorAs")
