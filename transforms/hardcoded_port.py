"""Hardcoded listen/dial ports in tests become one shared `utils.GetFreePort(t)` per test."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from tree_sitter import Node

from codemod.edits import Edit, Finding, Fix, ImportRequest, Safety
from codemod.flow import binding_of, fails_on, next_statement, targets_of, testing_handle, values_of
from codemod.gosyntax import (
    call_arguments,
    call_parts,
    enclosing_functions,
    find,
    is_inside,
    line_indent,
    parameters,
    statement_of,
    testing_kind,
    text,
    walk,
)
from codemod.imports import default_name
from codemod.scope import declarations, is_struct_key, uses_of
from codemod.suites import suite_types
from codemod.transform import FileContext, Transform

_HOST_PORT = re.compile(r'^"(|localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|\[::\]):([1-9][0-9]{0,4})"$')
# `port` as a word of the flag (`--port`, `--grpc-port`, `-http.port`), not inside one (`--report-every`).
_FLAG_PORT = re.compile(r'^"(--?(?:[\w.]*[-_.])?port(?:[-_.][\w.-]*)?=)([1-9][0-9]{0,4})"$', re.IGNORECASE)
_FLAG_NAME = re.compile(r'^"--?(?:[\w.]*[-_.])?port(?:[-_.][\w.-]*)?"$', re.IGNORECASE)
_BARE_PORT = re.compile(r'^"([1-9][0-9]{0,4})"$')
# A name about a port (`port`, `grpcPort`, `HTTPListenPort`, `MONITOR_PORT`), not `reportHeadAttempts`.
_PORTISH = re.compile(r"Port|(?:^|[_.])port|(?:^|_)PORT")

BIND = {
    ("net", "Listen"),
    ("net", "ListenPacket"),
    ("tls", "Listen"),
    ("http", "ListenAndServe"),
    ("http", "ListenAndServeTLS"),
}
DIAL = {
    ("net", "Dial"),
    ("net", "DialTimeout"),
    ("tls", "Dial"),
    ("grpc", "Dial"),
    ("grpc", "DialContext"),
    ("grpc", "NewClient"),
}
PROCESS = {("exec", "Command"), ("exec", "CommandContext")}
_DIAL_METHODS = frozenset({"Dial", "DialContext", "DialTimeout"})
_CARRIERS = frozenset({"Sprintf", "Sprint", "JoinHostPort", "Itoa", "FormatInt"})


@dataclass
class Occurrence:
    node: Node  # the literal
    port: int
    kind: str  # "hostport", "int", "flag", "bare"
    prefix: str = ""  # host part or flag text before the number
    sinks: set[str] = field(default_factory=set)  # bind, dial, process, elsewhere
    data: bool = False  # inside a table of values: not ours to change


def _worth_rewriting(sinks: set[str]) -> bool:
    """A bind in the test, or a child process, or a dial whose server is configured here too.

    A dial alone is a port meant to be closed or an outside service; a config handed elsewhere alone
    is data (a fake address, a cache key) as far as anyone can tell.
    """
    if "bind" in sinks or "process" in sinks:
        return True
    return "dial" in sinks and "elsewhere" in sinks


class HardcodedPort(Transform):
    """
    What it does
        Finds a literal port (`":8080"`, `"localhost:8080"`, `"127.0.0.1:8080"`, `"[::1]:8080"`,
        `"0.0.0.0:8080"`, `port := 8080`, `Port: 8080`, a `fmt.Sprintf` argument, `-port=8080`)
        in a test function with a `*testing.T`, when that port reaches something that binds or
        connects in the same function (`net.Listen`/`Dial`, `http.ListenAndServe`,
        `http.Server{Addr}`, `grpc.Dial`/`NewClient`, `exec.Command` flags), directly or through
        local variables, `fmt.Sprintf`, `net.JoinHostPort` or string concatenation. Every
        occurrence of that port number in the function then shares one
        `port := utils.GetFreePort(t)`; strings become `fmt.Sprintf("localhost:%d", port)`.

    Why
        The guide: never hardcode ports. Two tests (or two packages run in parallel) that both
        bind 8080 fail at random; the allocator hands out ports no one else holds.

    Leaves alone
        Ports that are data: table rows, values only compared or printed, URLs in expected strings,
        a port dialled with nothing bound to it in the test (meant to be closed, or an outside
        service), `":0"` and ports that already come from a helper. A package-level constant used
        by tests is reported, not rewritten. If any occurrence of the port cannot be rewritten
        (a struct field of unknown type, a table row), none is: half a rewrite would split server
        and client.

    Example
        l, err := net.Listen("tcp", ":8080")
        conn, err := net.Dial("tcp", "localhost:8080")
        // becomes
        port := utils.GetFreePort(t)
        l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
        conn, err := net.Dial("tcp", fmt.Sprintf("localhost:%d", port))

        // In a testify suite method the helper gets the suite's test: utils.GetFreePort(s.T()).
        // `port-helper = "example.com/x/testutil.FreePort"` under [transform.hardcoded-port] in
        // .codemod.toml names another project's helper (called as FreePort(t), returning an int).

        // Without any helper, the test's own listener takes a port from the kernel:
        l, err := net.Listen("tcp", "127.0.0.1:8080")
        require.NoError(t, err)
        conn, err := net.Dial("tcp", "127.0.0.1:8080")
        // becomes
        l, err := net.Listen("tcp", "127.0.0.1:0")
        require.NoError(t, err)
        port := l.Addr().(*net.TCPAddr).Port
        conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
        // Reported instead: a port mentioned before the listener, bound twice, an unchecked listen
        // error, or no listener of the test's own (http.Server{Addr: ...}).

    Fix safety
        Safe when the test itself binds the port (and maybe dials it). Unsafe when the port only
        reaches a child process (`exec.Command`) or a config handed to other code: the tool cannot
        see that the other side moves with it.
    """

    id = "hardcoded-port"
    guide_section = "❌ Hardcoded Ports"
    summary = "hardcoded listen/dial ports in tests: one shared utils.GetFreePort(t)"

    def run(self, ctx: FileContext) -> list[Finding]:
        testing_pkg = ctx.imports.local_name("testing")
        if testing_pkg is None and not suite_types(ctx.path, ctx.source):
            return []
        findings: list[Finding] = []
        candidates = [n for n in ctx.nodes("interpreted_string_literal") if _PORT_HINT.search(text(n))]
        candidates += [n for n in ctx.nodes("int_literal") if _int_port_context(n)]
        functions = {top.start_byte: top for n in candidates if (top := _top_function(n)) is not None}
        for decl in sorted(functions.values(), key=lambda f: f.start_byte):
            findings.extend(self._function(ctx, decl, testing_pkg))
        if testing_pkg is not None:
            findings.extend(self._package_constants(ctx, testing_pkg))
        return findings

    # -- one test function ---------------------------------------------------------------

    def _function(self, ctx: FileContext, func: Node, testing_pkg: str | None) -> list[Finding]:
        tname = _test_handle(ctx, func, testing_pkg)
        body = func.child_by_field_name("body")
        if tname in (None, "", "_") or body is None:
            return []
        assert tname is not None
        groups: dict[int, list[Occurrence]] = defaultdict(list)
        for occurrence in _occurrences(body):
            groups[occurrence.port].append(occurrence)
        findings = []
        taken: set[str] | None = None
        for port, occurrences in sorted(groups.items()):
            for occurrence in occurrences:
                occurrence.sinks = _sinks(occurrence, func)
            sinks = set().union(*(o.sinks for o in occurrences))
            if not _worth_rewriting(sinks):
                continue
            first = min(occurrences, key=lambda o: o.node.start_byte)
            helper = _port_helper(ctx)
            reached = ", ".join(sorted(sinks))
            problem = self._problem(ctx, occurrences) or _other_mentions(func, port, occurrences)
            if taken is None:
                taken = {text(n) for n in walk(func) if n.type == "identifier"}
            if helper is None:
                listener = (
                    None if problem is not None else _listener_fix(ctx, body, occurrences, sinks, taken)
                )
                if isinstance(listener, Fix):
                    message = (
                        f"hardcoded port {port} reaches {reached}: listen on port 0, use the listener's port"
                    )
                    findings.append(ctx.finding(self.id, first.node, message, listener))
                    continue
                problem = problem or listener or "no fix without a free-port helper"
            message = f"hardcoded port {port} reaches {reached}: {_remedy(ctx, helper, tname)}"
            if problem is not None:
                findings.append(ctx.finding(self.id, first.node, f"{message} ({problem}; review by hand)"))
                continue
            assert helper is not None
            fix = self._fix(ctx, func, body, tname, occurrences, sinks, taken, helper)
            findings.append(ctx.finding(self.id, first.node, message, fix))
        return findings

    def _problem(self, ctx: FileContext, occurrences: list[Occurrence]) -> str | None:
        for occurrence in occurrences:
            if occurrence.data:
                return "the same number also appears as table data"
            if occurrence.kind == "int" and not _int_position(occurrence.node, ctx.tree.root_node):
                return "a port field of unknown type"
        return None

    def _fix(
        self,
        ctx: FileContext,
        func: Node,
        body: Node,
        tname: str,
        occurrences: list[Occurrence],
        sinks: set[str],
        taken: set[str],
        port_helper: tuple[str, str],
    ) -> Fix | None:
        import_path, function = port_helper
        helper = ctx.imports.name_for(import_path)
        call = f"{helper}.{function}({tname})"
        imports = [ImportRequest(import_path, helper)]
        occurrences.sort(key=lambda o: o.node.start_byte)
        edits: list[Edit] = []
        var = _reusable_declaration(occurrences[0], body)
        if var is not None:
            name = var
            edits.append(Edit(occurrences[0].node.start_byte, occurrences[0].node.end_byte, call))
            rest = occurrences[1:]
        else:
            name = _fresh_port_name(taken)
            anchor = _top_statement(occurrences[0].node, body)
            if anchor is None:
                return None
            indent = line_indent(ctx.source, anchor.start_byte)
            edits.append(Edit(anchor.start_byte, anchor.start_byte, f"{name} := {call}\n{indent}"))
            rest = occurrences
        taken.add(name)
        mention_edits, mention_imports = _mention_edits(ctx, rest, name)
        edits.extend(mention_edits)
        imports.extend(mention_imports)
        unsafe = sinks & {"process", "elsewhere"}
        reason = (
            "the test binds the port itself: server and client move together"
            if not unsafe
            else "the port reaches a child process or a config handed to other code: check that side moves"
        )
        return Fix(tuple(edits), Safety.UNSAFE if unsafe else Safety.SAFE, reason, add_imports=tuple(imports))

    # -- package-level constants -----------------------------------------------------------

    def _package_constants(self, ctx: FileContext, testing_pkg: str) -> list[Finding]:
        findings = []
        for decl in ctx.tree.root_node.children:
            if decl.type not in ("const_declaration", "var_declaration"):
                continue
            for spec in walk(decl):
                if spec.type not in ("const_spec", "var_spec"):
                    continue
                value = spec.child_by_field_name("value")
                names = [text(n) for n in spec.children_by_field_name("name")]
                literals = [v for v in (value.named_children if value else [])]
                for name, literal in zip(names, literals, strict=False):
                    port = _literal_port(literal, name)
                    if port is not None and _used_by_tests(ctx, name, testing_pkg):
                        findings.append(
                            ctx.finding(
                                self.id,
                                literal,
                                f"package-level port {port} ({name}) is shared by tests: allocate per test; "
                                + _remedy(ctx, _port_helper(ctx), "t"),
                            )
                        )
        return findings


def _remedy(ctx: FileContext, helper: tuple[str, str] | None, tname: str) -> str:
    """The fix this repository can use: its free-port helper where it has one, else a port-0 listener."""
    if helper is not None:
        return f"use {default_name(helper[0])}.{helper[1]}({tname})"
    return (
        "listen on 127.0.0.1:0 and take the port from the listener's Addr() "
        f"(this repository has no {default_name(ctx.settings.helper_import)}.GetFreePort helper; "
        'name another with port-helper = "import/path.Func" under [transform.hardcoded-port])'
    )


def _port_helper(ctx: FileContext) -> tuple[str, str] | None:
    """(import path, function) of the free-port helper: `port-helper` in the config, else the guide's."""
    configured = ctx.settings.options_for(HardcodedPort.id).get("port-helper")
    if isinstance(configured, str) and "." in configured:
        import_path, _, function = configured.rpartition(".")
        return import_path, function
    if ctx.project.has_helper("GetFreePort"):
        return ctx.settings.helper_import, "GetFreePort"
    return None


