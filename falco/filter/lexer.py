# SPDX-License-Identifier: Apache-2.0
"""PLY lexer for Falco's condition language.

The language is context dependent: ``<`` is an operator after a field but a
value after ``=`` (``evt.dir = <``), and ``/etc,`` is a bare word only
inside a list. The lexer therefore switches state itself: after a
comparison operator it enters ``rhs`` (one value, a list or a ``val()``),
after ``(`` in ``rhs`` it enters ``list`` until the closing parenthesis.
Only one instance exists per parser; nothing is built at import time.
"""
from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Mapping

from ply import lex

from falco.filter.syntax import LIST_OPS, SCALAR_OPS, TRANSFORMERS, UNARY_OPS

# Falco's escapes in quoted strings; "\ " is read as a lone backslash (old
# rules wrote it for one) and \xHH is a byte (a character below 256).
_ESCAPES: Mapping[str, str] = MappingProxyType({
    "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'",
    "\\": "\\", "/": "/", " ": "\\"})
_HEX2 = re.compile(r"[0-9a-fA-F]{2}")
_WORD_OPS = (SCALAR_OPS | LIST_OPS | UNARY_OPS) - {"=", "==", "!=", "<", "<=",
                                                  ">", ">="}
_KEYWORDS: Mapping[str, str] = MappingProxyType(
    {"and": "AND", "or": "OR", "not": "NOT"})
_CALL_AHEAD = re.compile(r"[ \t\r\n]*\(")
_QUOTED = r""""(?:[^"\\]|\\[\s\S])*"|'(?:[^'\\]|\\[\s\S])*'"""
_BARE = r"""[^\s(),="']+"""


class LexIssue(Exception):
    """A lexing problem at ``offset`` (turned into RuleSyntaxError later)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class EscapeError(ValueError):
    """A backslash escape Falco does not accept, at ``index`` of the
    string's body."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


def unescape(body: str, quote: str = '"') -> str:
    """Resolve Falco's backslash escapes in the body of a string quoted
    with ``quote``; raises EscapeError for the ones Falco refuses."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt == "x":
            digits = body[i + 2:i + 4]
            if _HEX2.fullmatch(digits) is None:
                raise EscapeError(f"invalid hex escape \\x{digits}: two hex "
                                  "digits expected", i)
            out.append(chr(int(digits, 16)))
            i += 4
            continue
        if nxt in "\"'" and nxt and nxt != quote:
            raise EscapeError(f"invalid \\{nxt} escape in a {quote}-quoted "
                              "string", i)
        if nxt not in _ESCAPES or not nxt:
            raise EscapeError(f"unsupported escape sequence \\{nxt}", i)
        out.append(_ESCAPES[nxt])
        i += 2
    return "".join(out)


def _unquote(t: Any) -> str:
    """The value of a quoted string token, escapes resolved."""
    try:
        return unescape(t.value[1:-1], t.value[0])
    except EscapeError as exc:
        raise LexIssue(str(exc), t.lexpos + 1 + exc.index) from None


class FilterLexer:
    """Tokens of a condition; ``build()`` then ``input(text)``."""

    states = (("rhs", "exclusive"), ("list", "exclusive"))
    tokens = ("LPAREN", "RPAREN", "COMMA", "AND", "OR", "NOT", "IDENT",
              "FIELD", "CMPOP", "WORDOP", "LISTOP", "UNARYOP", "XFORM", "VAL",
              "STRING", "BARESTR")

    t_ignore = " \t\r\n\f\v"
    t_rhs_ignore = " \t\r\n\f\v"
    t_list_ignore = " \t\r\n\f\v"

    def __init__(self) -> None:
        self.lexer: Any = None
        self.last: Any = None   # latest token
        self.prev: Any = None   # the one before, for error messages
        self.depth = 0          # open parentheses so far

    def build(self, **kwargs: Any) -> None:
        self.lexer = lex.lex(object=self, **kwargs)

    def input(self, text: str) -> None:
        self.lexer.begin("INITIAL")
        self.lexer.input(text)
        self.last = None
        self.prev = None
        self.depth = 0

    def token(self) -> Any:
        tok = self.lexer.token()
        if tok is not None:
            self.prev, self.last = self.last, tok
            if tok.type == "LPAREN":
                self.depth += 1
            elif tok.type == "RPAREN":
                self.depth -= 1
        return tok

    # -- INITIAL: expressions and left-hand sides ---------------------
    def t_LPAREN(self, t: Any) -> Any:
        r"\("
        return t

    def t_RPAREN(self, t: Any) -> Any:
        r"\)"
        return t

    def t_CMPOP(self, t: Any) -> Any:
        r"==|=|!=|<=|>=|<|>"
        t.lexer.begin("rhs")
        return t

    def t_WORD(self, t: Any) -> Any:
        r"""[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*(?:\[(?:"[^"]*"|'[^']*'|[^\[\]\s"']*)\])?"""
        text = t.value
        if "." in text or "[" in text:
            t.type = "FIELD"
            return t
        if text in _KEYWORDS:
            t.type = _KEYWORDS[text]
            return t
        calls = _CALL_AHEAD.match(t.lexer.lexdata, t.lexer.lexpos) is not None
        if calls and text in TRANSFORMERS:
            t.type = "XFORM"
        elif calls and text == "val":
            t.type = "VAL"
        elif text in UNARY_OPS:
            t.type = "UNARYOP"
        elif text in LIST_OPS:
            t.type = "LISTOP"
            t.lexer.begin("rhs")
        elif text in _WORD_OPS:
            t.type = "WORDOP"
            t.lexer.begin("rhs")
        else:
            t.type = "IDENT"
        return t

    # quoted and bare strings read the same outside a check's value
    @lex.TOKEN(_QUOTED)
    def t_INITIAL_list_STRING(self, t: Any) -> Any:
        t.value = _unquote(t)
        return t

    @lex.TOKEN(_BARE)
    def t_INITIAL_list_BARESTR(self, t: Any) -> Any:
        return t

    def t_ANY_error(self, t: Any) -> None:
        self._fail(t)

    # -- rhs: exactly one value after an operator ---------------------
    def t_rhs_LPAREN(self, t: Any) -> Any:
        r"\("
        t.lexer.begin("list")
        return t

    @lex.TOKEN(_QUOTED)
    def t_rhs_STRING(self, t: Any) -> Any:
        t.value = _unquote(t)
        t.lexer.begin("INITIAL")
        return t

    @lex.TOKEN(_BARE)
    def t_rhs_BARESTR(self, t: Any) -> Any:
        t.lexer.begin("INITIAL")
        if (t.value in TRANSFORMERS or t.value == "val") and \
                _CALL_AHEAD.match(t.lexer.lexdata, t.lexer.lexpos):
            t.type = "VAL" if t.value == "val" else "XFORM"
        return t

    # -- list: items up to the closing parenthesis --------------------
    def t_list_COMMA(self, t: Any) -> Any:
        r","
        return t

    def t_list_RPAREN(self, t: Any) -> Any:
        r"\)"
        t.lexer.begin("INITIAL")
        return t

    def _fail(self, t: Any) -> None:
        ch = t.value[0]
        if ch in "\"'":
            raise LexIssue("unterminated quoted string", t.lexpos)
        if t.lexer.current_state() == "list" and ch == "(":
            raise LexIssue("nested list not allowed", t.lexpos)
        if ch == "=":
            raise LexIssue("unexpected '=' where a value is expected",
                           t.lexpos)
        raise LexIssue(f"unexpected character {ch!r}", t.lexpos)
