# SPDX-License-Identifier: Apache-2.0
"""Parser: trees, precedence, every operator, exact error positions and
print/parse round trips."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from falco.errors import RuleSyntaxError, SourceLocation
from falco.filter import syntax
from falco.filter.parser import FilterParser
from falco.filter.syntax import (And, BinaryCheck, FieldExpr, ListValue,
                              MacroRef, Not, Or, StrValue, TransformExpr,
                              UnaryCheck, ValExpr, to_text)


@pytest.fixture(scope="module")
def parser() -> FilterParser:
    return FilterParser()


def check(field: str, op: str, value: str, quoted: bool = False,
          arg: str | None = None) -> BinaryCheck:
    return BinaryCheck(FieldExpr(field, arg), op, StrValue(value, quoted))


def test_precedence_not_and_or(parser: FilterParser) -> None:
    tree = parser.parse("not a and b or c and not d")
    assert tree == Or((And((Not(MacroRef("a")), MacroRef("b"))),
                       And((MacroRef("c"), Not(MacroRef("d"))))))


def test_parentheses_override_precedence(parser: FilterParser) -> None:
    tree = parser.parse("a and (b or c)")
    assert tree == And((MacroRef("a"), Or((MacroRef("b"), MacroRef("c")))))


def test_same_operator_chains_are_flat(parser: FilterParser) -> None:
    assert parser.parse("a and (b and c) and d") == And(
        tuple(MacroRef(n) for n in "abcd"))


@pytest.mark.parametrize("op", sorted(syntax.SCALAR_OPS))
def test_every_scalar_operator(parser: FilterParser, op: str) -> None:
    assert parser.parse(f"proc.name {op} foo") == check("proc.name", op,
                                                        "foo")


@pytest.mark.parametrize("op", sorted(syntax.LIST_OPS))
def test_every_list_operator(parser: FilterParser, op: str) -> None:
    tree = parser.parse(f"fd.name {op} (/etc, '/usr/bin', \"a b\")")
    assert tree == BinaryCheck(FieldExpr("fd.name"), op, ListValue((
        StrValue("/etc"), StrValue("/usr/bin", True),
        StrValue("a b", True))))


def test_operators_without_spaces(parser: FilterParser) -> None:
    assert parser.parse("evt.type=open") == check("evt.type", "=", "open")
    assert parser.parse("proc.pid>=10") == check("proc.pid", ">=", "10")
    assert parser.parse("proc.name in(a,b)") == BinaryCheck(
        FieldExpr("proc.name"), "in",
        ListValue((StrValue("a"), StrValue("b"))))


def test_exists_and_empty_list(parser: FilterParser) -> None:
    assert parser.parse("proc.name exists") == UnaryCheck(
        FieldExpr("proc.name"), "exists")
    assert parser.parse("proc.name in ()") == BinaryCheck(
        FieldExpr("proc.name"), "in", ListValue(()))


def test_values_that_look_like_operators(parser: FilterParser) -> None:
    # the 2018 rules compare evt.dir with a bare < or >
    assert parser.parse("evt.dir = <") == check("evt.dir", "=", "<")
    assert parser.parse("evt.dir=>") == check("evt.dir", "=", ">")
    assert parser.parse("fd.net in (127.0.0.1/24)") == BinaryCheck(
        FieldExpr("fd.net"), "in", ListValue((StrValue("127.0.0.1/24"),)))


def test_field_arguments(parser: FilterParser) -> None:
    assert parser.parse("proc.aname[2]=bash") == check(
        "proc.aname", "=", "bash", arg="2")
    assert parser.parse("evt.arg[0] = x") == check("evt.arg", "=", "x",
                                                   arg="0")
    assert parser.parse("proc.aenv[HOME] = /root") == check(
        "proc.aenv", "=", "/root", arg="HOME")
    assert parser.parse("evt.arg.name = x") == check("evt.arg.name", "=",
                                                     "x")
    assert parser.parse("evt.rawarg.res < 0") == check("evt.rawarg.res",
                                                       "<", "0")


def test_transformers_and_val(parser: FilterParser) -> None:
    tree = parser.parse("toupper(basename(fd.name)) = PASSWD")
    assert tree == BinaryCheck(
        TransformExpr("toupper", TransformExpr("basename",
                                               FieldExpr("fd.name"))),
        "=", StrValue("PASSWD"))
    tree = parser.parse("proc.pname = val(proc.name)")
    assert tree == BinaryCheck(FieldExpr("proc.pname"), "=",
                               ValExpr(FieldExpr("proc.name")))
    tree = parser.parse("len(proc.args) > 3")
    assert tree == BinaryCheck(TransformExpr("len", FieldExpr("proc.args")),
                               ">", StrValue("3"))


def test_quoted_string_escapes(parser: FilterParser) -> None:
    tree = parser.parse(r'proc.cmdline = "a \"b\" \\ c\td"')
    assert tree == check("proc.cmdline", "=", 'a "b" \\ c\td', True)
    assert parser.parse("x.y = 'it\\'s'") == check("x.y", "=", "it's", True)
    with pytest.raises(RuleSyntaxError):
        parser.parse("x.y = 'it''s'")    # no SQL-style doubling


def test_spans(parser: FilterParser) -> None:
    tree = parser.parse("a and\n  proc.name = x")
    assert isinstance(tree, And)
    second = tree.children[1]
    assert (second.span.offset, second.span.line, second.span.column) == \
        (8, 2, 3)


def _error(parser: FilterParser, text: str,
           location: SourceLocation | None = None) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as info:
        parser.parse(text, location=location)
    return info.value


@pytest.mark.parametrize("text,offset,message", [
    ("evt.type=execve foo", 16,
     "unexpected token after 'execve', expecting 'or', 'and'"),
    ("(evt.type=execve foo", 17,
     "unexpected token after 'execve', expecting 'or', 'and', ')'"),
    ("proc.name =", 11, "unexpected end of condition after '='"),
    ("proc.name in (a, b", 18, "unexpected end of condition after 'b'"),
    ("a and and b", 6, "unexpected token after 'and'"),
    ("proc.name = \"abc", 12, "unterminated quoted string"),
    ("proc.name in (a, (b))", 17, "nested list not allowed"),
    ("a or ", 4, "unexpected end of condition after 'or'"),
    ("   ", 3, "empty condition"),
])
def test_error_positions(parser: FilterParser, text: str, offset: int,
                         message: str) -> None:
    err = _error(parser, text)
    assert err.message.startswith(message)
    assert err.offset == offset  # type: ignore[attr-defined]
    caret_line = err.snippet.splitlines()[-1]
    assert caret_line.index("^") == offset


@pytest.mark.parametrize("text,hint", [
    ("proc.name startwith x", "did you mean 'startswith'?"),
    ("proc.name = x adn y", "did you mean 'and'?"),
    ("proc.name contain x", "did you mean 'contains'?"),
])
def test_misspelled_operators_get_a_hint(parser: FilterParser, text: str,
                                         hint: str) -> None:
    assert _error(parser, text).message.endswith(hint)


def test_error_location_in_file(parser: FilterParser) -> None:
    loc = SourceLocation("rules.yaml", 10, 14)
    err = _error(parser, "evt.type = open and\nproc.name = x y", loc)
    assert str(err.location) == "rules.yaml:11:15"
    err = _error(parser, "evt.type = open foo", loc)
    assert str(err.location) == "rules.yaml:10:30"
    assert str(err).startswith("rules.yaml:10:30: unexpected token")


def test_depth_is_bounded() -> None:
    small = FilterParser(max_depth=50)
    small.parse("(" * 40 + "a" + ")" * 40)  # parentheses alone add nothing
    small.parse("not " * 48 + "a")
    err = _error(small, "not " * 60 + "a")
    assert "maximum depth" in err.message
    deep = FilterParser()
    text = "(a and (b or " * 3000 + "c" + "))" * 3000
    with pytest.raises(RuleSyntaxError):
        deep.parse(text)


def test_parser_instances_are_independent() -> None:
    p1, p2 = FilterParser(), FilterParser()
    assert p1.parse("a") == MacroRef("a")
    with pytest.raises(RuleSyntaxError):
        p2.parse("a b")
    assert p1.parse("b or c") == Or((MacroRef("b"), MacroRef("c")))


# -- round trips --------------------------------------------------------------
_names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s not in ("and", "or", "not", "val") and s not in syntax.ALL_OPS
    and s not in syntax.TRANSFORMERS)
_fields = st.builds(lambda a, b, arg: FieldExpr(f"{a}.{b}", arg), _names,
                    _names, st.none() | st.from_regex(r"[A-Za-z0-9_/]{1,5}",
                                                      fullmatch=True))
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_values = st.builds(StrValue, _text, st.just(True)) | st.builds(
    StrValue, st.from_regex(r"[A-Za-z0-9_./*<>!-]{1,8}", fullmatch=True),
    st.just(False))
_lhs = st.recursive(_fields, lambda inner: st.builds(
    TransformExpr, st.sampled_from(sorted(syntax.TRANSFORMERS)), inner),
    max_leaves=3)
_checks = (
    st.builds(BinaryCheck, _lhs, st.sampled_from(sorted(syntax.SCALAR_OPS)),
              _values | st.builds(ValExpr, _lhs))
    | st.builds(BinaryCheck, _lhs, st.sampled_from(sorted(syntax.LIST_OPS)),
                st.builds(ListValue, st.lists(_values, max_size=4).map(tuple)))
    | st.builds(UnaryCheck, _lhs, st.just("exists"))
    | st.builds(MacroRef, _names))


def _tree(children: st.SearchStrategy) -> st.SearchStrategy:
    return (st.builds(Not, children)
            | st.builds(And, st.lists(children, min_size=2, max_size=4)
                        .map(tuple))
            | st.builds(Or, st.lists(children, min_size=2, max_size=4)
                        .map(tuple)))


def _normal(node: syntax.Expr) -> syntax.Expr:
    """Flatten same-operator chains as the parser does."""
    if isinstance(node, (And, Or)):
        out: list[syntax.Expr] = []
        for c in node.children:
            c = _normal(c)
            out.extend(c.children if type(c) is type(node) else (c,))
        return type(node)(tuple(out))
    if isinstance(node, Not):
        return Not(_normal(node.child))
    return node


@settings(max_examples=200, deadline=None)
@given(st.recursive(_checks, _tree, max_leaves=12))
def test_print_parse_round_trip(tree: syntax.Expr) -> None:
    parser = FilterParser()
    text = to_text(tree)
    parsed = parser.parse(text)
    assert parsed == _normal(tree)
    assert to_text(parsed) == to_text(_normal(tree))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab().,=!<> \"'\\\n[]inotdexsfrm", max_size=30))
def test_garbage_never_crashes(text: str) -> None:
    try:
        FilterParser().parse(text)
    except RuleSyntaxError as err:
        assert err.offset <= len(text)  # type: ignore[attr-defined]