def _test_handle(ctx: FileContext, func: Node, testing_pkg: str | None) -> str | None:
    """The test's `t` (a `*testing.T` parameter), or `s.T()` in a testify suite method."""
    if testing_pkg is not None:
        name = next((p.name for p in parameters(func) if testing_kind(p.type_node, testing_pkg) == "T"), None)
        if name is not None:
            return name
    body = func.child_by_field_name("body")
    if func.type != "method_declaration" or body is None:
        return None
    handle = testing_handle(body, ctx.path, ctx.source, testing_pkg)
    return handle.name if handle is not None and handle.name.endswith(".T()") else None


_LISTENERS = {("net", "Listen"), ("tls", "Listen")}


def _listener_fix(
    ctx: FileContext, body: Node, occurrences: list[Occurrence], sinks: set[str], taken: set[str]
) -> Fix | str:
    """No free-port helper: the test's own `l, err := net.Listen("tcp", ":8080")` listens on port 0
    and every later mention of the port reads the listener's (`l.Addr().(*net.TCPAddr).Port`).
    Returns the fix, or why there is none."""
    ordered = sorted(occurrences, key=lambda o: o.node.start_byte)
    first = ordered[0]
    args = first.node.parent
    call = args.parent if args is not None and args.type == "argument_list" else None
    net_name = ctx.imports.local_name("net")
    if call is None or first.kind != "hostport" or net_name is None:
        return "the port is mentioned before the test's own net.Listen, or it has none"
    operand, name = call_parts(call)
    package = (
        "net" if operand == net_name else "tls" if operand == ctx.imports.local_name("crypto/tls") else ""
    )
    if (package, name) not in _LISTENERS or call_arguments(call)[1:2] != [first.node]:
        return "the first mention is not the test's own net.Listen"
    binding = binding_of(call)
    targets = targets_of(binding) if binding is not None else []
    if binding is None or binding.type != "short_var_declaration" or len(targets) != 2:
        return "the listener is not kept in a variable"
    listener, err = (text(t) for t in targets)
    following = next_statement(binding)
    if listener == "_" or following is None or not fails_on(following, err):
        return "the listener's error is not checked right after it"
    if any(o.node.start_byte < following.end_byte for o in ordered[1:]):
        return "the port is mentioned before the listener exists"
    if any(not is_inside(o.node, binding.parent) for o in ordered[1:] if binding.parent is not None):
        return "the port is mentioned outside the listener's block"
    if len(list(declarations(body, listener))) != 1:
        return f"{listener} is declared more than once in the test"
    if any(o.kind == "hostport" and _sink_of_direct(o) == "bind" for o in ordered[1:]):
        return "the port is bound a second time"
    port_name = _fresh_port_name(taken)
    taken.add(port_name)
    indent = line_indent(ctx.source, following.start_byte)
    edits = [Edit(first.node.start_byte, first.node.end_byte, f'"{first.prefix}:0"')]
    if ordered[1:]:  # a port variable only for the mentions that read it (an unused one does not compile)
        port_of = f"{listener}.Addr().(*{net_name}.TCPAddr).Port"
        edits.append(Edit(following.end_byte, following.end_byte, f"\n{indent}{port_name} := {port_of}"))
    mention_edits, imports = _mention_edits(ctx, ordered[1:], port_name)
    edits.extend(mention_edits)
    unsafe = sinks & {"process", "elsewhere"}
    reason = (
        "the test owns the listener: it now gets a free port from the kernel and every mention reads it"
        if not unsafe
        else "the listener's port also reaches a child process or a config handed to other code: "
        "check that side reads the new port"
    )
    return Fix(tuple(edits), Safety.UNSAFE if unsafe else Safety.SAFE, reason, add_imports=tuple(imports))


