# SPDX-License-Identifier: Apache-2.0
"""Compiler: operator semantics per type, type errors, folding and
event-type inference, on the real field registry and real event contexts
(support.contexts)."""
from __future__ import annotations

from typing import Any

import pytest

from falco.errors import RuleLoadError
from falco.filter import syntax, compile_condition, parse_condition
from falco.filter.compiler import fold
from support.contexts import EVENT_NAMES as TEST_EVTTYPES
from support.contexts import REGISTRY as REG
from support.contexts import On, on


def pred(text: str) -> Any:
    return compile_condition(parse_condition(text), REG,
                             all_evttypes=TEST_EVTTYPES).predicate


def evttypes(text: str) -> frozenset[str] | None:
    return compile_condition(parse_condition(text), REG,
                             all_evttypes=TEST_EVTTYPES).evttypes


def compile_error(text: str) -> RuleLoadError:
    with pytest.raises(RuleLoadError) as info:
        compile_condition(parse_condition(text), REG,
                          all_evttypes=TEST_EVTTYPES)
    return info.value


NOFD = on("brk")                       # an event without an fd: no fd.name


@pytest.mark.parametrize("cond,where,expected", [
    ("proc.name = cat", on(comm="cat"), True),
    ("proc.name == cat", on(comm="cats"), False),
    ("proc.name != cat", on(comm="dog"), True),
    ("fd.name != /x", NOFD, False),     # missing value: every check false
    ("not fd.name = /x", NOFD, True),
    ("proc.name contains at", on(comm="cat"), True),
    ("proc.name icontains AT", on(comm="cAt"), True),
    ("proc.name icontains AT", on(comm="dog"), False),
    ("proc.name startswith ca", on(comm="cat"), True),
    ("proc.name endswith ca", on(comm="cat"), False),
    ("fd.name glob '/etc/*.conf'", on(name="/etc/a/b.conf"), True),
    ("fd.name glob '/etc/?.conf'", on(name="/etc/ab.conf"), False),
    ("fd.name iglob '/ETC/*'", on(name="/etc/passwd"), True),
    ("proc.cmdline regex 'c.t .*'", on(comm="cat", args=["/x"]), True),
    ("proc.cmdline regex 'c.t'", on(comm="cat", args=["/x"]), False),
    ("fd.name pmatch (/etc, /usr/bin/)", on(name="/etc/passwd"), True),
    ("fd.name pmatch (/etc, /usr/bin/)", on(name="/usr/bin"), True),
    ("fd.name pmatch (/etc)", on(name="/etcetera"), False),
    ("proc.name in (bash, sh)", on(comm="sh"), True),
    ("proc.name in (bash, sh)", on(comm="zsh"), False),
    ("proc.name in ()", on(comm="zsh"), False),
    ("proc.pid = 16", on(pid=16), True),
    ("proc.pid > 10", on(pid=11), True),
    ("proc.pid <= 10", on(pid=11), False),
    ("proc.pid in (1, 2, 3)", on(pid=2, parents=()), True),
    ("user.uid = 1000", on(uid=1000), True),
    ("evt.is_open_read = true", on(flags="O_RDONLY"), True),
    ("evt.is_open_read = false", on(flags="O_RDONLY"), False),
    ("evt.is_open_read = true", on(flags="O_WRONLY"), False),
    ("fd.sip = 127.0.0.1", on("connect", sip="127.0.0.1"), True),
    ("fd.sip in (10.2.3.4, ::1)", on("connect", sip="10.2.3.4"), True),
    ("fd.snet in (10.0.0.0/8, ::1/128)", on("connect", sip="10.2.3.4"),
     True),
    ("fd.snet in (10.0.0.0/8, ::1/128)", on("connect", sip="11.2.3.4"),
     False),
    ("fd.net in (127.0.0.1/24)", on("connect", sip="127.0.0.200"), True),
    ("fd.net in (127.0.0.1/24)", on("connect", sip="127.0.1.1"), False),
    ("fd.sip != 127.0.0.1", on("connect", sip="127.0.0.2"), True),
    ("evt.buffer bcontains 504b0304", on("write", data=b"xxPK\x03\x04"),
     True),
    ("evt.buffer bstartswith 504b", on("write", data=b"xPK"), False),
    ("evt.buffer bstartswith 504b", on("write", data=b"PKx"), True),
    ("fd.name exists", on(name=""), True),
    ("fd.name exists", NOFD, False),
    ("proc.aname = bash", on(parents=["sh", "bash"]), True),
    ("proc.aname = bash", on(parents=["sh", "zsh"]), False),
    ("proc.aname[2] = bash", on(parents=["sh", "bash"]), True),
    ("proc.aname != bash", on(parents=["sh", "bash"]), False),
    ("proc.aname != bash", on(parents=["sh", "zsh"]), True),
    ("proc.aname in (bash, x)", on(parents=["sh", "bash"]), True),
    ("fd.types in (file)", on("brk", comm="cat", fds=[]), False),
    ("fd.types in (file, ipv4)", on("brk", fds=["file", "ipv4"]), True),
    ("fd.types in (file, ipv4)", on("brk", fds=["file", "pipe"]), False),
    ("fd.types intersects (file, x)", on("brk", fds=["file", "pipe"]),
     True),
    ("tolower(proc.name) = bash", on(comm="BaSh"), True),
    ("toupper(basename(fd.name)) = PASSWD", on(name="/etc/passwd"), True),
    ("len(proc.cmdline) > 5", on(comm="abc", args=["def"]), True),
    ("len(fd.types) = 2", on("brk", fds=["file", "pipe"]), True),
    ("b64(proc.name) = hello", on(comm="aGVsbG8="), True),
    ("proc.pname = val(proc.name)", on(comm="a", parents=["a"]), True),
    ("proc.pname = val(proc.name)", on(comm="a", parents=["b"]), False),
    ("proc.pid > val(proc.ppid)", on(pid=5, parents=["b"]), True),
    ("fd.name = val(fd.name)", NOFD, False),
    ("evt.type = open and proc.name = cat or proc.name = dog",
     on("close", comm="dog"), True),
    ("not (evt.type = open and proc.name = cat)", on("open", comm="dog"),
     True),
])
def test_semantics(cond: str, where: On, expected: bool) -> None:
    assert pred(cond)(where.build()) is expected


