"""Where a value goes: the declaration or assignment that binds an expression, and the names it lands in.

Every transform that follows a value (a context into `ctx`, a port into `addr`, an error into `err`, a
command into `cmd`) asks here instead of walking `short_var_declaration` / `assignment_statement` /
`var_spec` shapes itself.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from tree_sitter import Node

from codemod.files import package_sources
from codemod.gosyntax import (
    call_arguments,
    call_parts,
    enclosing_functions,
    find,
    is_inside,
    outermost_paren,
    parameters,
    parse,
    text,
    walk,
)
from codemod.project import find_gomod
from codemod.scope import declarations, declared_names, scope_of, uses_of
from codemod.suites import suite_method, suite_test_var, suite_types
from codemod.testscope import Lifetime, TestVar, lifetime_between, test_var

BINDINGS = ("short_var_declaration", "assignment_statement", "var_spec")


def binding_of(expr: Node) -> Node | None:
    """The declaration or assignment whose right-hand side holds `expr` (`x := expr`, `var x = expr`)."""
    parent = expr.parent
    if parent is None or parent.type != "expression_list":
        return None
    holder = parent.parent
    if holder is None:
        return None
    if holder.type in ("short_var_declaration", "assignment_statement"):
        return holder if holder.child_by_field_name("right") == parent else None
    if holder.type == "var_spec" and holder.child_by_field_name("value") == parent:
        return holder
    return None


def targets_of(binding: Node) -> list[Node]:
    """The left-hand side of a binding, in order (`a, b := ...`, `var a, b = ...`)."""
    if binding.type == "var_spec":
        return binding.children_by_field_name("name")
    left = binding.child_by_field_name("left")
    return left.named_children if left is not None else []


def values_of(binding: Node) -> list[Node]:
    right = binding.child_by_field_name("value" if binding.type == "var_spec" else "right")
    return right.named_children if right is not None else []


def assigned_targets(binding: Node, expr: Node) -> list[Node]:
    """Where `expr` lands: all targets of a single multi-value call (`ctx, cancel := f()`), else its own."""
    values = values_of(binding)
    targets = targets_of(binding)
    if len(values) == 1:
        return targets
    return [t for t, v in zip(targets, values, strict=False) if v == expr]


def bound_names(expr: Node) -> list[Node]:
    """Identifiers the value of `expr` is stored in; the first target only of a multi-value call, no `_`."""
    binding = binding_of(expr)
    if binding is None:
        return []
    targets = assigned_targets(binding, expr)
    if len(values_of(binding)) == 1:
        targets = targets[:1]
    return [t for t in targets if t.type == "identifier" and text(t) != "_"]


def is_assigned(identifier: Node) -> bool:
    """`err` on the left of `=`/`:=`: a new value, not a read of the old one."""
    parent = identifier.parent
    holder = parent.parent if parent is not None else None
    return (
        parent is not None
        and parent.type == "expression_list"
        and holder is not None
        and holder.type in ("assignment_statement", "short_var_declaration")
        and holder.child_by_field_name("left") == parent
    )


def mentions(node: Node, name: str) -> bool:
    """Whether `name` appears as an identifier anywhere in `node`."""
    return any(n.type == "identifier" and text(n) == name for n in walk(node))


def assignments_to(owner: Node, name: str) -> list[tuple[Node, Node]]:
    """Every `(binding, value)` in `owner` that gives the variable `name` a value, in source order."""
    found = []
    for node in walk(owner):
        if node.type not in BINDINGS:
            continue
        values = values_of(node)
        for index, target in enumerate(targets_of(node)):
            if target.type == "identifier" and text(target) == name:
                # `a, b := f()`: both come from the one call; `a, b := x, y`: each from its own.
                paired = index if len(values) > 1 else 0
                if paired < len(values):
                    found.append((node, values[paired]))
    return found


# -- calls whose error only fails the test (os.Setenv, os.Chdir, os.MkdirTemp and friends) ----------

_NO_ERROR = frozenset({"NoError", "require_NoError"})  # nats-server spells its own
_FAILS = frozenset({"Fatal", "Fatalf", "FailNow"})
_REPORTS = frozenset({"Error", "Errorf", "Fail"})


def fails_on(statement: Node, err: str) -> bool:
    """`statement` only fails the test when `err` is set: `require.NoError(t, err)` (assert too, and
    the suite forms `s.NoError(err)`, `s.Require().NoError(err)`), or `if err != nil { t.Fatal(err) }`
    whose body only fails (`Fatal`, `Fatalf`, `FailNow`, `panic`, or `Error`/`Errorf` then `return`)."""
    if statement.type == "expression_statement":
        call = statement.named_children[0] if statement.named_children else None
        return call is not None and _no_error_of(call, err)
    if statement.type != "if_statement" or statement.child_by_field_name("alternative") is not None:
        return False
    if statement.child_by_field_name("initializer") is not None:
        return False
    return _is_not_nil(statement.child_by_field_name("condition"), err) and _only_fails(
        statement.child_by_field_name("consequence")
    )


def _no_error_of(call: Node, err: str) -> bool:
    if call.type != "call_expression" or call_parts(call)[1] not in _NO_ERROR:
        return False
    args = call_arguments(call)[:2]
    return any(a.type == "identifier" and text(a) == err for a in args)


def _is_not_nil(condition: Node | None, err: str) -> bool:
    if condition is None or condition.type != "binary_expression":
        return False
    left, right = condition.child_by_field_name("left"), condition.child_by_field_name("right")
    operator = text(condition.child_by_field_name("operator"))
    return operator == "!=" and {text(left), text(right)} == {err, "nil"}


def _only_fails(block: Node | None) -> bool:
    statements = _statements(block)
    if not statements:
        return False
    *body, last = statements
    if last.type == "return_statement" and not last.named_children:
        return bool(body) and all(_call_named(s, _REPORTS | _FAILS) for s in body)
    return all(_call_named(s, _FAILS | _REPORTS) for s in body) and _call_named(last, _FAILS | {"panic"})


def _statements(block: Node | None) -> list[Node]:
    if block is None:
        return []
    holder = next((c for c in block.named_children if c.type == "statement_list"), block)
    return [s for s in holder.named_children if s.type != "comment"]


def _call_named(statement: Node, names: frozenset[str]) -> bool:
    call = statement.named_children[0] if statement.named_children else None
    return (
        statement.type == "expression_statement"
        and call is not None
        and call.type == "call_expression"
        and call_parts(call)[1] in names
    )


def dead_after(statement: Node, name: str, declared_here: bool) -> bool:
    """Whether the value `statement` gives `name` is never read later, so the statement may go: no
    later use, or the first later one is a statement of the same block that gives `name` a new value
    without reading it (a `:=` when `statement` declares `name`, so that declaration still compiles)."""
    functions = enclosing_functions(statement)
    scope = statement.parent if declared_here else (functions[-1] if functions else None)
    if scope is None:
        return False
    uses = sorted(uses_of(scope, name, statement.end_byte), key=lambda n: n.start_byte)
    if not uses:
        return True
    first = uses[0]
    if not is_assigned(first):
        return False
    holder = first.parent.parent if first.parent is not None else None
    if holder is None or holder.parent != statement.parent:
        return False
    if declared_here and holder.type != "short_var_declaration":
        return False
    right = holder.child_by_field_name("right")
    return right is not None and not mentions(right, name)


def error_only_statements(call: Node) -> list[Node] | None:
    """The statements whose only job is `call` and failing the test on its error, in source order:
    `f()`, `_ = f()`, `require.NoError(t, f())`, `if err := f(); err != nil { t.Fatal(err) }`, or
    `err := f()` with the trivial check right after (`fails_on`) and `err` not read again.
    None when the call's result is used otherwise."""
    expr = outermost_paren(call)
    parent = expr.parent
    if parent is None:
        return None
    if parent.type == "expression_statement":
        return [parent]
    if parent.type == "argument_list" and parent.parent is not None:
        check = parent.parent
        holder = check.parent
        first_two = call_arguments(check)[:2]
        if call_parts(check)[1] in _NO_ERROR and expr in first_two and holder is not None:
            return [holder] if holder.type == "expression_statement" else None
        return None
    binding = binding_of(expr)
    if binding is None or binding.type == "var_spec" or len(values_of(binding)) != 1:
        return None
    targets = targets_of(binding)
    if len(targets) != 1 or targets[0].type != "identifier":
        return None
    err = text(targets[0])
    if err == "_":
        return [binding] if binding.parent is not None and binding.parent.type == "statement_list" else None
    holder = binding.parent
    if holder is not None and holder.type == "if_statement":
        if holder.child_by_field_name("initializer") != binding or binding.type != "short_var_declaration":
            return None
        consequence = holder.child_by_field_name("consequence")
        alone = holder.child_by_field_name("alternative") is None
        checked = _is_not_nil(holder.child_by_field_name("condition"), err) and _only_fails(consequence)
        return [holder] if alone and checked else None
    if holder is None or holder.type != "statement_list":
        return None
    following = next_statement(binding)
    if following is None or not fails_on(following, err):
        return None
    declared = binding.type == "short_var_declaration"
    return [binding, following] if dead_after(following, err, declared) else None