def _sink_of_direct(occurrence: Occurrence) -> str | None:
    args = occurrence.node.parent
    if args is None or args.type != "argument_list" or args.parent is None:
        return None
    return _sink_of(args.parent)


# -- occurrences ---------------------------------------------------------------------------------


def _occurrences(body: Node) -> list[Occurrence]:
    found = []
    for node in find(body, "interpreted_string_literal", "int_literal"):
        occurrence = _occurrence(node)
        if occurrence is not None:
            occurrence.data = _is_table_data(node)
            found.append(occurrence)
    return found


def _occurrence(node: Node) -> Occurrence | None:
    if node.type == "interpreted_string_literal":
        raw = text(node)
        if match := _HOST_PORT.match(raw):
            return _valid(Occurrence(node, int(match.group(2)), "hostport", match.group(1)))
        if match := _FLAG_PORT.match(raw):
            return _valid(Occurrence(node, int(match.group(2)), "flag", match.group(1)))
        if (match := _BARE_PORT.match(raw)) and _after_port_flag_or_joinhostport(node):
            return _valid(Occurrence(node, int(match.group(1)), "bare"))
        return None
    if node.type == "int_literal" and _int_port_context(node):
        try:
            return _valid(Occurrence(node, int(text(node)), "int"))
        except ValueError:
            return None
    return None


