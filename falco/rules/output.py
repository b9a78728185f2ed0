# SPDX-License-Identifier: Apache-2.0
"""Rule output formats: ``%field``, ``%field[arg]``, ``%<width>field``,
``%transformer(field)`` and a leading ``*``, rendered as Falco does
(``<NA>`` for missing values), plus the ``output_fields`` for JSON.

Values are substituted raw (invalid UTF-8 bytes as ``surrogateescape``
characters, as the fields extract them): the outputs encode each alert
once (``falco.outputs.encode``) and nothing is lost before that.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from falco.fields.registry import ArgMode, FieldRegistry, UnknownFieldError
from falco.filter.syntax import TRANSFORMERS

_TOKEN = re.compile(
    r"%(?P<width>-?\d+)?"
    r"(?:(?P<xf>[A-Za-z0-9_]+)\((?P<inner>[^()%\s]+)\)"
    r"|(?P<field>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*"
    r"(?:\[[^\]\s]*\])?))")
NA = "<NA>"


class OutputFormatError(ValueError):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def render(value: Any) -> str:
    if value is None:
        return NA
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, (tuple, list)):
        return " ".join(render(v) for v in value) if value else NA
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value


Getter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """A compiled output format; call ``format(ctx)``."""

    text: str
    parts: tuple[Any, ...]           # str literals and (key, getter, width)
    keys: tuple[str, ...]

    def format(self, ctx: Any) -> tuple[str, dict[str, Any]]:
        out: list[str] = []
        fields: dict[str, Any] = {}
        for part in self.parts:
            if part.__class__ is str:
                out.append(part)
                continue
            key, getter, width = part
            value = getter(ctx)
            fields[key] = _json_value(value)
            text = render(value)
            if width:
                text = text.rjust(width) if width > 0 else text.ljust(-width)
            out.append(text)
        return "".join(out), fields


def _field_getter(registry: FieldRegistry, name: str,
                  offset: int) -> Getter:
    arg = None
    if name.endswith("]") and "[" in name:
        name, _, arg = name[:-1].partition("[")
    try:
        fdef, dotted = registry.resolve(name)
    except UnknownFieldError:
        raise OutputFormatError(f"invalid formatting token {name}",
                                offset) from None
    arg = arg if arg is not None else dotted
    if arg is None and fdef.arg is ArgMode.REQUIRED:
        raise OutputFormatError(f"field {name} requires an argument", offset)
    extract = fdef.extract
    return lambda ctx: extract(ctx, arg)


def _transform_getter(name: str, inner: Getter, offset: int) -> Getter:
    fns: dict[str, Callable[[Any], Any]] = {
        "tolower": lambda v: render(v).lower(),
        "toupper": lambda v: render(v).upper(),
        "basename": lambda v: render(v).rsplit("/", 1)[-1],
        "len": lambda v: len(v) if isinstance(v, (str, bytes, tuple))
        else len(render(v)),
        "b64": lambda v: _b64(render(v)),
    }
    if name not in TRANSFORMERS:
        raise OutputFormatError(f"invalid formatting token {name}()", offset)
    fn = fns[name]

    def get(ctx: Any) -> Any:
        v = inner(ctx)
        return None if v is None else fn(v)
    return get


def _b64(text: str) -> Any:
    import base64
    import binascii
    try:
        return base64.b64decode(text).decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError):
        return None


def compile_output(text: str, registry: FieldRegistry) -> OutputFormat:
    """Parse ``text``; raises OutputFormatError for unknown fields."""
    body = text.strip()
    shift = len(text) - len(text.lstrip())
    if body.startswith("*"):
        body = body[1:]
        shift += 1
    parts: list[Any] = []
    keys: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(body):
        if m.start() > pos:
            parts.append(body[pos:m.start()])
        width = int(m.group("width")) if m.group("width") else 0
        offset = m.start() + shift
        if m.group("xf"):
            inner = _field_getter(registry, m.group("inner"), offset)
            getter = _transform_getter(m.group("xf"), inner, offset)
            key = f"{m.group('xf')}({m.group('inner')})"
        else:
            key = m.group("field")
            getter = _field_getter(registry, key, offset)
        parts.append((key, getter, width))
        keys.append(key)
        pos = m.end()
    if pos < len(body):
        parts.append(body[pos:])
    return OutputFormat(text, tuple(parts), tuple(keys))