def next_statement(statement: Node) -> Node | None:
    """The statement after `statement` in its block, comments skipped."""
    following = statement.next_named_sibling
    while following is not None and following.type == "comment":
        following = following.next_named_sibling
    return following


def declared_before(binding: Node, name: str) -> bool:
    """Whether `name` is already declared in the block of `binding` (then `:=` only assigns it), or is
    a parameter of the function whose body that block is."""
    statements = binding.parent
    if statements is None:
        return False
    for sibling in statements.named_children:
        if sibling.start_byte >= binding.start_byte:
            break
        specs = [sibling] if sibling.type == "short_var_declaration" else []
        if sibling.type == "var_declaration":
            specs = [n for n in walk(sibling) if n.type == "var_spec"]
        if any(text(n) == name for spec in specs for n in declared_names(spec)):
            return True
    block = statements.parent
    func = block.parent if block is not None else None
    if func is not None and func.type in ("function_declaration", "func_literal", "method_declaration"):
        return any(p.name == name for p in parameters(func))
    return False


def escape_of(use: Node, owner: Node) -> str:
    """Why the value read at `use` may outlive the function `owner`, or "" when it stays local:
    returned, stored where a local of `owner` does not hold it (a field of a receiver or an outer
    variable, a package variable), or read in a goroutine."""
    if lifetime_between(use, owner) is Lifetime.GOROUTINE:
        return "read in a goroutine"
    expr = outermost_paren(use)
    parent = expr.parent
    if parent is not None and parent.type == "expression_list" and parent.parent is not None:
        if parent.parent.type == "return_statement":
            return "returned"
        binding = binding_of(expr)
        if binding is not None and binding.type == "assignment_statement":
            for target in assigned_targets(binding, expr):
                root = target
                while root.type in ("selector_expression", "index_expression", "parenthesized_expression"):
                    inner = root.child_by_field_name("operand") or root.named_children[0]
                    root = inner
                if root.type != "identifier" or not _local_of(owner, text(root)):
                    return f"stored in {text(target)}"
    return ""