_EMBEDDED = r"(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):{port}(?![0-9])"


def _other_mentions(func: Node, port: int, occurrences: list[Occurrence]) -> str | None:
    """Turn `"http://localhost:PORT/x"` into occurrences; refuse when PORT appears any other way."""
    known = {o.node.start_byte for o in occurrences}
    number = re.compile(rf"(?<![0-9]){port}(?![0-9])")
    embedded = re.compile(_EMBEDDED.format(port=port))
    for node in find(func, "int_literal", "interpreted_string_literal", "raw_string_literal"):
        if node.start_byte in known:
            continue
        if node.type == "int_literal" and text(node) == str(port):
            return f"{port} also appears as a plain number"
        if node.type not in ("interpreted_string_literal", "raw_string_literal") or not number.search(
            text(node)
        ):
            continue
        raw = text(node)
        if (
            node.type == "raw_string_literal"
            or "\\" in raw
            or len(number.findall(raw)) != len(embedded.findall(raw))
        ):
            return f"{port} also appears in other text"
        occurrences.append(Occurrence(node, port, "embedded", raw[1:-1]))
    return None


_PORT_HINT = re.compile(r':[1-9][0-9]{0,4}\b|port|^"[1-9][0-9]{0,4}"$', re.IGNORECASE)


def _top_function(node: Node) -> Node | None:
    functions = enclosing_functions(node)
    top = functions[-1] if functions else None
    return top if top is not None and top.type in ("function_declaration", "method_declaration") else None


