# SPDX-License-Identifier: Apache-2.0
"""YAML reading that keeps positions.

:class:`RulesYamlLoader` is a SafeLoader that rejects duplicate keys,
reads a bare ``=`` (YAML 1.1 "value" tag, used in exception ``comps``) as the
string ``"="`` and returns mappings as :class:`YMap`, which remembers the
node of every key and value. :func:`offset_location` maps a character
offset inside a scalar's value back to ``file:line:column``, also for
folded and plain multi-line scalars (folding only changes whitespace, so
the n-th non-blank character of the value is the n-th of the source text).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from falco.errors import SourceLocation

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YMap(dict):  # type: ignore[type-arg]
    """A mapping that also knows where each key's value was written."""

    __slots__ = ("nodes", "node")

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[Any, yaml.Node] = {}
        self.node: yaml.Node | None = None


class YList(list):  # type: ignore[type-arg]
    __slots__ = ("nodes", "node")

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[yaml.Node] = []
        self.node: yaml.Node | None = None


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class RulesYamlLoader(_Base):  # type: ignore[misc]
    """SafeLoader keeping nodes; one instance per document stream."""

    def construct_yaml_map(self, node: yaml.MappingNode) -> Any:
        data = YMap()
        data.node = node
        yield data
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found unhashable key", key_node.start_mark) from None
            if key in data:
                raise DuplicateKeyError(
                    "while constructing a mapping", node.start_mark,
                    f"found duplicate key '{key}'", key_node.start_mark)
            data[key] = self.construct_object(value_node, deep=True)
            data.nodes[key] = value_node

    def construct_yaml_seq(self, node: yaml.SequenceNode) -> Any:
        data = YList()
        data.node = node
        yield data
        for child in node.value:
            data.append(self.construct_object(child, deep=True))
            data.nodes.append(child)

    def construct_equals(self, node: yaml.ScalarNode) -> str:
        return str(node.value)

    def construct_unknown_tag(self, suffix: str, node: yaml.Node) -> Any:
        """``desc: != after x`` has a local tag ``!=``; like yaml-cpp, keep
        the node's plain value and ignore the tag."""
        if isinstance(node, yaml.MappingNode):
            return self.construct_yaml_map(node)
        if isinstance(node, yaml.SequenceNode):
            return self.construct_yaml_seq(node)
        return str(node.value)


RulesYamlLoader.add_constructor("tag:yaml.org,2002:map",
                                RulesYamlLoader.construct_yaml_map)
RulesYamlLoader.add_constructor("tag:yaml.org,2002:seq",
                                RulesYamlLoader.construct_yaml_seq)
RulesYamlLoader.add_constructor("tag:yaml.org,2002:value",
                                RulesYamlLoader.construct_equals)
RulesYamlLoader.add_multi_constructor("!",
                                      RulesYamlLoader.construct_unknown_tag)


def load_documents(text: str, name: str) -> list[Any]:
    """All YAML documents of ``text``; raises yaml.YAMLError."""
    loader = RulesYamlLoader(text)
    loader.name = name
    try:
        docs = []
        while loader.check_data():
            docs.append(loader.get_data())
        return docs
    finally:
        loader.dispose()


@dataclass(frozen=True, slots=True)
class Source:
    """A rules text and the name it is reported under."""

    name: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def snippet(self, line: int, column: int) -> str:
        return self.line_text(line) + "\n" + " " * max(column - 1, 0) + "^"

    def location_of(self, node: yaml.Node | None) -> SourceLocation:
        if node is None:
            return SourceLocation(self.name, 1, 1)
        mark = node.start_mark
        return SourceLocation(self.name, mark.line + 1, mark.column + 1)

    def _pos(self, line0: int, col0: int) -> int:
        pos = 0
        for _ in range(line0):
            nxt = self.text.find("\n", pos)
            if nxt < 0:
                return len(self.text)
            pos = nxt + 1
        return pos + col0

    def offset_location(self, node: yaml.Node, offset: int) -> SourceLocation:
        """Location of character ``offset`` of the scalar ``node``'s value."""
        value = str(node.value)
        start = self._pos(node.start_mark.line, node.start_mark.column)
        end = self._pos(node.end_mark.line, node.end_mark.column)
        style = getattr(node, "style", None)
        if style in ("|", ">"):
            nl = self.text.find("\n", start)
            start = nl + 1 if 0 <= nl < end else start
        elif style in ("'", '"'):
            start += 1
        want = sum(1 for c in value[:offset] if not c.isspace())
        pos = start
        seen = 0
        while pos < end:
            c = self.text[pos]
            if not c.isspace():
                if seen == want:
                    break
                seen += 1
            pos += 1
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return SourceLocation(self.name, line, col)
