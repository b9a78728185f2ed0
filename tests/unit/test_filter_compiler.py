# SPDX-License-Identifier: Apache-2.0
"""Compiler: operator semantics per type, type errors, folding and
event-type inference."""
from __future__ import annotations

from typing import Any

import pytest

from falco.errors import RuleLoadError
from falco.filter import syntax, compile_condition, parse_condition
from falco.filter.compiler import fold
from support.dict_registry import TEST_EVTTYPES, make_test_registry

REG = make_test_registry()


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


@pytest.mark.parametrize("cond,ctx,expected", [
    ("proc.name = cat", {"proc.name": "cat"}, True),
    ("proc.name == cat", {"proc.name": "cats"}, False),
    ("proc.name != cat", {"proc.name": "dog"}, True),
    ("proc.name != cat", {}, False),      # missing value: every check false
    ("not proc.name = cat", {}, True),
    ("proc.name contains at", {"proc.name": "cat"}, True),
    ("proc.name icontains AT", {"proc.name": "cAt"}, True),
    ("proc.name icontains AT", {"proc.name": "dog"}, False),
    ("proc.name startswith ca", {"proc.name": "cat"}, True),
    ("proc.name endswith ca", {"proc.name": "cat"}, False),
    ("fd.name glob '/etc/*.conf'", {"fd.name": "/etc/a/b.conf"}, True),
    ("fd.name glob '/etc/?.conf'", {"fd.name": "/etc/ab.conf"}, False),
    ("fd.name iglob '/ETC/*'", {"fd.name": "/etc/passwd"}, True),
    ("proc.cmdline regex 'c.t .*'", {"proc.cmdline": "cat /x"}, True),
    ("proc.cmdline regex 'c.t'", {"proc.cmdline": "cat /x"}, False),
    ("fd.name pmatch (/etc, /usr/bin/)", {"fd.name": "/etc/passwd"}, True),
    ("fd.name pmatch (/etc, /usr/bin/)", {"fd.name": "/usr/bin"}, True),
    ("fd.name pmatch (/etc)", {"fd.name": "/etcetera"}, False),
    ("proc.name in (bash, sh)", {"proc.name": "sh"}, True),
    ("proc.name in (bash, sh)", {"proc.name": "zsh"}, False),
    ("proc.name in ()", {"proc.name": "zsh"}, False),
    ("proc.pid = 0x10", {"proc.pid": 16}, True),
    ("proc.pid > 10", {"proc.pid": 11}, True),
    ("proc.pid <= 10", {"proc.pid": 11}, False),
    ("proc.pid in (1, 2, 3)", {"proc.pid": 2}, True),
    ("user.uid = -1", {"user.uid": -1}, True),
    ("evt.is_open_read = true", {"evt.is_open_read": True}, True),
    ("evt.is_open_read = false", {"evt.is_open_read": True}, False),
    ("fd.sip = 127.0.0.1", {"fd.sip": "127.0.0.1"}, True),
    ("fd.sip in (10.0.0.0/8, ::1)", {"fd.sip": "10.2.3.4"}, True),
    ("fd.sip in (10.0.0.0/8, ::1)", {"fd.sip": "::1"}, True),
    ("fd.net in (127.0.0.1/24)", {"fd.net": "127.0.0.200"}, True),
    ("fd.net in (127.0.0.1/24)", {"fd.net": "127.0.1.1"}, False),
    ("fd.sip != 127.0.0.1", {"fd.sip": "127.0.0.2"}, True),
    ("evt.buffer bcontains 504b0304", {"evt.buffer": b"xxPK\x03\x04"}, True),
    ("evt.buffer bstartswith 504b", {"evt.buffer": b"xPK"}, False),
    ("proc.name exists", {"proc.name": ""}, True),
    ("proc.name exists", {}, False),
    ("proc.aname = bash", {"proc.aname": ("sh", "bash")}, True),
    ("proc.aname = bash", {"proc.aname": ("sh", "zsh")}, False),
    ("proc.aname[2] = bash", {"proc.aname[2]": "bash"}, True),
    ("proc.aname != bash", {"proc.aname": ("sh", "bash")}, False),
    ("proc.aname != bash", {"proc.aname": ("sh", "zsh")}, True),
    ("proc.aname in (bash, x)", {"proc.aname": ("sh", "bash")}, True),
    ("fd.types in (file)", {"fd.types": ()}, False),
    ("fd.types in (file, ipv4)", {"fd.types": ("file", "ipv4")}, True),
    ("fd.types in (file, ipv4)", {"fd.types": ("file", "pipe")}, False),
    ("fd.types intersects (file, x)", {"fd.types": ("file", "pipe")}, True),
    ("tolower(proc.name) = bash", {"proc.name": "BaSh"}, True),
    ("toupper(basename(fd.name)) = PASSWD", {"fd.name": "/etc/passwd"},
     True),
    ("len(proc.cmdline) > 5", {"proc.cmdline": "abcdef"}, True),
    ("len(fd.types) = 2", {"fd.types": ("a", "b")}, True),
    ("b64(proc.cmdline) = hello", {"proc.cmdline": "aGVsbG8="}, True),
    ("proc.pname = val(proc.name)", {"proc.name": "a", "proc.pname": "a"},
     True),
    ("proc.pname = val(proc.name)", {"proc.name": "a", "proc.pname": "b"},
     False),
    ("proc.pid > val(proc.ppid)", {"proc.pid": 5, "proc.ppid": 3}, True),
    ("proc.pname = val(proc.name)", {"proc.pname": "b"}, False),
    ("evt.type = open and proc.name = cat or proc.name = dog",
     {"evt.type": "close", "proc.name": "dog"}, True),
    ("not (evt.type = open and proc.name = cat)",
     {"evt.type": "open", "proc.name": "dog"}, True),
])
def test_semantics(cond: str, ctx: dict[str, Any], expected: bool) -> None:
    assert pred(cond)(ctx) is expected


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
    ("len(proc.pid) = 1", "transformer 'len' needs a string or list"),
    ("tolower(proc.pid) = 1", "transformer 'tolower' needs a string"),
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


