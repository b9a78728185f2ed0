# SPDX-License-Identifier: Apache-2.0
"""Typed access to the keys of one rules-file item, with Falco's messages.

``ItemReader`` checks each key's shape ("Item has no mapping for key 'x'",
"Mapping for key 'x' is empty", ...) and reports errors at the key's
``file:line:col``; the item readers (lists, macros, rules, version checks)
are built on it.
"""
from __future__ import annotations

from typing import Any

import yaml

from falco.rules.collector import Collector, ItemError
from falco.rules.infos import ExceptionInfo, Text
from falco.rules.model import Priority
from falco.rules.yamlsrc import Source, YList, YMap

VALIDATE = "LOAD_ERR_YAML_VALIDATE"


class ItemReader:
    """Reads the keys of items of one source into ``collector``."""

    def __init__(self, collector: Collector, source: Source) -> None:
        self.col = collector
        self.src = source

    def fail(self, message: str, item_type: str, name: str,
             node: yaml.Node | None, code: str = VALIDATE) -> ItemError:
        loc = self.src.location_of(node)
        return ItemError(code, message, item_type, name, loc,
                         self.src.snippet(loc.line, loc.column))

    def rule_error(self, message: str, info: Any,
                  code: str = "LOAD_ERR_VALIDATE") -> ItemError:
        loc = info.location
        return ItemError(code, message, "rule", info.name, loc,
                         self.src.snippet(loc.line, loc.column))

    def name_of(self, item: YMap, key: str) -> str:
        name = self.string(item, key, key, "")
        assert name is not None
        return name

    def scalar(self, item: YMap, key: str, kind: str, name: str, *,
               optional: bool = False) -> Any:
        if key not in item:
            if optional:
                return None
            raise self.fail(f"Item has no mapping for key '{key}'", kind,
                            name, item.node)
        node = item.nodes[key]
        value = item[key]
        if value is None:
            raise self.fail(f"Mapping for key '{key}' is empty", kind, name,
                            node)
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail("Value is not a scalar value", kind, name, node)
        if isinstance(value, str) and not value.strip():
            raise self.fail("Value must be non-empty", kind, name, node)
        return value

    def string(self, item: YMap, key: str, kind: str, name: str, *,
               optional: bool = False) -> str | None:
        value = self.scalar(item, key, kind, name, optional=optional)
        if value is None:
            return None
        return str(item.nodes[key].value) if not isinstance(value, str) \
            else value

    def text(self, item: YMap, key: str, kind: str, name: str) -> Text:
        value = self.string(item, key, kind, name)
        assert value is not None
        return Text.of(value, item.nodes[key], self.src)

    def boolean(self, item: YMap, key: str, kind: str, name: str) -> Any:
        value = self.scalar(item, key, kind, name, optional=True)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self.fail("Can't decode YAML scalar value", kind, name,
                            item.nodes[key])
        return value

    def strings(self, item: YMap, key: str, kind: str, name: str) -> list[str]:
        node = item.nodes.get(key)
        value = item.get(key)
        if not isinstance(value, YList):
            raise self.fail("Value is not a sequence", kind, name,
                            node or item.node)
        out = []
        for child in value.nodes:
            if not isinstance(child, yaml.ScalarNode):
                raise self.fail("sequence value is not scalar", kind, name,
                                child)
            out.append(str(child.value))
        return out

    def overrides(self, item: YMap, kind: str, name: str,
                  appendable: set[str], replaceable: set[str]
                  ) -> tuple[set[str], set[str]]:
        if "override" not in item:
            return set(), set()
        ov = item["override"]
        node = item.nodes["override"]
        if not isinstance(ov, YMap):
            raise self.fail("Value of override must be a map", kind, name,
                            node)
        app, rep = set(), set()
        for key, op in ov.items():
            if op == "append":
                if key not in appendable:
                    raise self.fail(f"Key '{key}' cannot be appended to, use "
                                    "'replace' instead", kind, name,
                                    ov.nodes[key])
                app.add(key)
            elif op == "replace":
                if key not in replaceable:
                    raise self.fail(f"Key '{key}' cannot be replaced", kind,
                                    name, ov.nodes[key])
                rep.add(key)
            else:
                raise self.fail(f"Invalid override operation for key "
                                f"'{key}': '{op}'", kind, name, ov.nodes[key])
            if key not in item:
                raise self.fail(f"An {op} override for '{key}' was specified "
                                f"but '{key}' is not defined", kind, name,
                                ov.nodes[key])
        if item.get("append") is True:
            raise self.fail("Keys 'override' and 'append: true' cannot be "
                            "used together. Add an 'append' entry (e.g. "
                            "'condition: append') under 'override' instead.",
                            kind, name, node)
        return app, rep

    def unknown_keys(self, item: YMap, known: set[str], kind: str,
                     name: str) -> None:
        for key in item:
            if key not in known:
                self.col.warn("LOAD_UNKNOWN_KEY", f"Unknown key '{key}'. The "
                              "key will be ignored.", kind, name,
                              self.src.location_of(item.nodes[key]))

    def priority(self, item: YMap, name: str) -> Priority:
        text = self.string(item, "priority", "rule", name)
        try:
            return Priority.parse(str(text))
        except ValueError:
            raise self.fail("Invalid priority", "rule", name,
                            item.nodes["priority"]) from None

    def exceptions(self, item: YMap, name: str,
                   append: bool) -> list[ExceptionInfo]:
        if "exceptions" not in item or item["exceptions"] is None:
            return []
        exs = item["exceptions"]
        if not isinstance(exs, YList):
            raise self.fail("Rule exceptions must be a sequence", "rule",
                            name, item.nodes["exceptions"])
        out: list[ExceptionInfo] = []
        for ex, node in zip(exs, exs.nodes):
            if not isinstance(ex, YMap):
                raise self.fail("Rule exception must be a mapping",
                                "exception", "", node)
            ex_name = self.string(ex, "name", "exception", "")
            assert ex_name is not None
            if any(o.name == ex_name for o in out):
                self.col.warn("LOAD_EXCEPTION_NAME_NOT_UNIQUE", "Multiple "
                              f"definitions of exception '{ex_name}' in the "
                              "same rule", "exception", ex_name,
                              self.src.location_of(node))
            if append and ex.get("values") is None:
                self.col.warn("LOAD_APPEND_NO_VALUES", "Overriding/appending "
                              "exception with no values", "exception",
                              ex_name, self.src.location_of(node))
            if not append and "fields" not in ex:
                raise self.fail("Item has no mapping for key 'fields'",
                                "exception", ex_name, node)
            fields = self._exception_entry(ex, "fields", ex_name)
            comps = self._exception_entry(ex, "comps", ex_name)
            values: list[Any] = []
            if ex.get("values") is not None:
                vals = ex["values"]
                if not isinstance(vals, YList):
                    raise self.fail("Rule exception values must be a "
                                    "sequence", "exception", ex_name,
                                    ex.nodes["values"])
                values = [_plain(v, n) for v, n in zip(vals, vals.nodes)]
            out.append(ExceptionInfo(ex_name, fields, comps, values,
                                     self.src.location_of(node), self.src,
                                     node))
        return out

    def _exception_entry(self, ex: YMap, key: str, name: str) -> Any:
        if key not in ex or ex[key] is None:
            return None
        value = ex[key]
        node = ex.nodes[key]
        if isinstance(value, YList):
            return [_plain(v, n) for v, n in zip(value, value.nodes)]
        if isinstance(value, YMap):
            raise self.fail(f"Value of '{key}' must be a string or a list",
                            "exception", name, node)
        text = str(node.value)
        if not text.strip():
            raise self.fail("Value must be non-empty", "exception", name,
                            node)
        return text


def _plain(value: Any, node: yaml.Node) -> Any:
    """Scalars as written (strings), lists recursively."""
    if isinstance(value, YList):
        return [_plain(v, n) for v, n in zip(value, value.nodes)]
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return str(value)
