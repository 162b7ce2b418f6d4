from __future__ import annotations

from codemod.edits import ImportRequest
from codemod.gosyntax import parse
from codemod.imports import ImportTable, default_name, update_imports

UTILS = "github.com/multigres/multigres/go/test/utils"


def add(src: str, path: str, name: str | None = None) -> str:
    request = ImportRequest(path, name or default_name(path))
    return update_imports(src.encode(), [request], []).decode()


def test_third_party_joins_the_group_sharing_its_prefix() -> None:
    src = (
        'package x\n\nimport (\n\t"testing"\n\n'
        '\t"github.com/multigres/multigres/go/a"\n\t"github.com/stretchr/testify/require"\n)\n'
    )
    out = add(src, UTILS)
    assert (
        '\t"github.com/multigres/multigres/go/a"\n\t"github.com/multigres/multigres/go/test/utils"\n' in out
    )


def test_stdlib_goes_with_stdlib_sorted() -> None:
    src = 'package x\n\nimport (\n\t"context"\n\t"testing"\n\n\t"github.com/stretchr/testify/require"\n)\n'
    out = add(src, "fmt")
    assert '\t"context"\n\t"fmt"\n\t"testing"\n' in out


def test_new_group_when_only_stdlib() -> None:
    src = 'package x\n\nimport (\n\t"context"\n\t"testing"\n)\n'
    out = add(src, UTILS)
    assert out.endswith(f'\t"testing"\n\n\t"{UTILS}"\n)\n')


def test_no_imports_at_all() -> None:
    out = add("package x\n\nfunc f() {}\n", "fmt")
    assert out.startswith('package x\n\nimport "fmt"\n')


def test_alias_written_when_name_differs() -> None:
    out = add('package x\n\nimport (\n\t"testing"\n)\n', UTILS, "testutils")
    assert f'testutils "{UTILS}"' in out


def test_existing_import_is_not_duplicated() -> None:
    src = f'package x\n\nimport (\n\t"{UTILS}"\n)\n'
    assert add(src, UTILS) == src


def test_name_for_avoids_taken_names() -> None:
    src = b'package x\n\nimport (\n\t"example.com/other/utils"\n)\n\nvar _ = utils.X\n'
    table = ImportTable(parse(src))
    assert table.name_for(UTILS, "utils") == "testutils"
    assert table.name_for("example.com/other/utils") == "utils"


def test_unused_import_removed_used_kept() -> None:
    src = b'package x\n\nimport (\n\t"context"\n\t"testing"\n)\n\nfunc TestX(t *testing.T) {}\n'
    out = update_imports(src, [], ["context", "testing"])
    assert out == b'package x\n\nimport (\n\t"testing"\n)\n\nfunc TestX(t *testing.T) {}\n'


def test_type_use_keeps_import() -> None:
    src = b'package x\n\nimport "context"\n\nfunc f(ctx context.Context) {}\n'
    assert update_imports(src, [], ["context"]) == src


def test_removing_the_only_spec_drops_the_declaration() -> None:
    src = b'package x\n\nimport "context"\n\nfunc f() {}\n'
    assert update_imports(src, [], ["context"]) == b"package x\n\n\nfunc f() {}\n"


def test_removal_does_not_leave_a_double_blank_line() -> None:
    src = b'package x\n\nimport (\n\t"testing"\n\n\t"context"\n)\n\nfunc TestX(t *testing.T) {}\n'
    out = update_imports(src, [], ["context"])
    assert b"\n\n\n" not in out and b'"context"' not in out


def test_default_names() -> None:
    assert default_name("github.com/a/b/v2") == "b"
    assert default_name("gopkg.in/yaml.v3") == "yaml"
    assert default_name("github.com/stretchr/testify/require") == "require"
