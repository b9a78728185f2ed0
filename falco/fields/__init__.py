# SPDX-License-Identifier: Apache-2.0
"""Event fields (``proc.name``, ``fd.sip``, ...) read from the state layer.

``default_registry()`` builds the full registry from the per-class
modules; every call returns a new registry (nothing here is global).
"""
from __future__ import annotations

from falco.fields.registry import (
    ArgMode, FieldDef, FieldRegistry, FieldType, UnknownFieldError)
from falco.state.hostnames import HostNames


def default_registry(hostnames: HostNames | None = None) -> FieldRegistry:
    """Every field. ``hostnames``: the table ``fd.*ip.name`` comparisons
    watch and read (by default a new one, whose resolver thread starts
    when a condition first compares with a name)."""
    from falco.fields import container, evt, fd, fspath, group, k8s, proc, \
        thread, user
    registry = FieldRegistry()
    for module in (evt, proc, thread, fspath, user, group, container, k8s):
        registry.register_all(module.fields())
    registry.register_all(fd.fields(hostnames or HostNames()))
    return registry


__all__ = ["ArgMode", "FieldDef", "FieldRegistry", "FieldType",
           "UnknownFieldError", "default_registry"]