def _local_of(owner: Node, name: str) -> bool:
    body = owner.child_by_field_name("body")
    return body is not None and any(True for _ in declarations(body, name))


def calls_parallel(func: Node) -> bool:
    """Whether `func`'s own body (not its nested closures) calls `X.Parallel()` (`t.Parallel()`,
    `s.T().Parallel()`)."""
    for call in find(func, "call_expression"):
        if call_parts(call)[1] == "Parallel" and not call_arguments(call):
            fn = call.child_by_field_name("function")
            own = enclosing_functions(call)[:1] == [func]
            if own and fn is not None and fn.type == "selector_expression":
                return True
    return False


# -- the test handle at a node, and functions declared elsewhere in the package or module --------


def testing_handle(node: Node, path: str, source: bytes, testing_name: str | None) -> TestVar | None:
    """The test handle at `node`: the innermost testing parameter in scope, else `<recv>.T()` in a
    method of a testify suite type of the package (the receiver named and not shadowed)."""
    tvar = test_var(node, testing_name)
    if tvar is not None:
        return tvar
    suites = suite_types(path, source)
    found = suite_method(node, suites) if suites else None
    return suite_test_var(node, found) if found is not None else None


def package_clause(root: Node) -> str:
    """The package name a file declares (`package foo_test` -> 'foo_test')."""
    clause = next((c for c in root.children if c.type == "package_clause"), None)
    if clause is None:
        return ""
    return text(next((c for c in clause.named_children if c.type == "package_identifier"), None))


