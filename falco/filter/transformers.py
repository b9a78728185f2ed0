# SPDX-License-Identifier: Apache-2.0
"""Field transformers: ``tolower``, ``toupper``, ``b64``, ``basename``,
``len`` applied to extracted values (element-wise for lists).

The types each one takes are Falco's: ``tolower``, ``toupper`` and
``basename`` strings and paths, ``b64`` strings and byte buffers, ``len``
strings, paths, byte buffers and lists; the result keeps the input's type
(``len``: an integer).
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


_STRINGS = frozenset({FieldType.STRING, FieldType.PATH,
                      FieldType.CHARBUF_LIST})
ACCEPTS: Mapping[str, frozenset[FieldType]] = MappingProxyType({
    "tolower": _STRINGS, "toupper": _STRINGS, "basename": _STRINGS,
    "b64": frozenset({FieldType.STRING, FieldType.CHARBUF_LIST,
                      FieldType.BYTES}),
    "len": _STRINGS | {FieldType.BYTES},
})


def transform(fail: ErrorFactory, node: syntax.TransformExpr,
              getter: Getter, ftype: FieldType, multi: bool,
              cost: int) -> tuple[Getter, FieldType, bool, int]:
    name = node.name
    accepts = ACCEPTS.get(name)
    if accepts is None:
        raise fail(f"unknown transformer '{name}'", node.span)
    if ftype not in accepts:
        raise fail(f"transformer '{name}' does not support type "
                   f"{ftype.value} (it takes "
                   f"{', '.join(sorted(t.value for t in accepts))})",
                   node.span)
    if name == "len":

        def length(ctx: Any) -> Any:
            v = getter(ctx)
            if v is None:
                return None
            return len(v) if isinstance(v, (str, bytes, tuple, list)) \
                else len(ops.to_str(v))
        return length, FieldType.INT, False, cost + 1
    fn = _STRING_TRANSFORMS[name]
    if ftype is FieldType.BYTES:        # b64 of a buffer is a buffer
        fn = _b64_bytes

    def apply(ctx: Any) -> Any:
        v = getter(ctx)
        if v is None:
            return None
        if v.__class__ is tuple:
            return tuple(fn(x) for x in v)
        return fn(v)
    return apply, ftype, multi, cost + 1


def _b64_bytes(value: Any) -> bytes | None:
    try:
        return base64.b64decode(ops.to_bytes(value), validate=False)
    except (binascii.Error, ValueError):
        return None


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