def test_event_type_inference_agrees_with_evaluation() -> None:
    conds = ["evt.type = execve and proc.name = foo or evt.type = open",
             "not (evt.type in (open, close) and proc.name = x)",
             "evt.type != connect and not proc.name = y",
             "(evt.type = open or proc.name = z) and evt.type != close"]
    for cond in conds:
        compiled = compile_condition(parse_condition(cond), REG,
                                     all_evttypes=TEST_EVTTYPES)
        allowed = compiled.evttypes or TEST_EVTTYPES
        for evt in TEST_EVTTYPES:
            for name in ("x", "y", "z", "foo"):
                ctx = {"evt.type": evt, "proc.name": name}
                if compiled.predicate(ctx):
                    assert evt in allowed, (cond, evt)


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
    assert compiled.predicate({}) is True
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
                    ctx = {"evt.type": actual, "proc.name": name}
                    assert fast(ctx) is compiled.predicate(ctx), \
                        (cond, assumed, actual, name)


def test_direction_specialized_predicates_agree_with_exact_ones() -> None:
    """evt.dir checks folded per direction; the result still holds for
    events of another type, another or no direction."""
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
                for direction in ("<", ">", None, "x"):
                    for name in ("a", "b", "c"):
                        ctx = {"evt.type": actual, "evt.dir": direction,
                               "proc.name": name}
                        assert fast(ctx) is compiled.predicate(ctx), \
                            (cond, assumed, actual, direction, name)


def test_fields_are_extracted_once_per_event() -> None:
    from falco.fields.registry import ArgMode, FieldDef, FieldType
    from falco.filter.compiler import ConditionCompiler
    calls: list[Any] = []

    def extract(ctx: Any, arg: Any) -> Any:
        calls.append(ctx)
        return ctx["v"]
    reg = make_test_registry([FieldDef("x.counted", FieldType.STRING, "",
                                       extract, ArgMode.NONE)])
    comp = ConditionCompiler(reg)
    p1 = comp.compile(parse_condition("x.counted = a")).predicate
    p2 = comp.compile(parse_condition("x.counted startswith a or "
                                      "x.counted = b")).predicate
    first, second = {"v": "a"}, {"v": "b"}
    assert p1(first) and p2(first) and not p1(second) and p2(second)
    assert len(calls) == 2          # once per context object


def test_memo_uses_the_context_cache_and_keeps_nothing_alive() -> None:
    import gc
    import weakref

    from falco.fields.registry import ArgMode, FieldDef, FieldType
    from falco.filter.compiler import ConditionCompiler

    class Ctx:
        __slots__ = ("cache", "v", "__weakref__")

        def __init__(self, v: str) -> None:
            self.cache: dict[Any, Any] | None = None
            self.v = v

    calls: list[str] = []

    def extract(ctx: Any, arg: Any) -> Any:
        calls.append(ctx.v)
        return ctx.v
    reg = make_test_registry([FieldDef("x.v", FieldType.STRING, "",
                                       extract, ArgMode.NONE)])
    comp = ConditionCompiler(reg)
    p1 = comp.compile(parse_condition("x.v = a")).predicate
    p2 = comp.compile(parse_condition("x.v in (a, b)")).predicate
    ctx = Ctx("a")
    assert p1(ctx) and p2(ctx)
    assert calls == ["a"]
    ref = weakref.ref(ctx)
    del ctx
    gc.collect()
    assert ref() is None


# -- property: compiled predicates agree with a naive interpreter ------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_EVTS = ["open", "openat", "execve", "close", "connect"]
_leaf = st.one_of(
    st.builds(lambda v: f"evt.type = {v}", st.sampled_from(_EVTS)),
    st.builds(lambda v: f"evt.type != {v}", st.sampled_from(_EVTS)),
    st.builds(lambda vs: "evt.type in (" + ", ".join(vs) + ")",
              st.lists(st.sampled_from(_EVTS), max_size=3)),
    st.builds(lambda v: f"proc.name = {v}", st.sampled_from("abc")),
    st.builds(lambda v: f"proc.name in ({v}, zz)", st.sampled_from("abc")),
    st.builds(lambda n: f"proc.pid > {n}", st.integers(0, 3)),
    st.just("proc.name exists"))
_cond = st.recursive(_leaf, lambda inner: st.one_of(
    st.builds(lambda a: f"not ({a})", inner),
    st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
    st.builds(lambda a, b: f"({a}) or ({b})", inner, inner)), max_leaves=8)
_ctx = st.fixed_dictionaries(
    {"evt.type": st.sampled_from(_EVTS)},
    optional={"proc.name": st.sampled_from("abc"),
              "proc.pid": st.integers(0, 4)})


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
@given(_cond, st.lists(_ctx, min_size=1, max_size=6))
def test_compiled_predicates_match_a_naive_interpreter(
        cond: str, ctxs: list[dict[str, Any]]) -> None:
    from falco.filter.compiler import ConditionCompiler
    comp = ConditionCompiler(REG, TEST_EVTTYPES)
    tree = parse_condition(cond)
    compiled = comp.compile(tree)
    for ctx in ctxs:
        expected = _naive(tree, ctx)
        assert compiled.predicate(dict(ctx)) is expected, (cond, ctx)
        fast = comp.specialize(compiled, ctx["evt.type"])
        assert fast(dict(ctx)) is expected
        if expected and compiled.evttypes is not None:
            assert ctx["evt.type"] in compiled.evttypes