@lru_cache(maxsize=256)
def _declared_functions(directory: str) -> tuple[tuple[str, str, str, Node], ...]:
    """(file name, package, name, declaration) of every top-level function and method of the
    directory's in-scope files."""
    found = []
    for file_name, source in package_sources(directory):
        root = parse(source).root_node
        package = package_clause(root)
        for decl in root.children:
            if decl.type in ("function_declaration", "method_declaration"):
                found.append((file_name, package, text(decl.child_by_field_name("name")), decl))
    return tuple(found)


def package_function(
    path: str, root: Node, name: str, packages: tuple[str, ...] = (), kind: str = "function_declaration"
) -> Node | None:
    """The top-level `func name(...)` of the package holding `path`: in its own tree (as given) first,
    then in its sibling files (tests and helpers that import testing) with the same package clause, or
    one of `packages` (a package and its external `_test` package share one test binary).
    `kind="method_declaration"` looks for a method of that name instead."""
    return next(iter(package_functions(path, root, name, packages, kind)), None)


def package_functions(
    path: str, root: Node, name: str, packages: tuple[str, ...] = (), kind: str = "function_declaration"
) -> list[Node]:
    """Every declaration `package_function` would choose from, its own tree's first."""
    found = [
        decl for decl in root.children if decl.type == kind and text(decl.child_by_field_name("name")) == name
    ]
    file = Path(path)
    if not file.parent.is_dir():
        return found
    wanted = packages or (package_clause(root),)
    for file_name, pkg, fname, decl in _declared_functions(str(file.parent.resolve())):
        if pkg in wanted and fname == name and decl.type == kind and file_name != file.name:
            found.append(decl)
    return found


def module_package_dir(path: str, import_path: str) -> str | None:
    """The folder of `import_path` when it is a package of the module holding `path`."""
    gomod = find_gomod(str(Path(path).resolve().parent))
    if gomod is None or not (import_path == gomod.module or import_path.startswith(gomod.module + "/")):
        return None
    folder = Path(gomod.root) / import_path[len(gomod.module) :].lstrip("/")
    return str(folder) if folder.is_dir() else None


def imported_function(path: str, import_path: str, name: str) -> Node | None:
    """`func name(...)` of the module package `import_path` (its non-test package; files that import
    testing only, as every package-wide analysis reads them)."""
    folder = module_package_dir(path, import_path)
    if folder is None:
        return None
    for _, pkg, fname, decl in _declared_functions(str(Path(folder).resolve())):
        if fname == name and not pkg.endswith("_test") and decl.type == "function_declaration":
            return decl
    return None


# -- which declaration a name refers to, and whether it holds an error ------------------------------


