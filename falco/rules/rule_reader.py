# SPDX-License-Identifier: Apache-2.0
"""The ``- rule:`` item: definition, ``append: true``, ``override`` and the
deprecated ``enabled``-only toggle."""
from __future__ import annotations

from falco.rules.collector import ItemError
from falco.rules.infos import RuleInfo, Text
from falco.rules.item_reader import ItemReader
from falco.rules.model import SYSCALL_SOURCE
from falco.rules.yamlsrc import YMap

RULE_KEYS = {"rule", "condition", "output", "desc", "priority", "source",
              "enabled", "tags", "exceptions", "append", "override",
              "warn_evttypes", "skip-if-unknown-filter", "capture",
              "capture_duration"}
RULE_APPEND = {"condition", "output", "desc", "tags", "exceptions"}
RULE_REPLACE = {"condition", "output", "desc", "priority", "capture",
                 "capture_duration", "tags", "exceptions", "enabled",
                 "warn_evttypes", "skip-if-unknown-filter"}



SUPPORTED_SOURCES = frozenset({SYSCALL_SOURCE})


def read_rule(rd: ItemReader, item: YMap) -> None:
    name = rd.name_of(item, "rule")
    kind = "rule"
    source = rd.string(item, "source", kind, name, optional=True) \
        if item.get("source") not in (None, "") else None
    if source is not None and source not in SUPPORTED_SOURCES:
        loc = rd.src.location_of(item.nodes["source"])
        raise ItemError("LOAD_UNKNOWN_SOURCE",
                        f"unsupported source '{source}': this engine only "
                        f"evaluates '{SYSCALL_SOURCE}' rules", kind, name,
                        loc, rd.src.snippet(loc.line, loc.column))
    append_flag = rd.boolean(item, "append", kind, name)
    app, rep = rd.overrides(item, kind, name, RULE_APPEND, RULE_REPLACE)
    rd.unknown_keys(item, RULE_KEYS, kind, name)
    info = RuleInfo(name, 0, 0, rd.src.location_of(item.node), rd.src,
                    item.node)
    if append_flag:
        rd.col.warn("LOAD_DEPRECATED_ITEM", "The 'append' key is "
                    "deprecated. Add an 'append' entry (e.g. 'condition: "
                    "append') under 'override' instead.", kind, name,
                    info.location)
    if app or rep:
        _override(rd, item, info, source, app, rep)
    elif append_flag:
        prev = rd.col.rule_for_update(info, source, append=True)
        if "condition" not in item and "exceptions" not in item:
            raise rd.rule_error("Appended rule must have exceptions or "
                               "condition property", info)
        if "condition" in item:
            prev.cond = prev.cond.appended(rd.text(item, "condition", kind,
                                                   name))
        rd.col.append_exceptions(prev, rd.exceptions(item, name, True))
    elif not any(k in item for k in ("condition", "output", "desc",
                                     "priority")):
        enabled = rd.boolean(item, "enabled", kind, name)
        if enabled is None:
            raise rd.rule_error("Item has no mapping for key 'condition'",
                               info, code="LOAD_ERR_YAML_VALIDATE")
        rd.col.warn("LOAD_DEPRECATED_ITEM", "The standalone 'enabled' key "
                    "usage is deprecated. The correct approach requires "
                    "also a 'replace' entry under the 'override' key (i.e. "
                    "'enabled: replace').", kind, name, info.location)
        info.enabled = enabled
        rd.col.enable_rule(info)
    else:
        _define(rd, item, info, source)


def _define(rd: ItemReader, item: YMap, info: RuleInfo,
            source: str | None) -> None:
    name, kind = info.name, "rule"
    info.cond = rd.text(item, "condition", kind, name)
    out = rd.text(item, "output", kind, name)
    info.output = Text(out.value.strip(), out.parts)
    info.desc = str(rd.string(item, "desc", kind, name))
    info.priority = rd.priority(item, name)
    info.rule_source = source or SYSCALL_SOURCE
    _flags(rd, item, info)
    if "tags" in item and item["tags"] is not None:
        info.tags = rd.strings(item, "tags", kind, name)
    info.exceptions = rd.exceptions(item, name, False)
    rd.col.define_rule(info)


def _flags(rd: ItemReader, item: YMap, info: RuleInfo) -> None:
    name = info.name
    for key, attr in (("enabled", "enabled"), ("warn_evttypes",
                                               "warn_evttypes"),
                      ("skip-if-unknown-filter", "skip_unknown"),
                      ("capture", "capture")):
        value = rd.boolean(item, key, "rule", name)
        if value is not None:
            setattr(info, attr, value)
    if item.get("capture_duration") is not None:
        value = rd.scalar(item, "capture_duration", "rule", name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise rd.fail("Can't decode YAML scalar value", "rule", name,
                          item.nodes["capture_duration"])
        info.capture_duration = value


def _override(rd: ItemReader, item: YMap, info: RuleInfo, source: str | None,
              app: set[str], rep: set[str]) -> None:
    name, kind = info.name, "rule"
    for key in sorted((RULE_APPEND | RULE_REPLACE) - app - rep):
        if key in item:
            raise rd.fail(f"Unexpected key '{key}': no corresponding entry "
                          "under 'override' is defined.", kind, name,
                          item.nodes[key])
    prev = rd.col.rule_for_update(info, source, append=bool(app))
    if "condition" in app:
        prev.cond = prev.cond.appended(rd.text(item, "condition", kind, name))
    if "output" in app:
        prev.output = prev.output.appended(rd.text(item, "output", kind,
                                                   name))
    if "desc" in app:
        prev.desc += " " + str(rd.string(item, "desc", kind, name))
    if "tags" in app:
        prev.tags = prev.tags + [t for t in rd.strings(item, "tags", kind,
                                                       name)
                                 if t not in prev.tags]
    if "exceptions" in app:
        rd.col.append_exceptions(prev, rd.exceptions(item, name, True))
    if "condition" in rep:
        prev.cond = rd.text(item, "condition", kind, name)
    if "output" in rep:
        out = rd.text(item, "output", kind, name)
        prev.output = Text(out.value.strip(), out.parts)
    if "desc" in rep:
        prev.desc = str(rd.string(item, "desc", kind, name))
    if "tags" in rep:
        prev.tags = rd.strings(item, "tags", kind, name)
    if "exceptions" in rep:
        prev.exceptions = rd.exceptions(item, name, False)
    if "priority" in rep:
        prev.priority = rd.priority(item, name)
    replaced = {k: item[k] for k in rep if k in (
        "enabled", "warn_evttypes", "skip-if-unknown-filter", "capture",
        "capture_duration")}
    if replaced:
        sub = type(item)()
        for key in replaced:
            sub[key] = item[key]
            sub.nodes[key] = item.nodes[key]
        sub.node = item.node
        _flags(rd, sub, prev)
