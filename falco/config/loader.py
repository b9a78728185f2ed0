# SPDX-License-Identifier: Apache-2.0
"""Load falco.yaml, apply ``-o key.path=value`` overrides, type-check.

Errors name the file, line and column of the offending key (or the ``-o``
argument) and the dotted key. Unknown keys in a file are reported as
warnings (Falco ignores them); an unknown ``-o`` key is an error.
"""
from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from falco.config.schema import Config
from falco.errors import ConfigError, SourceLocation
from falco.rules.yamlsrc import check_bounds, read_text_capped

_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


@dataclass(slots=True)
class Loaded:
    """A configuration plus the warnings found while reading it."""

    config: Config
    warnings: list[str] = field(default_factory=list)
    # Dotted keys given by the file or by -o (the rest are defaults).
    explicit: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Origin:
    """Where each dotted key came from, for error messages."""

    path: str | None
    marks: dict[str, SourceLocation] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)

    def _override(self, key: str) -> str | None:
        for dotted, arg in self.overrides.items():
            if dotted == key or dotted.startswith((key + ".", key + "[")):
                return arg
        return None

    def locate(self, key: str) -> SourceLocation | None:
        if self._override(key) is not None:
            return None
        return self.marks.get(key)

    def item(self, key: str) -> str:
        arg = self._override(key)
        return f"-o {arg}" if arg is not None else f"key {key}"


def _construct(node: yaml.Node, prefix: str, path: str,
               marks: dict[str, SourceLocation]) -> Any:
    """Turn a composed YAML node into Python values, recording key marks."""
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for knode, vnode in node.value:
            key = str(yaml.safe_load(yaml.serialize(knode)))
            full = f"{prefix}.{key}" if prefix else key
            if key in out:
                raise ConfigError(f"duplicate key '{full}'", _loc(path, knode),
                                  item=f"key {full}")
            marks[full] = _loc(path, knode)
            out[key] = _construct(vnode, full, path, marks)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, f"{prefix}[{i}]", path, marks)
                for i, v in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _loc(path: str, node: yaml.Node) -> SourceLocation:
    return SourceLocation(path, node.start_mark.line + 1,
                          node.start_mark.column + 1)


def read_yaml(path: str) -> tuple[dict[str, Any], dict[str, SourceLocation]]:
    """Read one configuration file into a dict and a key -> location map."""
    try:
        text = read_text_capped(path)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"configuration file {path} is not UTF-8: byte "
                          f"offset {exc.start}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: "
                          f"{exc.strerror}") from None
    try:
        check_bounds(text, path)        # depth and aliases, before compose
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = (SourceLocation(path, mark.line + 1, mark.column + 1)
               if mark is not None else SourceLocation(path, 1, 1))
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", loc) from None
    marks: dict[str, SourceLocation] = {}
    if node is None:
        return {}, marks
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError("configuration must be a YAML mapping",
                          _loc(path, node))
    return _construct(node, "", path, marks), marks


def parse_override(arg: str) -> tuple[list[str | int], str, Any]:
    """Split ``a.b[1].c=value`` into path segments, dotted key, value."""
    key, sep, text = arg.partition("=")
    if not sep or not key:
        raise ConfigError(f"invalid -o option '{arg}': expected key=value",
                          item=f"-o {arg}")
    segments: list[str | int] = []
    for part in key.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise ConfigError(f"invalid key '{key}' in -o option",
                              item=f"-o {arg}")
        segments.append(match.group(1))
        segments += [int(i) for i in re.findall(r"\d+", match.group(2))]
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    dotted = ".".join(str(s) if isinstance(s, str) else f"[{s}]"
                      for s in segments).replace(".[", "[")
    return segments, dotted, value


def _schema_has(cls: type, segments: list[str | int]) -> bool:
    hints = typing.get_type_hints(cls)
    current: Any = cls
    for seg in segments:
        if current is Any or typing.get_origin(current) is dict:
            # a free-form mapping (append_output entries, rule selectors):
            # the key is checked when the whole entry is validated
            return True
        if isinstance(seg, int):
            if typing.get_origin(current) is not list:
                return False
            current = typing.get_args(current)[0]
            continue
        if not dataclasses.is_dataclass(current):
            return False
        hints = typing.get_type_hints(current)
        names = {f.name for f in dataclasses.fields(current)
                 if not f.metadata.get("internal")}
        if seg == "rules_file" and current is Config:
            seg = "rules_files"
        if seg not in names:
            return False
        current = hints[seg]
    return True


