# SPDX-License-Identifier: Apache-2.0
"""YAML reading that keeps positions.

:class:`RulesYamlLoader` is a SafeLoader that rejects duplicate keys,
reads a bare ``=`` (YAML 1.1 "value" tag, used in exception ``comps``) as the
string ``"="`` and returns mappings as :class:`YMap`, which remembers the
node of every key and value. :func:`offset_location` maps a character
offset inside a scalar's value back to ``file:line:column``, also for
folded and plain multi-line scalars (folding only changes whitespace, so
the n-th non-blank character of the value is the n-th of the source text).

Rules files and falco.yaml often come from elsewhere, so before any loader
builds a tree, :func:`check_bounds` reads the event stream (libyaml's
parser keeps its own stack, it does not recurse) and refuses, at the
``file:line:column`` where the limit is crossed, a document nested deeper
than :data:`MAX_DEPTH` (the composers recurse once per level: the C one
overflows the stack, the Python one raises RecursionError) or whose
aliases expand to more than :data:`MAX_ALIAS_NODES` nodes (an alias bomb:
every walk of the loaded tree visits each expansion). Files larger than
:data:`MAX_BYTES` are not read at all.
"""
from __future__ import annotations

import errno
import gc
import os
from dataclasses import dataclass
from typing import Any

import yaml

from falco.errors import SourceLocation

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 64                  # nested collections in one document
MAX_ALIAS_NODES = 100_000       # nodes reached through aliases, in total
MAX_BYTES = 64 << 20            # one rules or configuration file
# Building a large tree triggers young-generation collections that find
# nothing to free (two thirds of the load time of a 2 MB file).
LOAD_GC_THRESHOLD = 50_000


class YamlBoundsError(yaml.MarkedYAMLError):
    """A document crosses a depth, alias or size bound."""


def read_text_capped(path: str | os.PathLike[str], encoding: str = "utf-8",
                     errors: str = "strict", limit: int = MAX_BYTES) -> str:
    """The text of a file of at most ``limit`` bytes; OSError (EFBIG)
    beyond, without reading more than that."""
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"file larger than {limit >> 20} MiB",
                      os.fspath(path))
    return data.decode(encoding, errors)


def check_bounds(text: str, name: str, max_depth: int = MAX_DEPTH,
                 max_alias_nodes: int = MAX_ALIAS_NODES) -> None:
    """Raise YamlBoundsError where ``text`` nests deeper than
    ``max_depth`` or its aliases expand beyond ``max_alias_nodes`` nodes.

    Linear in the text: each anchored node's expanded size is computed
    once, when it ends, and an alias adds the size of what it names.
    Syntax errors are left to the loader, which reports them.
    """
    parser = _Base(text)
    parser.name = name
    # per open collection: [anchor, expanded size so far]
    stack: list[list[Any]] = []
    sizes: dict[str, int] = {}
    through_aliases = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= max_depth:
                    raise YamlBoundsError(
                        None, None, f"nesting deeper than {max_depth} "
                        "levels", event.start_mark)
                stack.append([event.anchor, 1])
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, size = stack.pop()
            elif isinstance(event, yaml.AliasEvent):
                anchor, size = None, sizes.get(event.anchor, 1)
                through_aliases += size
                if through_aliases > max_alias_nodes:
                    raise YamlBoundsError(
                        None, None, "aliases expand to more than "
                        f"{max_alias_nodes} nodes", event.start_mark)
            elif isinstance(event, yaml.ScalarEvent):
                anchor, size = event.anchor, 1
            else:
                if isinstance(event, yaml.DocumentStartEvent):
                    sizes.clear()
                continue
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                stack[-1][1] += size
    except YamlBoundsError:
        raise
    except yaml.YAMLError:
        return                  # the loader reports it with its context
    finally:
        parser.dispose()


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
    """All YAML documents of ``text``; raises yaml.YAMLError (also
    YamlBoundsError, before building anything)."""
    check_bounds(text, name)
    loader = RulesYamlLoader(text)
    loader.name = name
    threshold = gc.get_threshold()
    if threshold[0] < LOAD_GC_THRESHOLD:
        gc.set_threshold(LOAD_GC_THRESHOLD, *threshold[1:])
    try:
        docs = []
        while loader.check_data():
            docs.append(loader.get_data())
        return docs
    finally:
        gc.set_threshold(*threshold)
        loader.dispose()


@dataclass(frozen=True, slots=True)
class Source:
    """A rules text and the name it is reported under."""

    name: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def snippet(self, line: int, column: int, width: int = 100) -> str:
        """The line and a caret under ``column``; a long line is cut to
        ``width`` characters around the column."""
        text, col = self.line_text(line), max(column - 1, 0)
        if len(text) > width:
            start = max(min(col - width // 2, len(text) - width), 0)
            text = text[start:start + width]
            col -= start
        return text + "\n" + " " * col + "^"

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
