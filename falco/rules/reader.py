# SPDX-License-Identifier: Apache-2.0
"""Read rules files item by item into a :class:`Collector`.

Dispatches each top-level item (version requirements, lists, macros,
rules) to its reader and applies definitions, ``append: true`` and
``override`` in file order. Reading a file stops at its first error, as
Falco does.
"""
from __future__ import annotations

import re

import yaml

from falco.errors import SourceLocation
from falco.rules.collector import ItemError
from falco.rules.infos import ListInfo, MacroInfo
from falco.rules.item_reader import ItemReader
from falco.rules.rule_reader import read_rule
from falco.rules.versions import check_engine_version, check_plugin_versions
from falco.rules.yamlsrc import YList, YMap, load_documents

_BARESTR = re.compile(r"[^()\"'\s=,]+")
_IDENT = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
_LIST_KEYS = {"list", "items", "append", "override"}
_MACRO_KEYS = {"macro", "condition", "append", "override"}

class Reader(ItemReader):
    """Feeds one source's items into ``collector``."""

    # -- documents -------------------------------------------------------
    def read(self) -> None:
        try:
            docs = load_documents(self.src.text, self.src.name)
        except RecursionError:
            raise ItemError("LOAD_ERR_YAML_PARSE", "YAML parse error: "
                            "nesting too deep", "rules content", "",
                            self.src.location_of(None)) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            loc = None
            snippet = None
            if mark is not None:
                loc = SourceLocation(self.src.name, mark.line + 1,
                                     mark.column + 1)
                snippet = self.src.snippet(loc.line, loc.column)
            problem = getattr(exc, "problem", None) or str(exc)
            raise ItemError("LOAD_ERR_YAML_PARSE", f"YAML parse error: "
                            f"{problem}", "rules content", "", loc,
                            snippet) from None
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, YList):
                msg = "Rules content is not yaml"
                if isinstance(doc, YMap):
                    msg += " array of objects"
                raise self.fail(msg, "rules content", "",
                                getattr(doc, "node", None))
            for item, node in zip(doc, doc.nodes):
                if not isinstance(item, YMap):
                    raise self.fail("Unexpected element type. Each element "
                                    "should be a yaml associative array.",
                                    "rules content item", "", node)
                self.item(item)

    def item(self, item: YMap) -> None:
        if "required_engine_version" in item:
            check_engine_version(self, item)
        elif "required_plugin_versions" in item:
            check_plugin_versions(self, item)
        elif "list" in item:
            self.list_item(item)
        elif "macro" in item:
            self.macro_item(item)
        elif "rule" in item:
            self.rule_item(item)
        else:
            self.col.warn("LOAD_UNKNOWN_ITEM", "Unknown top level item",
                          "rules content item", "",
                          self.src.location_of(item.node))

    def list_item(self, item: YMap) -> None:
        name = self.name_of(item, "list")
        if not _BARESTR.fullmatch(name):
            self.col.warn("LOAD_INVALID_LIST_NAME", "List has an invalid "
                          "name. List names should match a regular "
                          "expression: ([^()\"'[:space:]=,]+)", "list", name,
                          self.src.location_of(item.node))
        if "items" not in item:
            raise self.fail("Item has no mapping for key 'items'", "list",
                            name, item.node)
        items = [] if item["items"] is None else \
            self.strings(item, "items", "list", name)
        app, _ = self.overrides(item, "list", name, {"items"}, {"items"})
        append = self.boolean(item, "append", "list", name) or bool(app)
        self.unknown_keys(item, _LIST_KEYS, "list", name)
        info = ListInfo(name, 0, 0, self.src.location_of(item.node),
                        self.src, item.node, items)
        if append:
            self.col.append_list(info)
        else:
            self.col.define_list(info)

    def macro_item(self, item: YMap) -> None:
        name = self.name_of(item, "macro")
        if not _IDENT.fullmatch(name):
            self.col.warn("LOAD_INVALID_MACRO_NAME", "Macro has an invalid "
                          "name. Macro names should match a regular "
                          "expression: ([a-zA-Z]+[a-zA-Z0-9_]*)", "macro",
                          name, self.src.location_of(item.node))
        cond = self.text(item, "condition", "macro", name)
        app, _ = self.overrides(item, "macro", name, {"condition"},
                                {"condition"})
        append = self.boolean(item, "append", "macro", name) or bool(app)
        self.unknown_keys(item, _MACRO_KEYS, "macro", name)
        info = MacroInfo(name, 0, 0, self.src.location_of(item.node),
                         self.src, item.node, cond)
        if append:
            self.col.append_macro(info)
        else:
            self.col.define_macro(info)

    def rule_item(self, item: YMap) -> None:
        read_rule(self, item)