def _valid(occurrence: Occurrence) -> Occurrence | None:
    return occurrence if 0 < occurrence.port < 65536 else None


def _int_port_context(node: Node) -> bool:
    """`port := 8080`, `Port: 8080`, `fmt.Sprintf("...%d", 8080)`, `strconv.Itoa(8080)`."""
    parent = node.parent
    if parent is None:
        return False
    if (
        parent.type == "literal_element"
        and parent.parent is not None
        and parent.parent.type == "keyed_element"
    ):
        key = parent.parent.child_by_field_name("key")
        return key is not None and key != parent and bool(_PORTISH.search(text(key)))
    if parent.type == "expression_list" and parent.parent is not None:
        holder = parent.parent
        if holder.type in ("short_var_declaration", "assignment_statement"):
            left = holder.child_by_field_name("left")
            values = parent.named_children
            targets = left.named_children if left is not None else []
            index = values.index(node) if node in values else -1
            return 0 <= index < len(targets) and bool(_PORTISH.search(text(targets[index])))
        if holder.type == "var_spec":
            return any(_PORTISH.search(text(n)) for n in holder.children_by_field_name("name"))
    if parent.type == "argument_list" and parent.parent is not None:
        operand, name = call_parts(parent.parent)
        if (operand, name) == ("strconv", "Itoa"):
            return True
        if (operand, name) == ("fmt", "Sprintf"):
            args = call_arguments(parent.parent)
            return bool(args) and ":%d" in text(args[0])
    return False


def _after_port_flag_or_joinhostport(node: Node) -> bool:
    """`"8080"` right after a `"--port"` argument, or as JoinHostPort's port."""
    parent = node.parent
    if parent is None or parent.type != "argument_list":
        return False
    if parent.parent is not None and call_parts(parent.parent) == ("net", "JoinHostPort"):
        return True
    previous = node.prev_named_sibling
    return previous is not None and bool(_FLAG_NAME.match(text(previous)))