@pytest.mark.parametrize("cond,message", [
    ("proc.pid contains 1", "operator 'contains' not supported"),
    ("proc.pid = abc", "'abc' is not a valid number"),
    ("evt.is_open_read = maybe", "not a valid boolean"),
    ("fd.sip = 999.1.1.1", "not a valid IP address"),
    ("proc.nme = x", "filter_check called with nonexistent field proc.nme;"
                     " did you mean 'proc.name'"),
    ("proc.name[3] = x", "does not take an argument"),
    ("evt.arg = x", "requires an argument"),
    ("evt.type = nosuchevent", "unknown event type nosuchevent"),
    ("proc.cmdline regex '(('", "invalid regular expression"),
    ("proc.name = x and some_macro", "Undefined macro 'some_macro'"),
    ("len(proc.pid) = 1", "transformer 'len' does not support type int"),
    ("tolower(proc.pid) = 1", "transformer 'tolower' does not support type "
     "int"),
    ("proc.name = (a)", "unexpected"),
    ("proc.name = val(proc.pid)", "has incompatible type 'int'"),
])
def test_compile_errors(cond: str, message: str) -> None:
    if message == "unexpected":
        with pytest.raises(RuleLoadError, match="unexpected"):
            parse_condition(cond)
        return
    err = compile_error(cond)
    assert message in err.message


def test_error_points_at_the_offending_node() -> None:
    err = compile_error("evt.type = open and proc.pid = abc")
    assert err.offset == 31  # type: ignore[attr-defined]
    err = compile_error("evt.type in (open, bogus)")
    assert err.offset == 19  # type: ignore[attr-defined]
    err = compile_error("evt.type = open and proc.pid contains 1")
    assert err.offset == 29  # type: ignore[attr-defined]


def test_unknown_field_is_flagged_for_skip_if_unknown() -> None:
    assert getattr(compile_error("proc.nobody = 1"), "unknown") is True
    assert getattr(compile_error("proc.pid = x"), "unknown") is False


@pytest.mark.parametrize("cond,expected", [
    ("evt.type = execve", {"execve"}),
    ("evt.type in (execve, open)", {"execve", "open"}),
    ("evt.type = execve and proc.name = foo or evt.type = open",
     {"execve", "open"}),
    ("evt.type = execve and not proc.name = foo or evt.type = open",
     {"execve", "open"}),
    ("evt.type in (execve, open) and evt.type in (open, close)", {"open"}),
    ("evt.type = execve and evt.type = open", set()),
    ("not (evt.type != open)", {"open"}),
    ("not (evt.type = open and proc.name = x)", None),
    ("not (evt.type = open or evt.type = close)",
     set(TEST_EVTTYPES) - {"open", "close"}),
    ("proc.name != foo and evt.type = execve", {"execve"}),
    ("proc.name = foo", None),
    ("evt.type != execve", set(TEST_EVTTYPES) - {"execve"}),
    ("not evt.type in (execve, open) or evt.type = connect",
     set(TEST_EVTTYPES) - {"execve", "open"}),
    ("tolower(evt.type) = open", None),
])
def test_event_type_inference(cond: str, expected: set[str] | None) -> None:
    got = evttypes(cond)
    assert (None if got is None else set(got)) == expected