def _apply_override(raw: dict[str, Any], segments: list[str | int],
                    value: Any, arg: str) -> None:
    node: Any = raw
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        nxt = None if last else segments[i + 1]
        if isinstance(seg, int):
            if not isinstance(node, list):
                raise ConfigError(f"'{arg}': not a list", item=f"-o {arg}")
            while len(node) <= seg:
                node.append({} if isinstance(nxt, str) else None)
            if last:
                node[seg] = value
            else:
                node = node[seg]
            continue
        if last:
            node[seg] = value
        else:
            child = node.get(seg)
            if isinstance(child, str) and isinstance(nxt, int):
                child = node[seg] = [child]
            if not isinstance(child, (dict, list)):
                child = [] if isinstance(nxt, int) else {}
                node[seg] = child
            node = child


def _check_value(expected: Any, value: Any, key: str,
                 meta: typing.Mapping[str, Any], origin: _Origin) -> Any:
    def fail(what: str) -> ConfigError:
        return ConfigError(f"invalid value for {key}: {what}",
                           origin.locate(key), item=origin.item(key))

    if expected is bool:
        if not isinstance(value, bool):
            raise fail(f"expected a boolean, got {value!r}")
    elif expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"expected an integer, got {value!r}")
    elif expected is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(f"expected a number, got {value!r}")
        value = float(value)
    elif expected is str or expected == (str | None):
        if value is None and expected != str:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise fail(f"expected a string, got {value!r}")
    elif typing.get_origin(expected) is list and \
            typing.get_origin(typing.get_args(expected)[0]) is dict:
        if not isinstance(value, list) or not all(
                isinstance(v, dict) for v in value):
            raise fail(f"expected a list of mappings, got {value!r}")
    elif typing.get_origin(expected) is list:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool)
                for v in value):
            raise fail(f"expected a list of strings, got {value!r}")
        value = [str(v) for v in value]
    choices = meta.get("choices")
    if choices is not None:
        for item in (value if isinstance(value, list) else [value]):
            if str(item).lower() not in choices:
                raise fail(f"'{item}' is not one of {', '.join(choices)}")
        value = ([str(v).lower() for v in value] if isinstance(value, list)
                 else str(value).lower())
    low, high = meta.get("min"), meta.get("max")
    if (low is not None and value < low) or (high is not None
                                             and value > high):
        raise fail(f"{value!r} is out of range (minimum {low}, maximum "
                   f"{high})")
    return value


def _build(cls: type, raw: Any, prefix: str, origin: _Origin,
           warnings: list[str]) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"invalid value for {prefix}: expected a mapping",
                          origin.locate(prefix), item=origin.item(prefix))
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(cls)
              if not f.metadata.get("internal")}
    for key, value in raw.items():
        full = f"{prefix}.{key}" if prefix else key
        fdef = fields.get(key)
        if fdef is None:
            loc = origin.locate(full)
            warnings.append(f"{loc}: unknown configuration key '{full}'"
                            if loc else f"unknown configuration key '{full}'")
            continue
        expected = hints[key]
        if isinstance(expected, type) and dataclasses.is_dataclass(expected):
            kwargs[key] = _build(expected, value if value is not None else {},
                                 full, origin, warnings)
        else:
            kwargs[key] = _check_value(expected, value, full, fdef.metadata,
                                       origin)
            why = fdef.metadata.get("unimplemented")
            if why is not None and kwargs[key] != fdef.default:
                raise ConfigError(
                    f"{full}: {why}; remove the key or set it to "
                    f"{yaml.safe_dump(fdef.default).splitlines()[0]}",
                    origin.locate(full), item=origin.item(full))
    return cls(**kwargs)