def _is_table_data(node: Node) -> bool:
    """Inside a composite literal that is itself an element of a slice/map/array literal."""
    current = node
    while current.parent is not None and current.type not in ("block", "func_literal"):
        parent = current.parent
        if (
            parent.type == "literal_value"
            and parent.parent is not None
            and parent.parent.type == "literal_value"
        ):
            return True
        if (
            parent.type == "literal_value"
            and parent.parent is not None
            and parent.parent.type == "composite_literal"
        ):
            type_node = parent.parent.child_by_field_name("type")
            if type_node is not None and type_node.type in (
                "slice_type",
                "array_type",
                "map_type",
                "implicit_length_array_type",
            ):
                return True
        current = parent
    return False


def _int_position(node: Node, root: Node) -> bool:
    """An int literal whose replacement by an `int` variable surely compiles."""
    parent = node.parent
    if parent is None:
        return False
    if parent.type != "literal_element":
        return True
    keyed = parent.parent
    literal = keyed.parent.parent if keyed is not None and keyed.parent is not None else None
    if keyed is None or literal is None or literal.type != "composite_literal":
        return False
    return (
        _field_type(root, text(literal.child_by_field_name("type")), text(keyed.child_by_field_name("key")))
        == "int"
    )


def _field_type(root: Node, type_name: str, field_name: str) -> str | None:
    """The declared type of `type_name.field_name` when the struct is declared in this file."""
    for spec in walk(root):
        if spec.type != "type_spec" or text(spec.child_by_field_name("name")) != type_name:
            continue
        for decl in walk(spec):
            if decl.type == "field_declaration" and any(
                text(n) == field_name for n in decl.children_by_field_name("name")
            ):
                return text(decl.child_by_field_name("type"))
    return None


# -- where a port goes -------------------------------------------------------------------------------


def _sinks(occurrence: Occurrence, func: Node, depth: int = 0) -> set[str]:
    return _flow(occurrence.node, func, depth)


def _flow(node: Node, func: Node, depth: int) -> set[str]:
    """Sinks an expression reaches: bind, dial, process, or elsewhere (a config handed away)."""
    if depth > 4:
        return set()
    expr = node
    while expr.parent is not None and expr.parent.type in ("parenthesized_expression", "binary_expression"):
        expr = expr.parent
    parent = expr.parent
    if parent is None:
        return set()
    if parent.type == "argument_list" and parent.parent is not None:
        call = parent.parent
        sink = _sink_of(call)
        if sink is not None:
            return {sink}
        _, name = call_parts(call)
        if name in _CARRIERS:
            return _flow(call, func, depth + 1)
        return set()
    if parent.type == "expression_list":
        return _flow_through_variables(expr, func, depth)
    if (
        parent.type == "literal_element"
        and parent.parent is not None
        and parent.parent.type == "keyed_element"
    ):
        keyed = parent.parent
        key = text(keyed.child_by_field_name("key"))
        literal = keyed.parent.parent if keyed.parent is not None else None  # literal_value -> composite
        if literal is None or literal.type != "composite_literal":
            return set()
        type_name = text(literal.child_by_field_name("type"))
        if key == "Addr" and type_name.endswith("Server"):
            return {"bind"}
        sinks = _flow_through_variables(literal, func, depth, field_name=key)
        return sinks
    return set()


def _flow_through_variables(expr: Node, func: Node, depth: int, field_name: str | None = None) -> set[str]:
    """Follow `x := expr` (or `cfg := Config{Port: ...}` with `cfg.Port` reads) to the uses of x."""
    holder = expr
    while holder.parent is not None and holder.parent.type in (
        "unary_expression",
        "parenthesized_expression",
    ):
        holder = holder.parent
    parent = holder.parent
    if parent is None:
        return set()
    if parent.type == "argument_list":
        return {"elsewhere"} if field_name is not None else set()
    binding = binding_of(holder)
    if binding is None:
        return set()
    names = targets_of(binding)
    values = values_of(binding)
    index = values.index(holder) if holder in values else 0
    if index >= len(names) or names[index].type != "identifier":
        return set()
    name = text(names[index])
    statement = statement_of(binding) or binding
    scope = statement.parent or func
    sinks: set[str] = set()
    for use in uses_of(scope, name, statement.end_byte):
        if field_name is not None:
            selector = use.parent
            if (
                selector is not None
                and selector.type == "selector_expression"
                and selector.child_by_field_name("operand") == use
            ):
                if text(selector.child_by_field_name("field")) == field_name:
                    sinks |= _flow(selector, func, depth + 1)
                continue
            sinks |= {"elsewhere"} if _is_call_argument(use) else set()
            continue
        sinks |= _flow(use, func, depth + 1)
    return sinks


