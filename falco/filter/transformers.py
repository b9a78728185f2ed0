# SPDX-License-Identifier: Apache-2.0
"""Field transformers: ``tolower``, ``toupper``, ``b64``, ``basename``,
``len`` applied to extracted values (element-wise for multi-value fields).
"""
from __future__ import annotations

import base64
import binascii
from types import MappingProxyType
from typing import Any, Callable, Mapping

from falco.fields.registry import FieldType
from falco.filter import syntax
from falco.filter import operators as ops

Getter = Callable[[Any], Any]
ErrorFactory = Callable[[str, syntax.Span], Exception]


def transform(fail: ErrorFactory, node: syntax.TransformExpr,
              getter: Getter, ftype: FieldType, multi: bool,
              cost: int) -> tuple[Getter, FieldType, bool, int]:
    name = node.name
    if name == "len":
        if ftype in ops.NUMERIC or ftype is FieldType.BOOL:
            raise fail(f"transformer 'len' needs a string or list, "
                       f"not {ftype.value}", node.span)

        def length(ctx: Any) -> Any:
            v = getter(ctx)
            if v is None:
                return None
            return len(v) if isinstance(v, (str, bytes, tuple, list)) \
                else len(ops.to_str(v))
        return length, FieldType.INT, False, cost + 1
    if ftype not in ops.STRINGY and ftype is not FieldType.BYTES:
        raise fail(f"transformer '{name}' needs a string field, "
                   f"not {ftype.value}", node.span)
    fn = _STRING_TRANSFORMS.get(name)
    if fn is None:
        raise fail(f"unknown transformer '{name}'", node.span)

    def apply(ctx: Any) -> Any:
        v = getter(ctx)
        if v is None:
            return None
        if v.__class__ is tuple:
            return tuple(fn(x) for x in v)
        return fn(v)
    out_type = FieldType.STRING if ftype is not FieldType.CHARBUF_LIST \
        else ftype
    return apply, out_type, multi, cost + 1


def _b64(value: Any) -> Any:
    try:
        return base64.b64decode(ops.to_bytes(value), validate=False).decode(
            "utf-8", "surrogateescape")
    except (binascii.Error, ValueError):
        return None


def _basename(value: Any) -> str:
    text = ops.to_str(value)
    return text.rsplit("/", 1)[-1]


_STRING_TRANSFORMS: Mapping[str, Callable[[Any], Any]] = MappingProxyType({

    "tolower": lambda v: ops.to_str(v).lower(),
    "toupper": lambda v: ops.to_str(v).upper(),
    "b64": _b64,
    "basename": _basename,
})
