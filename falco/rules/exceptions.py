# SPDX-License-Identifier: Apache-2.0
"""Rule ``exceptions``: validation and the condition text of each.

Each exception becomes ``not (<text>)`` next to the rule's condition. The
text is built like Falco builds it (values with spaces quoted, list
comparisons parenthesised) so the same YAML means the same thing; it is
then parsed like any condition.
"""
from __future__ import annotations

from typing import Any

from falco.fields.registry import FieldRegistry
from falco.filter.syntax import ALL_OPS, LIST_OPS
from falco.rules.collector import ItemError
from falco.rules.infos import ExceptionInfo

VALIDATE = "LOAD_ERR_VALIDATE"
_BINARY_OPS = ALL_OPS - {"exists"}


def _err(ex: ExceptionInfo, message: str) -> ItemError:
    loc = ex.location
    return ItemError(VALIDATE, message, "exception", ex.name, loc,
                     ex.source.snippet(loc.line, loc.column))


def _is_field(registry: FieldRegistry, name: str) -> bool:
    if name.endswith("]") and "[" in name:
        name = name[:name.index("[")]
    return name in registry


def validate(ex: ExceptionInfo, registry: FieldRegistry) -> None:
    """Falco's checks; fills default comps (``=`` each, or ``in``)."""
    if ex.fields is None:
        raise _err(ex, "Rule exception item must have fields property with "
                   "a list of fields")
    if isinstance(ex.fields, list):
        if ex.comps is None:
            ex.comps = ["="] * len(ex.fields)
        if not isinstance(ex.comps, list) or \
                len(ex.comps) != len(ex.fields):
            raise _err(ex, "Fields and comps lists must have equal length")
        ex.comps = [str(c).strip() for c in ex.comps]
        for comp in ex.comps:
            if comp not in _BINARY_OPS:
                raise _err(ex, f"'{comp}' is not a supported comparison "
                           "operator")
        for name in ex.fields:
            if not isinstance(name, str) or not _is_field(registry, name):
                raise _err(ex, f"'{name}' is not a supported filter field")
        return
    if ex.comps is None:
        ex.comps = "in"
    if isinstance(ex.comps, list):
        raise _err(ex, "Fields and comps must both be strings")
    ex.comps = str(ex.comps).strip()
    if ex.comps not in LIST_OPS:
        raise _err(ex, "When fields is a single value, comps must be one of "
                   "(in, pmatch, intersects)")
    if not _is_field(registry, ex.fields):
        raise _err(ex, f"'{ex.fields}' is not a supported filter field")


def _quote(item: str) -> str:
    if " " in item and item[:1] not in ("'", '"'):
        return f'"{item}"'
    return item


def _paren(item: str) -> str:
    return item if item.startswith("(") else f"({item})"


def exception_text(ex: ExceptionInfo) -> str:
    """The condition matched by ``ex``'s values ("" when it has none)."""
    if not isinstance(ex.fields, list):
        items = []
        for value in ex.values:
            if isinstance(value, list):
                raise _err(ex, "Expected values array to contain a list of "
                           "strings")
            items.append(_quote(str(value)))
        if not items:
            return ""
        return f"{ex.fields} {ex.comps} ({', '.join(items)})"
    alts = []
    for values in ex.values:
        if not isinstance(values, list) or len(values) != len(ex.fields):
            raise _err(ex, "Fields and values lists must have equal length")
        checks = []
        for field, comp, value in zip(ex.fields, ex.comps, values):
            checks.append(f"{field} {comp} {_operand(comp, value)}")
        alts.append("(" + " and ".join(checks) + ")")
    return " or ".join(alts)


def _operand(comp: str, value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_quote(str(v)) for v in value) + ")"
    text = str(value)
    if comp in LIST_OPS:
        return _paren(text)
    return _quote(text)