SAMPLE_EVTS = ("open", "openat", "close", "connect", "execve", "read",
               "brk")


def test_event_type_inference_agrees_with_evaluation() -> None:
    conds = ["evt.type = execve and proc.name = foo or evt.type = open",
             "not (evt.type in (open, close) and proc.name = x)",
             "evt.type != connect and not proc.name = y",
             "(evt.type = open or proc.name = z) and evt.type != close"]
    for cond in conds:
        compiled = compile_condition(parse_condition(cond), REG,
                                     all_evttypes=TEST_EVTTYPES)
        allowed = compiled.evttypes or TEST_EVTTYPES
        matched = 0
        for evt in SAMPLE_EVTS:
            for name in ("x", "y", "z", "foo"):
                if compiled.predicate(on(evt, comm=name).build()):
                    assert evt in allowed, (cond, evt)
                    matched += 1
        assert matched, cond


def test_folding() -> None:
    tree = syntax.And((syntax.Const(True), syntax.MacroRef("a"),
                    syntax.And((syntax.MacroRef("b"), syntax.Const(True)))))
    assert fold(tree) == syntax.And((syntax.MacroRef("a"), syntax.MacroRef("b")))
    assert fold(syntax.Or((syntax.MacroRef("a"), syntax.Const(True)))) == \
        syntax.Const(True)
    assert fold(syntax.Not(syntax.Not(syntax.MacroRef("a")))) == syntax.MacroRef("a")
    assert fold(parse_condition("proc.name in () or proc.name = x")) == \
        parse_condition("proc.name = x")
    compiled = compile_condition(parse_condition("not proc.name in ()"), REG)
    assert compiled.predicate(NOFD.build()) is True
    assert compiled.ast == syntax.Const(True)


def test_without_universe_negations_mean_all_types() -> None:
    compiled = compile_condition(parse_condition("evt.type != open"), REG)
    assert compiled.evttypes is None
    compiled = compile_condition(parse_condition("evt.type = whatever"), REG)
    assert compiled.evttypes == frozenset({"whatever"})


def test_specialized_predicates_agree_with_exact_ones() -> None:
    from falco.filter.compiler import ConditionCompiler
    comp = ConditionCompiler(REG, TEST_EVTTYPES)
    conds = ["(evt.type in (open, openat) and proc.name = a) or "
             "(evt.type = execve and proc.name = b) or evt.type != close",
             "not (evt.type = open and proc.name = a) and proc.name != c",
             "evt.type = connect"]
    for cond in conds:
        compiled = comp.compile(parse_condition(cond))
        for assumed in ("open", "execve", "close", "connect"):
            fast = comp.specialize(compiled, assumed)
            for actual in ("open", "openat", "execve", "close", "connect"):
                for name in ("a", "b", "c"):
                    ctx = on(actual, comm=name).build()
                    assert fast(ctx) is compiled.predicate(ctx), \
                        (cond, assumed, actual, name)


def test_direction_specialized_predicates_agree_with_exact_ones() -> None:
    """evt.dir checks folded per direction; the result still holds for
    events of another type or direction."""
    from falco.filter.compiler import ConditionCompiler
    comp = ConditionCompiler(REG, TEST_EVTTYPES)
    conds = ["evt.type = open and evt.dir = < and proc.name = a",
             "(evt.type = open and evt.dir != >) or "
             "(evt.type = execve and evt.dir == > and proc.name != b)",
             "not evt.dir = < and proc.name in (a, c)",
             "evt.dir = > or evt.dir = x"]
    for cond in conds:
        compiled = comp.compile(parse_condition(cond))
        for assumed in ("open", "execve", "close"):
            fast = comp.specialize(compiled, assumed)
            for actual in ("open", "execve", "close"):
                for direction in ("<", ">"):
                    for name in ("a", "b", "c"):
                        ctx = on(actual, direction=direction,
                                 comm=name).build()
                        assert fast(ctx) is compiled.predicate(ctx), \
                            (cond, assumed, actual, direction, name)


