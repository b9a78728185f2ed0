# SPDX-License-Identifier: Apache-2.0
"""PLY parser for Falco's condition language.

Grammar (after falcosecurity/libs ``filter/parser.h``; precedence
``not`` > ``and`` > ``or``)::

    expr      ::= or_expr
    or_expr   ::= and_expr ('or' and_expr)*
    and_expr  ::= not_expr ('and' not_expr)*
    not_expr  ::= 'not' not_expr | check
    check     ::= '(' expr ')' | IDENT (macro)
                | lhs UNARYOP
                | lhs (CMPOP | WORDOP) value
                | lhs LISTOP (list | BARESTR (list name))
    lhs       ::= FIELD | XFORM '(' lhs ')'
    value     ::= STRING | BARESTR | VAL '(' lhs ')' | XFORM '(' lhs ')'
    list      ::= '(' (item (',' item)*)? ')'
    item      ::= STRING | BARESTR

Nesting depth is bounded (``max_depth``); tables are built in memory and
never written to disk.
"""
from __future__ import annotations

import bisect
import difflib
from types import MappingProxyType
from typing import Any, Mapping

from ply import yacc

from falco.errors import RuleSyntaxError, SourceLocation
from falco.filter import syntax
from falco.filter.lexer import FilterLexer, LexIssue

DEFAULT_MAX_DEPTH = 200

_TOKEN_TEXT: Mapping[str, str] = MappingProxyType({
               "AND": "'and'", "OR": "'or'", "RPAREN": "')'",
               "LPAREN": "'('", "COMMA": "','", "NOT": "'not'",
               "FIELD": "field", "IDENT": "identifier", "STRING": "value",
               "BARESTR": "value", "CMPOP": "operator", "WORDOP": "operator",
               "LISTOP": "operator", "UNARYOP": "operator",
               "XFORM": "transformer", "VAL": "'val'"})
_EXPECT_ORDER = ("OR", "AND", "RPAREN", "COMMA", "CMPOP", "WORDOP", "LISTOP",
                 "UNARYOP", "NOT", "LPAREN", "FIELD", "IDENT", "XFORM", "VAL",
                 "STRING", "BARESTR")


