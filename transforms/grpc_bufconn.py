"""A unit test's gRPC server and client over TCP (`net.Listen` + `grpc.NewServer` + a dial of the
listener's address) talk through an in-memory `bufconn.Listener` instead."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node

from codemod.edits import Edit, Finding, Fix, ImportRequest, Safety
from codemod.flow import (
    assignments_to,
    binding_of,
    dead_after,
    declared_before,
    fails_on,
    next_statement,
    targets_of,
    testing_handle,
)
from codemod.gosyntax import (
    call_arguments,
    call_parts,
    comments_around,
    enclosing_functions,
    find,
    line_indent,
    text,
)
from codemod.scope import uses_of
from codemod.testify import statement_alone
from codemod.transform import FileContext, Transform

GRPC = "google.golang.org/grpc"
BUFCONN = "google.golang.org/grpc/test/bufconn"
INSECURE = "google.golang.org/grpc/credentials/insecure"
TARGET = '"passthrough:///bufnet"'
DIALS = frozenset({"Dial", "DialContext", "NewClient"})
# Dial options NewClient ignores: a test that has them keeps the dial function it had.
BLOCKING = frozenset({"WithBlock", "WithTimeout", "FailOnNonTempDialError", "WithReturnConnectionError"})
NEW_CLIENT = (1, 63, 0)  # grpc.NewClient
DIAL_CONTEXT = (1, 41, 0)  # bufconn.Listener.DialContext


_REAL_NETWORK = re.compile(
    r"\b(integration|real (grpc |tcp )?(server|network|port|socket|connection)s?|real tcp)\b", re.I
)
_READS = ("selector_expression", "type_assertion_expression", "call_expression", "parenthesized_expression")


class Refused(Exception):
    """The site is reported, not rewritten; the message says why."""


@dataclass
class Plan:
    edits: list[Edit] = field(default_factory=list)
    imports: list[ImportRequest] = field(default_factory=list)


class GrpcBufconn(Transform):
    """
    What it does
        In a unit test (not under an end-to-end folder) that listens on TCP (`lis, err :=
        net.Listen("tcp", ...)`), serves a `grpc.NewServer()` on that listener (`go s.Serve(lis)`)
        and dials the same listener in the same function (`lis.Addr().String()`, a variable holding
        it, or the same literal address), the listener becomes `bufconn.Listen(1 << 20)` and the
        dial gets `grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
        return lis.DialContext(ctx) })` with the target `"passthrough:///bufnet"`, as the guide's
        "Fast gRPC Testing with bufconn" shows. With grpc >= v1.63 the dial is `grpc.NewClient`
        (a `Dial`/`DialContext` with blocking options such as `WithBlock` keeps its function);
        the deprecated `grpc.WithInsecure()` becomes `grpc.WithTransportCredentials(
        insecure.NewCredentials())`. The `require.NoError(t, err)` of the listen goes with it.

    Why
        The guide: use bufconn for in-memory gRPC connections. No port is taken, so parallel
        packages cannot collide on one and no firewall or IPv6 setting makes the test flaky; the
        connection needs no kernel socket.

    Leaves alone
        Tests that read the listener's port or address for anything but the dial (a config, a
        topology record, a child process, a returned address), that check TCP behaviour (another
        use of the listener), serve TLS or dial with their own dialer or credentials, or pass
        server or dial options the tool cannot see (`opts...`): those are reported. End-to-end
        folders are left alone: they talk TCP on purpose.

    Example
        lis, err := net.Listen("tcp", "127.0.0.1:0")
        require.NoError(t, err)
        srv := grpc.NewServer()
        go srv.Serve(lis)
        conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithInsecure())
        // becomes
        lis := bufconn.Listen(1 << 20)
        srv := grpc.NewServer()
        go srv.Serve(lis)
        conn, err := grpc.NewClient("passthrough:///bufnet",
            grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
                return lis.DialContext(ctx) }),
            grpc.WithTransportCredentials(insecure.NewCredentials()))

    Fix safety
        Unsafe: the server has no TCP address any more. What the test does not show (a handler
        that reads the peer address, an interceptor that checks it, a second client built from the
        server) may depend on real TCP; run the test after applying.
    """

    id = "grpc-bufconn"
    guide_section = "Fast gRPC Testing with bufconn"
    summary = "net.Listen + grpc server + dial of its address in a unit test -> bufconn"
    review_hint = "check that nothing else in the test needed the server's TCP address"

    def run(self, ctx: FileContext) -> list[Finding]:
        net_pkg, grpc_pkg = ctx.imports.local_name("net"), ctx.imports.local_name(GRPC)
        if net_pkg is None or grpc_pkg is None or ctx.project.integration:
            return []
        found = []
        for call in ctx.nodes("call_expression"):
            if call_parts(call) != (net_pkg, "Listen"):
                continue
            finding = self._listen(ctx, call, grpc_pkg)
            if finding is not None:
                found.append(finding)
        return found

    def _listen(self, ctx: FileContext, listen: Node, grpc_pkg: str) -> Finding | None:
        binding = binding_of(listen)
        targets = targets_of(binding) if binding is not None else []
        if binding is None or binding.type != "short_var_declaration" or len(targets) != 2:
            return None
        lis, err = (text(t) for t in targets)
        functions = enclosing_functions(listen)
        testing_name = ctx.imports.local_name("testing")
        if not functions or testing_handle(listen, ctx.path, ctx.source, testing_name) is None:
            return None
        func = functions[0]
        statement = binding
        block = statement.parent
        if block is None or block.type != "statement_list" or lis == "_":
            return None
        uses = uses_of(block, lis, statement.end_byte)
        server = next((u for u in uses if _served_by(u, func, grpc_pkg)), None)
        if server is None:
            return None  # not a gRPC server's listener
        message = f"a gRPC server in this test listens on TCP ({text(listen)})"
        try:
            plan = self._plan(ctx, listen, statement, lis, err, uses, func, grpc_pkg)
        except Refused as why:
            return ctx.finding(self.id, listen, f"{message}: not rewritten to bufconn, {why}")
        if plan is None:
            return None
        intent = _real_network_comment(func, statement)
        if intent:
            return ctx.finding(
                self.id, listen, f'{message}: not rewritten to bufconn, a comment says "{intent}"'
            )
        reason = (
            "the server has no TCP address any more: code the test does not show (a handler reading "
            "the peer address, a second client) may need one"
        )
        fix = Fix(tuple(plan.edits), Safety.UNSAFE, reason, add_imports=tuple(plan.imports))
        return ctx.finding(
            self.id, listen, f"{message} and the test dials it: bufconn keeps both in memory", fix
        )

    def _plan(
        self,
        ctx: FileContext,
        listen: Node,
        statement: Node,
        lis: str,
        err: str,
        uses: list[Node],
        func: Node,
        grpc_pkg: str,
    ) -> Plan | None:
        grpc_version = ctx.project.version_of(GRPC)
        if grpc_version is not None and grpc_version < DIAL_CONTEXT:
            raise Refused(f"bufconn's DialContext needs grpc >= v1.41.0, go.mod has {_v(grpc_version)}")
        address = call_arguments(listen)[1] if len(call_arguments(listen)) == 2 else None
        dials: list[Node] = []
        dropped: list[Node] = []
        for use in uses:
            dials_here, drops = _classify(use, lis, func, grpc_pkg)
            dials += dials_here
            dropped += drops
        if address is not None and address.type == "interpreted_string_literal" and text(address) != '":0"':
            same = [c for c in _dials_in(func, grpc_pkg) if text(_target(c)) == text(address)]
            dials += same
        if not dials:
            raise Refused(f"{lis} is served but no dial of its address is seen in this function")
        plan = Plan()
        check = next_statement(statement)
        declared_here = not declared_before(statement, err)
        if err != "_":
            if check is None or not fails_on(check, err):
                raise Refused(f"{err} from {text(listen)} is not checked right after it")
            if not dead_after(check, err, declared_here):
                raise Refused(f"{err} from {text(listen)} is read again later")
            edit = statement_alone(ctx.source, check)
            if edit is None:
                raise Refused("the error check shares its line with other code")
            plan.edits.append(edit)
        bufconn = ctx.imports.name_for(BUFCONN)
        plan.imports.append(ImportRequest(BUFCONN, bufconn))
        plan.edits.append(
            Edit(statement.start_byte, statement.end_byte, f"{lis} := {bufconn}.Listen(1 << 20)")
        )
        for holder in dropped:
            edit = statement_alone(ctx.source, holder)
            if edit is None:
                raise Refused(f"{text(holder)} shares its line with other code")
            plan.edits.append(edit)
        for dial in sorted(set(dials), key=lambda n: n.start_byte):
            self._dial(ctx, dial, lis, func, grpc_pkg, plan)
        return plan

    def _dial(self, ctx: FileContext, dial: Node, lis: str, func: Node, grpc_pkg: str, plan: Plan) -> None:
        _, function = call_parts(dial)
        args = call_arguments(dial)
        target = _target(dial)
        assert target is not None
        options = args[args.index(target) + 1 :]
        names = set()
        for option in options:
            if option.type != "call_expression" or call_parts(option)[0] != grpc_pkg:
                raise Refused(f"the dial option {text(option)} is not visible")
            names.add(call_parts(option)[1])
            if call_parts(option)[1] in ("WithContextDialer", "WithDialer"):
                raise Refused("the dial has its own dialer")
            if call_parts(option)[1] == "WithTransportCredentials":
                creds = call_arguments(option)
                insecure = ctx.imports.local_name(INSECURE)
                if not creds or call_parts(creds[0]) != (insecure, "NewCredentials"):
                    raise Refused("the dial uses transport credentials (TLS checks the server name)")
        if dial.parent is not None and dial.parent.type == "argument_list" and "..." in text(dial.parent):
            raise Refused("the dial's options are passed on with ...")
        grpc_version = ctx.project.version_of(GRPC)
        new_client = grpc_version is None or grpc_version >= NEW_CLIENT
        context_pkg = ctx.imports.name_for("context")
        plan.imports.append(ImportRequest("context", context_pkg))
        net_pkg = ctx.imports.local_name("net")
        indent = line_indent(ctx.source, target.start_byte)
        dialer = (
            f"{grpc_pkg}.WithContextDialer(func(ctx {context_pkg}.Context, _ string) ({net_pkg}.Conn, error) "
            f"{{\n{indent}\treturn {lis}.DialContext(ctx)\n{indent}}})"
        )
        fn = dial.child_by_field_name("function")
        assert fn is not None
        name_node = fn.child_by_field_name("field")
        assert name_node is not None
        keeps_context = function == "DialContext" and not _droppable(args[0], func)
        if function != "NewClient" and new_client and not names & BLOCKING and not keeps_context:
            plan.edits.append(Edit(name_node.start_byte, target.start_byte, "NewClient("))
        plan.edits.append(Edit(target.start_byte, target.end_byte, f"{TARGET}, {dialer}"))
        self._insecure(ctx, options, grpc_pkg, plan)

    def _insecure(self, ctx: FileContext, options: list[Node], grpc_pkg: str, plan: Plan) -> None:
        """The deprecated `grpc.WithInsecure()` becomes `WithTransportCredentials(insecure...)`."""
        for option in options:
            if call_parts(option)[1] != "WithInsecure":
                continue
            insecure = ctx.imports.name_for(INSECURE)
            plan.imports.append(ImportRequest(INSECURE, insecure))
            credentials = f"{grpc_pkg}.WithTransportCredentials({insecure}.NewCredentials())"
            plan.edits.append(Edit(option.start_byte, option.end_byte, credentials))


def _real_network_comment(func: Node, statement: Node) -> str:
    """What the comments above the listen, or the function's doc comment, say the test wants of the
    network ("a real gRPC server", "integration testing"), or ""."""
    comments = comments_around(statement)
    top = enclosing_functions(func)[-1] if enclosing_functions(func) else func
    previous = top.prev_named_sibling
    while (
        previous is not None
        and previous.type == "comment"
        and previous.end_point[0] >= top.start_point[0] - 1
    ):
        comments.append(previous)
        top, previous = previous, previous.prev_named_sibling
    match = _REAL_NETWORK.search(" ".join(text(c) for c in comments))
    return match.group(0) if match else ""


def _v(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(str(p) for p in version)


def _served_by(use: Node, func: Node, grpc_pkg: str) -> bool:
    """`srv.Serve(lis)` where `srv := grpc.NewServer(...)` in `func`, with options the tool can see."""
    args = use.parent
    call = args.parent if args is not None else None
    if args is None or call is None or args.type != "argument_list" or call.type != "call_expression":
        return False
    server, method = call_parts(call)
    if method != "Serve" or not server.isidentifier():
        return False
    return any(
        value.type == "call_expression" and call_parts(value) == (grpc_pkg, "NewServer")
        for _, value in assignments_to(func, server)
    )


def _server_options_refused(func: Node, server: str, grpc_pkg: str) -> str | None:
    for _, value in assignments_to(func, server):
        for option in call_arguments(value):
            if "..." in text(option.parent) or option.type != "call_expression":
                return f"the server options {text(option)} are not visible"
            if call_parts(option)[1] == "Creds":
                return "the server serves TLS"
    return None


def _classify(use: Node, lis: str, func: Node, grpc_pkg: str) -> tuple[list[Node], list[Node]]:
    """(dial calls, statements to drop) for one read of the listener; Refused for any other read."""
    parent = use.parent
    if parent is not None and parent.type == "argument_list" and _served_by(use, func, grpc_pkg):
        server = call_parts(parent.parent)[0] if parent.parent is not None else ""
        why = _server_options_refused(func, server, grpc_pkg)
        if why is not None:
            raise Refused(why)
        return [], []
    if parent is not None and parent.type == "argument_list" and parent.parent is not None:
        raise Refused(f"the test hands {lis} to {text(parent.parent.child_by_field_name('function'))}")
    if parent is None or parent.type != "selector_expression":
        raise Refused(f"{lis} is used as {text(parent) if parent is not None else lis}")
    method = text(parent.child_by_field_name("field"))
    call = parent.parent
    if call is None or call.type != "call_expression":
        raise Refused(f"{text(parent)} is read")
    if method == "Close":
        return [], []
    addr_string = call.parent.parent if call.parent is not None else None
    if method != "Addr" or addr_string is None or addr_string.type != "call_expression":
        read = call
        while read.parent is not None and read.parent.type in _READS:
            read = read.parent
        raise Refused(f"the test reads {text(read)}")
    if call_parts(addr_string)[1] != "String" or call_arguments(addr_string):
        raise Refused(f"the test reads {text(addr_string.parent or addr_string)}")
    dial = _dial_of(addr_string, grpc_pkg)
    if dial is not None:
        return [dial], []
    binding = binding_of(addr_string)
    names = targets_of(binding) if binding is not None else []
    if binding is None or binding.type != "short_var_declaration" or len(names) != 1:
        raise Refused(f"the test hands {text(addr_string)} on")
    block = binding.parent
    addr_uses = uses_of(block, text(names[0]), binding.end_byte) if block is not None else []
    dials = [_dial_of(u, grpc_pkg) for u in addr_uses]
    if not addr_uses or any(d is None for d in dials):
        raise Refused(f"the test reads the address {text(names[0])} for more than the dial")
    return [d for d in dials if d is not None], [binding]


def _dial_of(expr: Node, grpc_pkg: str) -> Node | None:
    """The grpc dial whose target is `expr`."""
    args = expr.parent
    call = args.parent if args is not None else None
    if args is None or call is None or args.type != "argument_list" or call.type != "call_expression":
        return None
    return call if _is_dial(call, grpc_pkg) and _target(call) == expr else None


def _target(dial: Node) -> Node | None:
    args = call_arguments(dial)
    index = 1 if call_parts(dial)[1] == "DialContext" else 0
    return args[index] if len(args) > index else None


def _dials_in(func: Node, grpc_pkg: str) -> list[Node]:
    return [c for c in find(func, "call_expression") if _is_dial(c, grpc_pkg)]


def _is_dial(call: Node, grpc_pkg: str) -> bool:
    package, function = call_parts(call)
    return package == grpc_pkg and function in DIALS


def _droppable(context_arg: Node, func: Node) -> bool:
    """Whether DialContext's context may go: a call (`t.Context()`), or a variable read elsewhere too
    (else dropping it would leave it declared and not used)."""
    if context_arg.type == "call_expression":
        return True
    body = func.child_by_field_name("body")
    if context_arg.type != "identifier" or body is None:
        return False
    return sum(1 for n in find(body, "identifier") if text(n) == text(context_arg)) > 2
