# SPDX-License-Identifier: Apache-2.0
"""``required_engine_version`` and ``required_plugin_versions`` items."""
from __future__ import annotations

import re

import yaml

from falco.rules.item_reader import ItemReader
from falco.rules.model import BUILTIN_PLUGINS, ENGINE_VERSION
from falco.rules.yamlsrc import YList, YMap

_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:[-+].*)?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``0.57.0`` -> (0, 57, 0); a bare integer N means 0.N.0."""
    text = text.strip()
    if text.isdigit():
        return (0, int(text), 0)
    m = _SEMVER.fullmatch(text)
    if m is None:
        return None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)))


def version_text(version: tuple[int, int, int]) -> str:
    return ".".join(str(v) for v in version)


def check_engine_version(reader: ItemReader, item: YMap) -> None:
    kind = "required_engine_version"
    node = item.nodes[kind]
    value = item[kind]
    if value is None or not isinstance(node, yaml.ScalarNode):
        raise reader.fail("Can't decode YAML scalar value", kind, "", node)
    raw = str(node.value)
    version = parse_version(raw)
    if version is None:
        raise reader.fail("Can't decode YAML scalar value: unable to parse "
                          f"engine version '{raw}' (expected x.y.z or an "
                          "integer)", kind, "", node)
    ours = ENGINE_VERSION
    if version[0] != ours[0] or version > ours:
        raise reader.fail(f"Rules require engine version {raw}, but engine "
                          f"version is {version_text(ours)}", kind, "",
                          node, code="LOAD_ERR_VALIDATE")


def check_plugin_versions(reader: ItemReader, item: YMap) -> None:
    kind = "required_plugin_versions"
    reqs = item[kind]
    node = item.nodes[kind]
    if not isinstance(reqs, YList):
        raise reader.fail("Value of required_plugin_versions must be a "
                          "sequence", kind, "", node)
    for req, req_node in zip(reqs, reqs.nodes):
        if not isinstance(req, YMap):
            raise reader.fail("Plugin version must be a mapping", kind, "",
                              req_node)
        options = [req]
        alts = req.get("alternatives")
        if alts is not None:
            if not isinstance(alts, YList):
                raise reader.fail("Value of plugin version alternatives must "
                                  "be a sequence", kind, "", req_node)
            options.extend(a for a in alts if isinstance(a, YMap))
        names = []
        satisfied = False
        for opt in options:
            name = reader.string(opt, "name", kind, "")
            text = reader.string(opt, "version", kind, str(name))
            version = parse_version(str(text))
            if version is None:
                raise reader.fail(f"Invalid required version '{text}' for "
                                  f"plugin '{name}'", kind, str(name),
                                  opt.node)
            names.append(str(name))
            have = BUILTIN_PLUGINS.get(str(name))
            if have is not None and have[0] == version[0] and \
                    have >= version:
                satisfied = True
        if not satisfied:
            raise reader.fail(
                "Plugin requirement not satisfied: " + " or ".join(
                    f"'{n}'" for n in names) + " is not available in this "
                "engine (built in: " + ", ".join(
                    f"{n} {version_text(v)}"
                    for n, v in BUILTIN_PLUGINS.items()) + ")", kind,
                names[0] if names else "", req_node,
                code="LOAD_ERR_VALIDATE")
