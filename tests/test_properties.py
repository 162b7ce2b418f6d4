"""Property tests: the engine's guarantees hold for inputs nobody wrote by hand."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemod.config import Settings
from codemod.edits import Edit, ImportRequest, splice
from codemod.engine import process_source
from codemod.gosyntax import error_count, parse
from codemod.imports import default_name, update_imports
from codemod.project import HELPER_FUNCS, ProjectInfo
from codemod.transform import select_transforms

PROJECT = ProjectInfo(go_version=(1, 26), testify_version=(1, 11, 1), helper_functions=HELPER_FUNCS)
TRANSFORMS = select_transforms((), ())

FRAGMENTS = [
    "ctx := context.Background()\n",
    "_ = f(context.TODO())\n",
    "ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)\n",
    "defer cancel()\n",
    "time.Sleep(10 * time.Millisecond)\n",
    "require.True(t, ok)\n",
    "require.Equal(t, 1, n)\n",
    "require.Error(t, err)\n",
    'l, _ := net.Listen("tcp", ":8080")\n',
    "t.Cleanup(func() { _ = f(context.Background()) })\n",
    "go func() { _ = f(context.Background()) }()\n",
    't.Run("x", func(t *testing.T) {\n',
    "})\n",
    "for i := 0; i < 3; i++ {\n",
    "}\n",
    "p := new(1 + 2)\n",
    "{{{\n",
]
HEADER = (
    'package x\n\nimport (\n\t"context"\n\t"net"\n\t"testing"\n\t"time"\n\n'
    '\t"github.com/stretchr/testify/require"\n)\n\nfunc f(ctx context.Context) error { return nil }\n\n'
)


@given(st.text(alphabet="ab\né€\t", max_size=60), st.data())
def test_splice_equals_naive_string_edit(text: str, data: st.DataObject) -> None:
    source = text.encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    edits, expected, pos = [], [], 0
    for a, b in zip(cuts[0::2], cuts[1::2], strict=False):
        replacement = data.draw(st.text(alphabet="xyé", max_size=3))
        edits.append(Edit(len(text[:a].encode()), len(text[:b].encode()), replacement))
        expected += [text[pos:a], replacement]
        pos = b
    expected.append(text[pos:])
    assert splice(source, edits).decode() == "".join(expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=8))
def test_engine_never_raises_and_never_adds_a_parse_error(lines: list[str]) -> None:
    body = "".join("\t" + line for line in lines)
    source = (HEADER + "func TestX(t *testing.T) {\n" + body + "}\n").encode()
    result = process_source(
        "x_test.go", source, PROJECT, Settings(), TRANSFORMS, allow_unsafe=True, use_gofmt=False
    )
    if result.new is not None:
        assert error_count(parse(result.new)) <= error_count(parse(source))
        again = process_source(
            "x_test.go", result.new, PROJECT, Settings(), TRANSFORMS, True, use_gofmt=False
        )
        assert again.new is None or error_count(parse(again.new)) <= error_count(parse(result.new))


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    result = process_source("x_test.go", raw, PROJECT, Settings(), TRANSFORMS, use_gofmt=False)
    assert result.skipped is None or result.skipped


PATHS = ["fmt", "strconv", "github.com/a/b", "github.com/a/c/v2", "example.com/utils"]


@given(
    st.lists(st.sampled_from(PATHS), max_size=5),
    st.sampled_from(["", 'import "os"\n', 'import (\n\t"os"\n)\n']),
)
def test_imports_are_added_once_and_parse(paths: list[str], imports: str) -> None:
    source = f"package x\n\n{imports}\nfunc f() {{}}\n".encode()
    out = update_imports(source, [ImportRequest(p, default_name(p)) for p in paths], [])
    assert error_count(parse(out)) == 0
    for path in set(paths):
        assert out.count(f'"{path}"'.encode()) == 1