class _ParseIssue(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class FilterParser:
    """Parse condition text into :mod:`falco.filter.syntax` nodes."""

    tokens = FilterLexer.tokens

    def __init__(self, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.max_depth = max_depth
        self.lexer = FilterLexer()
        self.lexer.build(optimize=False)
        # tabmodule names no real module: PLY never picks up a stale
        # parsetab.py from sys.path and never writes one
        self.parser = yacc.yacc(module=self, start="expr", debug=False,
                                write_tables=False,
                                tabmodule="_falco_filter_no_tables",
                                errorlog=yacc.NullLogger())
        self._text = ""
        self._line_starts: list[int] = [0]
        self._origin: str | None = None

    # -- public --------------------------------------------------------
    def parse(self, text: str, *, location: SourceLocation | None = None,
              origin: str | None = None) -> syntax.Expr:
        self._text = text
        self._origin = origin
        self._line_starts = [0] + [i + 1 for i, c in enumerate(text)
                                   if c == "\n"]
        try:
            if not text.strip():
                raise _ParseIssue("empty condition", len(text))
            self.lexer.input(text)
            tree: syntax.Expr = self.parser.parse(text, lexer=self.lexer)
            if syntax.depth(tree) > self.max_depth:
                raise _ParseIssue(
                    f"condition nesting exceeds the maximum depth "
                    f"({self.max_depth})", 0)
            return tree
        except (_ParseIssue, LexIssue) as exc:
            raise syntax_error(exc.message, text, exc.offset, location,
                               origin) from None

    def span(self, offset: int) -> syntax.Span:
        line = bisect.bisect_right(self._line_starts, offset)
        return syntax.Span(offset, line, offset - self._line_starts[line - 1] + 1,
                        self._origin)

    def _sp(self, p: Any, n: int) -> syntax.Span:
        return self.span(p.lexpos(n))

    # -- grammar -------------------------------------------------------
    def p_expr(self, p: Any) -> None:
        """expr : or_expr"""
        p[0] = p[1]

    def p_or_expr(self, p: Any) -> None:
        """or_expr : or_expr OR and_expr
                   | and_expr"""
        if len(p) == 2:
            p[0] = p[1]
        else:
            p[0] = syntax.Or(_flat(syntax.Or, p[1]) + _flat(syntax.Or, p[3]),
                          p[1].span)

    def p_and_expr(self, p: Any) -> None:
        """and_expr : and_expr AND not_expr
                    | not_expr"""
        if len(p) == 2:
            p[0] = p[1]
        else:
            p[0] = syntax.And(_flat(syntax.And, p[1]) + _flat(syntax.And, p[3]),
                           p[1].span)

    def p_not_expr(self, p: Any) -> None:
        """not_expr : NOT not_expr
                    | check"""
        if len(p) == 3:
            p[0] = syntax.Not(p[2], self._sp(p, 1))
        else:
            p[0] = p[1]

    def p_check_group(self, p: Any) -> None:
        """check : LPAREN expr RPAREN"""
        p[0] = p[2]

    def p_check_macro(self, p: Any) -> None:
        """check : IDENT"""
        p[0] = syntax.MacroRef(p[1], self._sp(p, 1))

    def p_check_unary(self, p: Any) -> None:
        """check : lhs UNARYOP"""
        p[0] = syntax.UnaryCheck(p[1], p[2], p[1].span)

    def p_check_binary(self, p: Any) -> None:
        """check : lhs CMPOP value
                 | lhs WORDOP value
                 | lhs LISTOP list
                 | lhs LISTOP bare"""
        p[0] = syntax.BinaryCheck(p[1], p[2], p[3], p[1].span, self._sp(p, 2))

    def p_lhs_field(self, p: Any) -> None:
        """lhs : FIELD"""
        name: str = p[1]
        arg = None
        if name.endswith("]"):
            name, _, arg = name[:-1].partition("[")
            if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "\"'":
                arg = arg[1:-1]
        p[0] = syntax.FieldExpr(name, arg, self._sp(p, 1))

    def p_lhs_transform(self, p: Any) -> None:
        """lhs : XFORM LPAREN lhs RPAREN"""
        p[0] = syntax.TransformExpr(p[1], p[3], self._sp(p, 1))

    def p_value_str(self, p: Any) -> None:
        """value : STRING"""
        p[0] = syntax.StrValue(p[1], True, self._sp(p, 1))

    def p_value_bare(self, p: Any) -> None:
        """value : bare"""
        p[0] = p[1]

    def p_bare(self, p: Any) -> None:
        """bare : BARESTR"""
        p[0] = syntax.StrValue(p[1], False, self._sp(p, 1))

    def p_value_val(self, p: Any) -> None:
        """value : VAL LPAREN lhs RPAREN"""
        p[0] = syntax.ValExpr(p[3], self._sp(p, 1))

    def p_value_transform(self, p: Any) -> None:
        """value : XFORM LPAREN lhs RPAREN"""
        p[0] = syntax.TransformExpr(p[1], p[3], self._sp(p, 1))

    def p_list(self, p: Any) -> None:
        """list : LPAREN items RPAREN
                | LPAREN RPAREN"""
        items = p[2] if len(p) == 4 else ()
        p[0] = syntax.ListValue(tuple(items), self._sp(p, 1))

    def p_items(self, p: Any) -> None:
        """items : items COMMA item
                 | item"""
        p[0] = p[1] + [p[3]] if len(p) == 4 else [p[1]]

    def p_item(self, p: Any) -> None:
        """item : STRING
                | BARESTR"""
        quoted = p.slice[1].type == "STRING"
        p[0] = syntax.StrValue(p[1], quoted, self._sp(p, 1))

    def p_error(self, tok: Any) -> None:
        expected = self._expected()
        prev = self.lexer.prev if tok is not None else self.lexer.last
        if tok is None:
            where = len(self._text.rstrip())
            what = "unexpected end of condition"
            if prev is not None:
                what += f" after '{_tok_text(prev)}'"
        else:
            where = tok.lexpos
            if prev is not None:
                what = f"unexpected token after '{_tok_text(prev)}'"
            else:
                what = f"unexpected token '{_tok_text(tok)}'"
        if self.lexer.depth - _paren_delta(tok) <= 0 and "')'" in expected:
            expected.remove("')'")
        if expected:
            what += ", expecting " + ", ".join(expected)
        if tok is not None and isinstance(tok.value, str):
            words = sorted(syntax.ALL_OPS | {"and", "or", "not"})
            close = difflib.get_close_matches(tok.value, words, n=1,
                                              cutoff=0.6)
            if close:
                what += f"; did you mean '{close[0]}'?"
        raise _ParseIssue(what, where)

    def _expected(self) -> list[str]:
        state = self.parser.statestack[-1]
        names = [n for n in _EXPECT_ORDER if n in self.parser.action[state]]
        seen: list[str] = []
        for n in names:
            if _TOKEN_TEXT[n] not in seen:
                seen.append(_TOKEN_TEXT[n])
        return seen


def _paren_delta(tok: Any) -> int:
    if tok is None:
        return 0
    return {"LPAREN": 1, "RPAREN": -1}.get(tok.type, 0)


def _tok_text(tok: Any) -> str:
    return str(tok.value)


def _flat(kind: type, node: Any) -> tuple[Any, ...]:
    """Children of a same-operator chain, so ``a and (b and c)`` is flat."""
    if isinstance(node, kind):
        return tuple(getattr(node, "children"))
    return (node,)


def syntax_error(message: str, text: str, offset: int,
                 location: SourceLocation | None,
                 origin: str | None = None) -> RuleSyntaxError:
    """A RuleSyntaxError for ``offset`` in ``text`` with a caret snippet."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    if line_end < 0:
        line_end = len(text)
    line_no = text.count("\n", 0, offset) + 1
    col = offset - line_start + 1
    loc = None
    if location is not None:
        loc = SourceLocation(
            location.path, location.line + line_no - 1,
            location.column + col - 1 if line_no == 1 else col)
    snippet = text[line_start:line_end] + "\n" + " " * (col - 1) + "^"
    return RuleSyntaxError(message, loc, snippet=snippet, offset=offset,
                           origin=origin)