def _legacy(raw: dict[str, Any], origin: _Origin) -> None:
    """Map the old single ``rules_file`` key onto ``rules_files``."""
    if "rules_file" in raw:
        old = raw.pop("rules_file")
        if "rules_files" not in raw:
            raw["rules_files"] = old
            if "rules_file" in origin.marks:
                origin.marks["rules_files"] = origin.marks["rules_file"]
            if "rules_file" in origin.overrides:
                origin.overrides["rules_files"] = origin.overrides["rules_file"]


def _validate_selectors(config: Config, origin: _Origin) -> None:
    for i, item in enumerate(config.rules):
        key = f"rules[{i}]"
        ok = len(item) == 1 and next(iter(item)) in ("enable", "disable")
        sel = next(iter(item.values())) if ok else None
        if not ok or not isinstance(sel, dict) or not sel or any(
                k not in ("rule", "tag") or not isinstance(v, str)
                for k, v in sel.items()):
            raise ConfigError(
                f"invalid rules selector {item!r}: expected "
                "{enable|disable: {rule: NAME}} or {enable|disable: "
                "{tag: TAG}}", origin.locate("rules"), item=origin.item(key))


def _validate_append_output(config: Config, origin: _Origin) -> None:
    for i, entry in enumerate(config.append_output):
        key = f"append_output[{i}]"

        def bad(why: str) -> ConfigError:
            return ConfigError(f"invalid append_output entry: {why}",
                               origin.locate("append_output"),
                               item=origin.item(key))
        unknown = set(entry) - {"match", "extra_output", "extra_fields",
                                "suggested_output"}
        if unknown:
            raise bad(f"unknown key(s) {', '.join(sorted(unknown))}")
        match = entry.get("match") or {}
        if not isinstance(match, dict) or set(match) - {"source", "tag",
                                                        "rule"}:
            raise bad("match takes source, tag and rule")
        extra = entry.get("extra_fields") or []
        if not isinstance(extra, list) or not all(
                isinstance(f, str) or (isinstance(f, dict) and len(f) == 1)
                for f in extra):
            raise bad("extra_fields is a list of field names or "
                      "{name: value} pairs")


def _validate(config: Config, origin: _Origin) -> None:
    _validate_selectors(config, origin)
    _validate_append_output(config, origin)
    actions = config.syscall_event_drops.actions
    if "ignore" in actions:
        for other in ("log", "alert"):
            if other in actions:
                key = "syscall_event_drops.actions"
                raise ConfigError(
                    f'syscall event drop action "{other}" does not make sense '
                    'with the "ignore" action', origin.locate(key),
                    item=origin.item(key))
    if config.http_output.enabled and not config.http_output.url:
        key = "http_output.url"
        raise ConfigError("http_output is enabled but http_output.url is "
                          "empty", origin.locate("http_output"),
                          item=origin.item(key))


def load_config(path: str | None, overrides: typing.Sequence[str] = ()
                ) -> Loaded:
    """Read ``path`` (None: built-in defaults), apply ``-o`` overrides."""
    raw: dict[str, Any] = {}
    origin = _Origin(path)
    if path is not None:
        raw, origin.marks = read_yaml(path)
    _legacy(raw, origin)
    threshold = raw.get("syscall_event_drops", {})
    if isinstance(threshold, dict) and "threshold" in threshold:
        value = threshold["threshold"]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not 0 <= value <= 1):
            key = "syscall_event_drops.threshold"
            raise ConfigError("syscall event drops threshold must be a double "
                              "in the range [0, 1]", origin.locate(key),
                              item=origin.item(key))
    for arg in overrides:
        segments, dotted, value = parse_override(arg)
        if not _schema_has(Config, segments):
            raise ConfigError(f"unknown configuration key '{dotted}'",
                              item=f"-o {arg}")
        if segments[0] == "rules_file":
            segments[0] = "rules_files"
            dotted = "rules_files" + dotted[len("rules_file"):]
        origin.overrides[dotted] = arg
        _apply_override(raw, segments, value, arg)
    warnings: list[str] = []
    config = _build(Config, raw, "", origin, warnings)
    config.source_path = path
    _validate(config, origin)
    return Loaded(config, warnings,
                  frozenset(origin.marks) | frozenset(origin.overrides))
