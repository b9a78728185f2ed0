# SPDX-License-Identifier: Apache-2.0
"""Falco's condition language: parser, AST and compiler."""
from __future__ import annotations

from falco.errors import SourceLocation
from falco.filter import syntax
from falco.filter.parser import FilterParser


def parse_condition(text: str, *, location: SourceLocation | None = None,
                    origin: str | None = None,
                    parser: FilterParser | None = None) -> syntax.Expr:
    """Parse ``text``; raises RuleSyntaxError with file:line:col."""
    return (parser or FilterParser()).parse(text, location=location,
                                            origin=origin)


from falco.filter.compiler import Compiled, compile_condition  # noqa: E402
from falco.filter.evttypes import evttypes_of  # noqa: E402

__all__ = ["Compiled", "FilterParser", "syntax", "compile_condition",
           "evttypes_of", "parse_condition"]