def test_fields_are_extracted_once_per_event() -> None:
    from falco.fields import default_registry
    from falco.fields.registry import ArgMode, FieldDef, FieldType
    from falco.filter.compiler import ConditionCompiler
    calls: list[Any] = []

    def extract(ctx: Any, arg: Any) -> Any:
        calls.append(ctx)
        return ctx.thread.comm
    reg = default_registry()
    reg.register(FieldDef("x.counted", FieldType.STRING, "counts calls",
                          extract, ArgMode.NONE))
    comp = ConditionCompiler(reg)
    p1 = comp.compile(parse_condition("x.counted = a")).predicate
    p2 = comp.compile(parse_condition("x.counted startswith a or "
                                      "x.counted = b")).predicate
    first, second = on(comm="a").build(), on(comm="b").build()
    assert p1(first) and p2(first) and not p1(second) and p2(second)
    assert len(calls) == 2          # once per context object


def test_memo_uses_the_context_cache_and_keeps_nothing_alive() -> None:
    import gc
    import inspect

    from falco.filter.compiler import ConditionCompiler
    comp = ConditionCompiler(REG)
    p1 = comp.compile(parse_condition("proc.name = a")).predicate
    p2 = comp.compile(parse_condition("proc.name in (a, b)")).predicate
    ctx = on(comm="a").build()
    assert ctx.cache is None
    assert p1(ctx) and p2(ctx)
    assert ctx.cache is not None and "a" in ctx.cache.values()
    gc.collect()
    assert [r for r in gc.get_referrers(ctx)
            if not inspect.isframe(r)] == []


# -- property: compiled predicates agree with a naive interpreter ------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_EVTS = ["open", "openat", "execve", "close", "connect"]
_FIELDS = ("evt.type", "proc.name", "proc.pid", "fd.name")
_leaf = st.one_of(
    st.builds(lambda v: f"evt.type = {v}", st.sampled_from(_EVTS)),
    st.builds(lambda v: f"evt.type != {v}", st.sampled_from(_EVTS)),
    st.builds(lambda vs: "evt.type in (" + ", ".join(vs) + ")",
              st.lists(st.sampled_from(_EVTS), max_size=3)),
    st.builds(lambda v: f"proc.name = {v}", st.sampled_from("abc")),
    st.builds(lambda v: f"proc.name in ({v}, zz)", st.sampled_from("abc")),
    st.builds(lambda n: f"proc.pid > {n}", st.integers(0, 3)),
    st.just("fd.name exists"))
_cond = st.recursive(_leaf, lambda inner: st.one_of(
    st.builds(lambda a: f"not ({a})", inner),
    st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
    st.builds(lambda a, b: f"({a}) or ({b})", inner, inner)), max_leaves=8)
_where = st.builds(lambda evt, comm, pid: on(evt, comm=comm, pid=pid),
                   st.sampled_from(_EVTS), st.sampled_from("abc"),
                   st.integers(1, 5))


def _values(ctx: Any) -> dict[str, Any]:
    """The fields the conditions read, from the real registry (absent
    ones left out), for the naive interpreter."""
    out = {}
    for name in _FIELDS:
        fdef, arg = REG.resolve(name)
        value = fdef.extract(ctx, arg)
        if value is not None:
            out[name] = value
    return out


def _naive(node: syntax.Expr, ctx: dict[str, Any]) -> bool:
    if isinstance(node, syntax.And):
        return all(_naive(c, ctx) for c in node.children)
    if isinstance(node, syntax.Or):
        return any(_naive(c, ctx) for c in node.children)
    if isinstance(node, syntax.Not):
        return not _naive(node.child, ctx)
    if isinstance(node, syntax.UnaryCheck):
        return node.lhs.name in ctx  # type: ignore[union-attr]
    assert isinstance(node, syntax.BinaryCheck)
    value = ctx.get(node.lhs.name)  # type: ignore[union-attr]
    if value is None:
        return False
    if isinstance(node.rhs, syntax.ListValue):
        return str(value) in {v.text for v in node.rhs.items}
    text = node.rhs.text  # type: ignore[union-attr]
    if node.op == ">":
        return int(value) > int(text)
    return (str(value) == text) != (node.op == "!=")


@settings(max_examples=300, deadline=None)
@given(_cond, st.lists(_where, min_size=1, max_size=6))
def test_compiled_predicates_match_a_naive_interpreter(
        cond: str, wheres: list[On]) -> None:
    from falco.filter.compiler import ConditionCompiler
    comp = ConditionCompiler(REG, TEST_EVTTYPES)
    tree = parse_condition(cond)
    compiled = comp.compile(tree)
    for where in wheres:
        values = _values(where.build())
        expected = _naive(tree, values)
        assert compiled.predicate(where.build()) is expected, (cond, values)
        fast = comp.specialize(compiled, where.evt)
        assert fast(where.build()) is expected
        if expected and compiled.evttypes is not None:
            assert where.evt in compiled.evttypes