def _is_call_argument(node: Node) -> bool:
    parent = node.parent
    while parent is not None and parent.type in ("unary_expression", "parenthesized_expression"):
        parent = parent.parent
    return parent is not None and parent.type == "argument_list"


def _sink_of(call: Node) -> str | None:
    parts = call_parts(call)
    if parts in BIND:
        return "bind"
    if parts in DIAL:
        return "dial"
    if parts in PROCESS:
        return "process"
    if parts[0] and parts[1] in _DIAL_METHODS:
        return "dial"
    return None


# -- edits -----------------------------------------------------------------------------------------


def _fresh_port_name(taken: set[str]) -> str:
    return next(n for n in ("port", "freePort", *(f"port{i}" for i in range(2, 50))) if n not in taken)


def _mention_edits(
    ctx: FileContext, occurrences: list[Occurrence], name: str
) -> tuple[list[Edit], list[ImportRequest]]:
    """Each occurrence rewritten to read the port variable `name`, and the imports that needs."""
    fmt_name = ctx.imports.name_for("fmt")
    strconv_name = ctx.imports.name_for("strconv")
    edits: list[Edit] = []
    imports: list[ImportRequest] = []
    for occurrence in occurrences:
        new = _replacement(occurrence, name, fmt_name, strconv_name)
        if "Sprintf" in new:
            imports.append(ImportRequest("fmt", fmt_name))
        if "Itoa" in new:
            imports.append(ImportRequest("strconv", strconv_name))
        edits.append(Edit(occurrence.node.start_byte, occurrence.node.end_byte, new))
    return edits, imports


def _replacement(occurrence: Occurrence, name: str, fmt_name: str, strconv_name: str) -> str:
    if occurrence.kind == "hostport":
        return f'{fmt_name}.Sprintf("{occurrence.prefix}:%d", {name})'
    if occurrence.kind == "flag":
        return f'{fmt_name}.Sprintf("{occurrence.prefix}%d", {name})'
    if occurrence.kind == "bare":
        return f"{strconv_name}.Itoa({name})"
    if occurrence.kind == "embedded":
        template = re.sub(
            _EMBEDDED.format(port=occurrence.port), r"\1:%d", occurrence.prefix.replace("%", "%%")
        )
        return f'{fmt_name}.Sprintf("{template}", ' + ", ".join([name] * template.count("%d")) + ")"
    return name


def _reusable_declaration(first: Occurrence, body: Node) -> str | None:
    """`port := 8080` at the top of the test, before every other occurrence: keep its name."""
    if first.kind != "int":
        return None
    parent = first.node.parent
    holder = parent.parent if parent is not None else None
    if holder is None or holder.type != "short_var_declaration" or holder.parent is None:
        return None
    statements = body.named_children[0] if body.named_children else None
    if statements is None or holder.parent != statements:
        return None
    left = holder.child_by_field_name("left")
    right = holder.child_by_field_name("right")
    if left is None or right is None or len(left.named_children) != 1 or len(right.named_children) != 1:
        return None
    return text(left.named_children[0])


def _top_statement(node: Node, body: Node) -> Node | None:
    statements = body.named_children[0] if body.named_children else None
    if statements is None or statements.type != "statement_list":
        return None
    current = node
    while current.parent is not None and current.parent != statements:
        current = current.parent
    return current if current.parent == statements else None


def _literal_port(literal: Node, name: str) -> int | None:
    if literal.type == "interpreted_string_literal" and (match := _HOST_PORT.match(text(literal))):
        return int(match.group(2))
    if literal.type == "int_literal" and _PORTISH.search(name):
        try:
            value = int(text(literal))
        except ValueError:
            return None
        return value if 0 < value < 65536 else None
    return None


def _used_by_tests(ctx: FileContext, name: str, testing_pkg: str) -> bool:
    for node in walk(ctx.tree.root_node):
        if (
            node.type != "identifier"
            or text(node) != name
            or (node.parent is not None and is_struct_key(node.parent))
        ):
            continue
        functions = enclosing_functions(node)
        if any(testing_kind(p.type_node, testing_pkg) for f in functions for p in parameters(f)):
            return True
    return False