def visible_declaration(identifier: Node) -> Node | None:
    """The declaration `identifier` refers to inside its enclosing functions: a `:=` / `var` / range /
    type-switch / receive declaration whose scope holds it and that ends before it, or the parameter,
    named result or receiver declaration of an enclosing function. None for a package-level name."""
    name = text(identifier)
    for func in enclosing_functions(identifier):  # innermost first
        body = func.child_by_field_name("body")
        visible = []
        for decl in declarations(body, name) if body is not None else ():
            scope = scope_of(decl)
            if decl.type == "func_literal" or scope is None or decl.end_byte > identifier.start_byte:
                continue
            if is_inside(identifier, scope):
                visible.append((scope.start_byte, decl.start_byte, decl))
        if visible:
            return max(visible, key=lambda v: (v[0], v[1]))[2]
        for field in ("parameters", "result", "receiver"):
            plist = func.child_by_field_name(field)
            for decl in plist.named_children if plist is not None else ():
                if any(text(n) == name for n in decl.children_by_field_name("name")):
                    return decl
    return None


_ERROR_NAME = re.compile(r"err\d*|[a-z]\w*Err\d*")


def is_error_variable(identifier: Node) -> bool:
    """Whether `identifier` is demonstrably a variable of type `error`: declared `var err error` or as
    an `error` parameter, or named like one (`err`, `err2`, `closeErr`) and bound from a call (`err :=
    f()`, or the last of several results: `v, err := f()`). Conservative: other shapes are False."""
    decl = visible_declaration(identifier)
    name = text(identifier)
    if decl is None:
        return False
    if decl.type in ("parameter_declaration", "var_spec"):
        declared_type = decl.child_by_field_name("type")
        if declared_type is not None:
            return text(declared_type) == "error"
    if decl.type not in ("short_var_declaration", "var_spec") or not _ERROR_NAME.fullmatch(name):
        return False
    targets, values = targets_of(decl), values_of(decl)
    index = next((i for i, t in enumerate(targets) if text(t) == name), -1)
    if len(values) == len(targets):
        return values[index].type == "call_expression"
    return len(values) == 1 and values[0].type == "call_expression" and index == len(targets) - 1


def pairs_of(binding: Node) -> dict[str, Node]:
    """Name -> value of a declaration or assignment that gives each name its own value (`a, b := x, y`,
    `const c = "v"`); empty for a multi-value call (`a, err := f()`) or a spec with no value."""
    if binding.type in ("var_spec", "const_spec"):
        names = binding.children_by_field_name("name")
        value = binding.child_by_field_name("value")
        values = value.named_children if value is not None else []
    else:
        names, values = targets_of(binding), values_of(binding)
    if len(names) != len(values):
        return {}
    return {text(n): v for n, v in zip(names, values, strict=True)}


def redeclarable_write(statement: Node, name: str) -> Node | None:
    """The `=` of the first later use of `name` when that use is a plain assignment in the same block
    as `statement` that does not read `name`, and every other name it assigns is `_` or declared in
    that block already: once a declaration of `name` at `statement` goes, that `=` can become `:=`
    (declaring `name` there, reusing the others) and the code after it means the same."""
    functions = enclosing_functions(statement)
    scope = statement.parent
    if scope is None or not functions:
        return None
    uses = sorted(uses_of(scope, name, statement.end_byte), key=lambda n: n.start_byte)
    if not uses or not is_assigned(uses[0]):
        return None
    holder = uses[0].parent.parent if uses[0].parent is not None else None
    if holder is None or holder.type != "assignment_statement" or holder.parent != statement.parent:
        return None
    right = holder.child_by_field_name("right")
    operator = next((c for c in holder.children if c.type == "="), None)
    if right is None or operator is None or mentions(right, name):
        return None
    for target in targets_of(holder):
        if target.type != "identifier":
            return None
        other = text(target)
        if other not in ("_", name) and not declared_before(holder, other):
            return None
    return operator
